import fc from 'fast-check';
import { Tensor, mul as mulK } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { OPS, OpDef, gradCheck } from '@unfold/autodiff';
import { arbTensor } from './arbitraries';

// The gradient checks are only worth something if they can fail. Here each of several
// primitives' VJPs is made 1 % wrong (dx · 1.01), and gradCheck must report it — on every
// random draw, not just a lucky one.
function withWrongVjp<T>(def: OpDef<any>, factor: number, fn: () => T): T { // eslint-disable-line @typescript-eslint/no-explicit-any
  const vjp = def.vjp;
  def.vjp = (dys, saved, attrs, inputs, needs, acc, defer) => vjp(dys, saved, attrs, inputs, needs, acc, defer).map((dx) => (dx instanceof Tensor ? mulK(dx, factor) : dx));
  try {
    return fn();
  } finally {
    def.vjp = vjp;
  }
}

const cases: [keyof typeof OPS, (x: Tensor) => Tensor][] = [
  ['tanh', (x) => ad.tanh(x)],
  ['sigmoid', (x) => ad.sigmoid(x)],
  ['matmul', (x) => ad.matmul(x, x, { transB: true })],
  ['mul', (x) => ad.mul(x, ad.exp(x))],
  ['logSoftmax', (x) => ad.logSoftmax(x)],
];

test.each(cases)('a 1%% error in the %s VJP is caught', (name, f) => {
  fc.assert(
    // dims ≥ 2: over a single class logSoftmax is constant and its (zero) gradient has no 1 % to find
    fc.property(fc.tuple(fc.integer({ min: 2, max: 4 }), fc.integer({ min: 2, max: 4 })).chain((s) => arbTensor(s, { min: 0.5, max: 2 })), (x) => {
      expect(gradCheck(f, [x]).ok).toBe(true);
      const r = withWrongVjp(OPS[name], 1.01, () => gradCheck(f, [x]));
      expect(r.ok).toBe(false);
      expect(r.maxError).toBeGreaterThan(1e-4); // caught by two orders of magnitude over tol 1e-6
    }),
    { numRuns: 15 },
  );
});

test('the report names where the worst error is', () => {
  const x = Tensor.fromArray(Float64Array.from([0.3, -0.7, 1.1, 0.2]), [2, 2]);
  const r = withWrongVjp(OPS.tanh, 1.01, () => gradCheck((t) => ad.tanh(t), [x]));
  expect(r.toString()).toMatch(/^gradCheck FAILED: worst error .* at (input 0 \[2,2\] element \d|random direction \d)/);
});

test('gradCheck({ strided }) hands f non-contiguous views with the same values', () => {
  const m = Tensor.fromArray(Float64Array.from([0.3, -0.7, 1.1, 0.2, 0.5, -0.4]), [2, 3]);
  const v = Tensor.fromArray(Float64Array.from([0.3, -0.7, 1.1]), [3]);
  const seen: Tensor[] = [];
  const r = gradCheck((a, b) => {
    seen.push(a, b);
    return ad.add(ad.tanh(a), ad.sum(ad.mul(b, b)));
  }, [m, v], { strided: true });
  expect(r.ok).toBe(true);
  expect(seen.every((t) => !t.isContiguous())).toBe(true);
  expect(seen[0].toArray()).toEqual(m.toArray());
  expect(seen[1].toArray()).toEqual(v.toArray());
});
