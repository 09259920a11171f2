import fc from 'fast-check';
import { Rng, Tensor } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { gradCheck } from '@unfold/autodiff';
import { arbBroadcastPair, arbDistinctTensors, arbShape, arbTensor } from './arbitraries';

// Every primitive's VJP (and the composites built on them) against central differences in
// float64, over random shapes and values from fast-check. gradCheck's tolerance (1e-6 mixed
// abs/rel error) is justified in gradcheck.ts; a 1 % error in any VJP fails it by orders of
// magnitude (see harness.test.ts).
const RUNS = { numRuns: 30 };


/** Checked twice: on contiguous inputs and on non-contiguous views of them (strided VJP paths). */
function expectOk(f: (...xs: Tensor[]) => Tensor, xs: Tensor[]): void {
  for (const strided of [false, true]) {
    const r = gradCheck(f, xs, { strided });
    if (!r.ok) throw new Error(`${strided ? 'strided inputs: ' : ''}${r.toString()}`);
  }
}

describe('binary ops with broadcasting', () => {
  // maximum/minimum are not differentiable where a = b: their operands are drawn tie-free.
  const cases: [string, (a: Tensor, b: Tensor) => Tensor, { min?: number; noTies?: boolean }][] = [
    ['add', ad.add, {}],
    ['sub', ad.sub, {}],
    ['mul', ad.mul, {}],
    ['div', ad.div, { min: 0.5 }],
    ['maximum', ad.maximum, { noTies: true }],
    ['minimum', ad.minimum, { noTies: true }],
  ];
  test.each(cases)('%s', (_name, f, o) => {
    fc.assert(
      fc.property(
        arbBroadcastPair().chain(([sa, sb]) =>
          o.noTies ? arbDistinctTensors([sa, sb]).map(([a, b]) => [a, b] as const) : fc.tuple(arbTensor(sa), arbTensor(sb, o.min ? { min: o.min, max: 2 } : {})),
        ),
        ([a, b]) => expectOk(f, [a, b]),
      ),
      RUNS,
    );
  });
});

describe('unary ops', () => {
  const cases: [string, (x: Tensor) => Tensor, Parameters<typeof arbTensor>[1]][] = [
    ['neg', ad.neg, {}],
    ['exp', ad.exp, {}],
    ['log', ad.log, { min: 0.1, max: 3 }],
    ['tanh', ad.tanh, { min: -3, max: 3 }],
    ['sigmoid', ad.sigmoid, { min: -5, max: 5 }],
    ['relu', ad.relu, { awayFrom: [0] }],
    ['sqrt', ad.sqrt, { min: 0.1, max: 3 }],
    ['abs', ad.abs, { awayFrom: [0] }],
    ['pow 3', (x) => ad.pow(x, 3), {}],
    ['pow -1.5', (x) => ad.pow(x, -1.5), { min: 0.3, max: 2 }],
    ['clip', (x) => ad.clip(x, -0.5, 0.7), { awayFrom: [-0.5, 0.7] }],
    ['square', ad.square, {}],
  ];
  test.each(cases)('%s', (_name, f, o) => {
    fc.assert(fc.property(arbShape(0, 4).chain((s) => arbTensor(s, o)), (x) => expectOk(f, [x])), RUNS);
  });
});

describe('reductions', () => {
  const arbAxes = (rank: number) => fc.subarray(Array.from({ length: rank }, (_, i) => i));
  test.each([
    ['sum', ad.sum],
    ['mean', ad.mean],
    ['max', ad.max],
    ['logSumExp', ad.logSumExp],
  ] as const)('%s over random axes, keepDims', (_n, f) => {
    fc.assert(
      fc.property(
        // max is not differentiable at ties: its inputs are drawn tie-free
        arbShape(1, 4).chain((s) => fc.tuple(f === ad.max ? arbDistinctTensors([s]).map(([t]) => t) : arbTensor(s), arbAxes(s.length), fc.boolean())),
        ([x, axes, keep]) => expectOk((t) => f(t, axes.length ? axes : undefined, keep), [x]),
      ),
      RUNS,
    );
  });
  test('softmax, logSoftmax along a random axis', () => {
    fc.assert(
      fc.property(arbShape(1, 3).chain((s) => fc.tuple(arbTensor(s), fc.integer({ min: 0, max: s.length - 1 }))), ([x, axis]) => {
        expectOk((t) => ad.softmax(t, axis), [x]);
        expectOk((t) => ad.logSoftmax(t, axis), [x]);
      }),
      RUNS,
    );
  });
});

describe('matmul, all forms, batched', () => {
  test('2-D with transA/transB', () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.boolean(), fc.boolean()).chain(([m, k, n, ta, tb]) =>
          fc.tuple(arbTensor(ta ? [k, m] : [m, k]), arbTensor(tb ? [n, k] : [k, n]), fc.constant(ta), fc.constant(tb)),
        ),
        ([a, b, transA, transB]) => expectOk((x, y) => ad.matmul(x, y, { transA, transB }), [a, b]),
      ),
      RUNS,
    );
  });
  test('batched with a broadcast operand', () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.boolean()).chain(([bt, m, k, n, bcast]) =>
          fc.tuple(arbTensor([bt, m, k]), arbTensor(bcast ? [k, n] : [bt, k, n])),
        ),
        ([a, b]) => expectOk((x, y) => ad.matmul(x, y), [a, b]),
      ),
      RUNS,
    );
  });
});

describe('linear (x·Wᵀ + b in one record)', () => {
  test('with and without bias, against finite differences and against matmul + add', () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.boolean()).chain(([n, i, o, bias]) =>
          fc.tuple(arbTensor([n, i]), arbTensor([o, i]), arbTensor([o]), fc.constant(bias)),
        ),
        ([x, w, b, bias]) => {
          if (bias) expectOk((p, q, r) => ad.linear(p, q, r), [x, w, b]);
          else expectOk((p, q) => ad.linear(p, q), [x, w]);
          const y = ad.linear(x, w, bias ? b : null);
          const ref = bias ? ad.add(ad.matmul(x, w, { transB: true }), b) : ad.matmul(x, w, { transB: true });
          const a = y.toFlatArray();
          ref.toFlatArray().forEach((v, k) => expect(Math.abs(a[k] - v)).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(v))));
        },
      ),
      RUNS,
    );
  });
  test('bad shapes name the op and the operands', () => {
    const r = new Rng(1);
    const x = Tensor.fromArray(new Float64Array(6).map(() => r.normal()), [2, 3]);
    expect(() => ad.linear(x, Tensor.empty([4, 2], 'float64'))).toThrow(/linear: x \[2,3\] and weight \[4,2\] must be \[N, I\] and \[O, I\]/);
    expect(() => ad.linear(x, Tensor.empty([4, 3], 'float64'), Tensor.empty([3], 'float64'))).toThrow(/linear: bias \[3\] must be \[4\]/);
    expect(() => ad.linear(x, Tensor.empty([4, 3], 'float32'))).toThrow(/linear: mixed dtypes/);
  });
});

describe('shape ops', () => {
  test('reshape, permute, transpose, slice with steps, broadcastTo', () => {
    fc.assert(
      fc.property(arbShape(2, 3).chain((s) => arbTensor(s)), (x) => {
        expectOk((t) => ad.reshape(t, [-1]), [x]);
        const axes = x.shape.map((_, i) => i).reverse();
        expectOk((t) => ad.mul(ad.permute(t, axes), ad.permute(t, axes)), [x]);
        expectOk((t) => ad.transpose(t), [x]);
        expectOk((t) => ad.slice(t, { step: -1 }, { start: 0, step: 2 }), [x]);
        expectOk((t) => ad.broadcastTo(t, [2, ...t.shape]), [x]);
      }),
      RUNS,
    );
  });
  test('concat, stack, split (pieces reused)', () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })).chain(([r, c1, c2]) =>
          fc.tuple(arbTensor([r, c1]), arbTensor([r, c2])),
        ),
        ([a, b]) => {
          expectOk((x, y) => ad.concat([x, y], 1), [a, b]);
          expectOk((x) => ad.stack([x, ad.mul(x, x)], 1), [a]);
          expectOk((x) => {
            const parts = ad.split(x, x.shape[0] === 1 ? [1] : [1, x.shape[0] - 1], 0);
            return parts.map((p, i) => ad.sum(ad.pow(p, i + 2))).reduce((u, v) => ad.add(u, v));
          }, [a]);
        },
      ),
      RUNS,
    );
  });
  test('where routes gradient to the chosen branch only', () => {
    fc.assert(
      fc.property(arbBroadcastPair().chain(([sa, sb]) => fc.tuple(arbTensor(sa), arbTensor(sb), arbTensor(sa.length >= sb.length ? sa : sb))), ([a, b, c]) => {
        const cond = c.toFlatArray().map((v) => (v > 0 ? 1 : 0));
        const condT = Tensor.fromArray(Float64Array.from(cond), c.shape);
        expectOk((x, y) => ad.where(condT, x, y), [a, b]);
      }),
      RUNS,
    );
  });
});

describe('embedding, dropout, losses', () => {
  test('gather with repeated indices', () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 4 })).chain(([v, d]) =>
          fc.tuple(arbTensor([v, d]), fc.array(fc.integer({ min: 0, max: v - 1 }), { minLength: 1, maxLength: 6 })),
        ),
        ([table, idx]) => expectOk((t) => ad.mul(ad.gather(t, idx), ad.gather(t, idx)), [table]),
      ),
      RUNS,
    );
  });
  test('dropout uses its saved mask', () => {
    fc.assert(
      fc.property(arbShape(1, 3).chain((s) => arbTensor(s)), fc.integer(), (x, seed) => {
        // The same seed gives the same mask on every evaluation, so f is a function of x.
        const f = (t: Tensor) => ad.dropout(t, 0.4, { rng: new Rng(seed) });
        expectOk(f, [x]);
      }),
      RUNS,
    );
  });
  test('crossEntropy with weights/mask, mean and sum', () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 2, max: 6 })).chain(([n, c]) =>
          fc.tuple(
            arbTensor([n, c], { min: -4, max: 4 }),
            fc.array(fc.integer({ min: 0, max: c - 1 }), { minLength: n, maxLength: n }),
            fc.array(fc.constantFrom(0, 1, 0.5), { minLength: n, maxLength: n }),
            fc.constantFrom('mean' as const, 'sum' as const),
          ),
        ),
        ([x, y, w, reduction]) => {
          expectOk((t) => ad.crossEntropy(t, y, { reduction }), [x]);
          if (w.some((v) => v > 0)) expectOk((t) => ad.crossEntropy(t, y, { weights: w, reduction }), [x]);
          else expect(ad.crossEntropy(x, y, { weights: w, reduction }).item()).toBe(0); // all rows masked: loss 0 (no NaN)
        },
      ),
      RUNS,
    );
  });
  test('mse rejects a prediction and target of different shapes instead of broadcasting them', () => {
    const a = Tensor.fromArray(new Float64Array([1, 2, 3, 4]), [4, 1]);
    const b = Tensor.fromArray(new Float64Array([1, 2, 3, 4]), [4]);
    expect(() => ad.mse(a, b)).toThrow('mse: prediction [4,1] and target [4] differ in shape');
    expect(ad.mse(a, b.reshape([4, 1])).item()).toBe(0);
  });
  test('mse, with and without a mask', () => {
    fc.assert(
      fc.property(arbShape(1, 3).chain((s) => fc.tuple(arbTensor(s), arbTensor(s))), ([a, b]) => {
        expectOk(ad.mse, [a, b]);
        const m = Tensor.fromArray(Float64Array.from(a.toFlatArray().map((v) => (v > 0 ? 1 : 0))), a.shape);
        expectOk((x, y) => ad.mse(x, y, m), [a, b]);
      }),
      RUNS,
    );
  });
});
