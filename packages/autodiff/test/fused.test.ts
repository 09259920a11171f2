import fc from 'fast-check';
import { Tensor, tensor } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { grad } from '@unfold/autodiff';
import { arbTensor } from './arbitraries';

// Fused ops against their composed twins: same values, same gradients (float64, 1e-10).
const near = (a: Tensor, b: Tensor, tol = 1e-10) =>
  a.toFlatArray().forEach((v, i) => expect(Math.abs(v - b.toFlatArray()[i])).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(v))));

test('logSoftmax = x − logSumExp(x)', () => {
  fc.assert(
    fc.property(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 6 })).chain(([n, c]) => arbTensor([n, c], { min: -30, max: 30 })), (x) => {
      const composed = (t: Tensor) => ad.sub(t, ad.logSumExp(t, -1, true));
      near(ad.logSoftmax(x), composed(x));
      const w = (f: (t: Tensor) => Tensor) => grad((t: Tensor) => ad.sum(ad.mul(f(t), ad.exp(ad.mul(t, 0.1)))))(x);
      near(w(ad.logSoftmax), w(composed));
    }),
    { numRuns: 40 },
  );
});

test('crossEntropy = −Σ w·logSoftmax[target] / Σ w', () => {
  fc.assert(
    fc.property(
      fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 2, max: 6 })).chain(([n, c]) =>
        fc.tuple(arbTensor([n, c], { min: -20, max: 20 }), fc.array(fc.integer({ min: 0, max: c - 1 }), { minLength: n, maxLength: n }), fc.array(fc.constantFrom(0, 1, 2), { minLength: n, maxLength: n })),
      ),
      ([x, y, w]) => {
        fc.pre(w.some((v) => v > 0));
        const [n, c] = x.shape;
        const onehotW = tensor(y.flatMap((cls, i) => Array.from({ length: c }, (_, j) => (j === cls ? w[i] : 0))), [n, c], 'float64');
        const composed = (t: Tensor) => ad.div(ad.neg(ad.sum(ad.mul(ad.logSoftmax(t), onehotW))), w.reduce((a: number, b: number) => a + b, 0));
        const fused = (t: Tensor) => ad.crossEntropy(t, y, { weights: w });
        near(fused(x), composed(x));
        near(grad(fused)(x), grad(composed)(x));
      },
    ),
    { numRuns: 40 },
  );
});

test('extreme logits stay finite', () => {
  const x = tensor([[1000, -1000, 0], [-1000, -1000, -1000]], undefined, 'float64');
  const l = ad.crossEntropy(x, [1, 2]);
  expect(Number.isFinite(l.item())).toBe(true);
  expect(l.item()).toBeCloseTo((2000 + Math.log(3)) / 2, 6);
  expect(grad((t: Tensor) => ad.crossEntropy(t, [1, 2]))(x).toFlatArray().every(Number.isFinite)).toBe(true);
});
