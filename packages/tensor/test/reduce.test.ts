import fc from 'fast-check';
import { DType, Tensor, TensorError, tensor, zeros, sum, mean, max, min, logSumExp, norm, argmax, sumToShape } from '@unfold/tensor';
import { Values, allIndices, dtypeArb, expectClose, layoutArb, makeTensor, shapeArb, shrinkArb, tolFor } from './gen';

/** Every element of x that lands on output index `oi` (in keepDims numbering) — the naive reduction set. */
function slice(x: Tensor, axes: number[], keptIdx: number[]): number[] {
  const vals: number[] = [];
  for (const idx of allIndices(x.shape)) if (idx.every((k, ax) => axes.includes(ax) || k === keptIdx[ax])) vals.push(x.get(...idx));
  return vals;
}

type Ref = (v: number[]) => number;
const refSum: Ref = (v) => v.reduce((a, b) => a + b, 0);
const REDUCTIONS: [string, typeof sum, Ref, Values][] = [
  ['sum', sum, refSum, { kind: 'uniform', scale: 3 }],
  ['mean', mean, (v) => refSum(v) / v.length, { kind: 'uniform', scale: 3 }],
  ['max', max, (v) => Math.max(...v), { kind: 'ints', lo: -3, hi: 3 }],
  ['min', min, (v) => Math.min(...v), { kind: 'uniform', scale: 3 }],
  // naive log Σ exp is fine in float64 at this scale (|x| ≤ 30)
  ['logSumExp', logSumExp, (v) => Math.log(refSum(v.map(Math.exp))), { kind: 'uniform', scale: 30 }],
  ['norm', norm, (v) => Math.sqrt(refSum(v.map((a) => a * a))), { kind: 'uniform', scale: 3 }],
];

/** axes as the API takes them: undefined (all), one number (maybe negative), or a list. */
const axesArb = (rank: number): fc.Arbitrary<number | number[] | undefined> =>
  fc.oneof(
    fc.constant(undefined),
    rank === 0 ? fc.constant<number[]>([]) : fc.integer({ min: -rank, max: rank - 1 }),
    fc.subarray(Array.from({ length: rank }, (_, i) => i)).chain((a) => fc.shuffledSubarray(a, { minLength: a.length, maxLength: a.length })),
  );

const caseArb = shapeArb().chain((shape) =>
  fc.record({ shape: fc.constant(shape), axes: axesArb(shape.length), keepDims: fc.boolean(), dtype: dtypeArb, layout: layoutArb, seed: fc.integer() }),
);

function normalised(axes: number | number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  return (typeof axes === 'number' ? [axes] : axes).map((a) => (a < 0 ? a + rank : a));
}

describe('reductions', () => {
  test.each(REDUCTIONS)('%s over any axes (keepDims or not) matches a naive float64 reduction', (_name, fn, ref, values) => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const x = makeTensor(c.shape, c.dtype, c.layout, c.seed, values);
        const ax = normalised(c.axes, x.rank);
        const y = fn(x, c.axes, c.keepDims);
        const kept = c.shape.map((d, i) => (ax.includes(i) ? 1 : d));
        const outShape = c.keepDims ? kept : c.shape.filter((_, i) => !ax.includes(i));
        expect(y.shape).toEqual(outShape);
        expect(y.dtype).toBe(c.dtype);
        // Map an output index back to the keepDims index of x.
        const toKept = (oi: number[]): number[] => {
          if (c.keepDims) return oi;
          let k = 0;
          return c.shape.map((_, i) => (ax.includes(i) ? 0 : oi[k++]));
        };
        // Tolerance scaled by Σ|x| (cancellation in sums), per the note in gen.ts.
        expectClose(y, (oi) => ref(slice(x, ax, toKept(oi))), outShape, tolFor(c.dtype), (oi) => refSum(slice(x, ax, toKept(oi)).map(Math.abs)));
      }),
    );
  });

  test('empty reductions: sum 0, mean NaN, logSumExp −∞, norm 0; max/min/argmax are errors naming the op', () => {
    const e = zeros([3, 0]);
    expect(sum(e, 1).toFlatArray()).toEqual([0, 0, 0]);
    expect(mean(e, 1).toFlatArray().every(Number.isNaN)).toBe(true);
    expect(logSumExp(e, 1).toFlatArray()).toEqual([-Infinity, -Infinity, -Infinity]);
    expect(norm(e).item()).toBe(0);
    expect(() => max(e, 1)).toThrow(/^max: cannot reduce over an empty axis of \[3,0\] \(axes \[1\]\)/);
    expect(() => min(e)).toThrow(/^min: cannot reduce over an empty axis of \[3,0\]/);
    expect(() => argmax(e, 1)).toThrow(/^argmax: cannot take argmax over an empty axis of \[3,0\]/);
    expect(max(e, 0).shape).toEqual([0]); // nothing to reduce into: no error, as NumPy
  });

  test('logSumExp is stable at ±1e3 and returns −∞ (not NaN) for all −∞, +∞ for any +∞', () => {
    for (const dtype of ['float32', 'float64'] as DType[]) {
      const x = tensor([[1000, 1000, -Infinity], [-1000, -1000, -1000], [-Infinity, -Infinity, -Infinity], [Infinity, 0, 1], [NaN, 0, 1]].flat(), [5, 3], dtype);
      const y = logSumExp(x, 1).toFlatArray();
      expect(Math.abs(y[0] - (1000 + Math.LN2))).toBeLessThan(1000 * tolFor(dtype));
      expect(Math.abs(y[1] - (-1000 + Math.log(3)))).toBeLessThan(1000 * tolFor(dtype));
      expect(y[2]).toBe(-Infinity);
      expect(y[3]).toBe(Infinity);
      expect(y[4]).toBeNaN();
      const z = logSumExp(x.slice({ stop: 2 }), 0, true).toArray() as number[][];
      expect(z[0].every(Number.isFinite)).toBe(true);
    }
  });

  test('norm scales: no overflow for float64 near 1e200 or float32 squares past 3.4e38, no underflow near 1e-200', () => {
    expect(norm(tensor([1e200, 1e200], [2], 'float64')).item() / (Math.SQRT2 * 1e200)).toBeCloseTo(1, 14);
    expect(norm(tensor([1e-200, -1e-200], [2], 'float64')).item() / (Math.SQRT2 * 1e-200)).toBeCloseTo(1, 14);
    const big = norm(tensor([2e38, 1e38], [2], 'float32')).item(); // √5·1e38 ≈ 2.236e38 < float32 max
    expect(Math.abs(big / (Math.sqrt(5) * 1e38) - 1)).toBeLessThan(1e-6);
    expect(norm(tensor([Infinity, 1])).item()).toBe(Infinity);
    expect(norm(tensor([NaN, 1])).item()).toBeNaN();
    expect(norm(zeros([4])).item()).toBe(0);
  });

  test('max/min propagate NaN', () => {
    expect(max(tensor([1, NaN, 3])).item()).toBeNaN();
    expect(min(tensor([[1, 2], [NaN, 0]]), 1).toFlatArray()[1]).toBeNaN();
  });
});

describe('argmax', () => {
  test('matches the first maximal index along any axis (ties common), or over the flattening', () => {
    const arb = shapeArb(1).chain((shape) =>
      fc.record({ shape: fc.constant(shape), axis: fc.option(fc.integer({ min: -shape.length, max: shape.length - 1 }), { nil: undefined }), keepDims: fc.boolean(), dtype: dtypeArb, layout: layoutArb, seed: fc.integer() }),
    );
    fc.assert(
      fc.property(arb, (c) => {
        const x = makeTensor(c.shape, c.dtype, c.layout, c.seed, { kind: 'ints', lo: -2, hi: 2 });
        const y = argmax(x, c.axis, c.keepDims);
        if (c.axis === undefined) {
          expect(y.shape).toEqual(c.keepDims ? c.shape.map(() => 1) : []);
          const flat = [...allIndices(c.shape)].map((i) => x.get(...i));
          expect(y.toFlatArray()[0]).toBe(flat.indexOf(Math.max(...flat)));
          return;
        }
        const ax = c.axis < 0 ? c.axis + x.rank : c.axis;
        const outShape = c.keepDims ? c.shape.map((d, i) => (i === ax ? 1 : d)) : c.shape.filter((_, i) => i !== ax);
        expectClose(y, (oi) => {
          const kept = c.keepDims ? oi.slice() : [...oi.slice(0, ax), 0, ...oi.slice(ax)];
          const row = Array.from({ length: c.shape[ax] }, (_, k) => x.get(...kept.map((v, i) => (i === ax ? k : v))));
          return row.indexOf(Math.max(...row));
        }, outShape, 0);
      }),
    );
  });

  test('NaN wins (first NaN), rank 0 works, indices come back as floats of the input dtype', () => {
    expect(argmax(tensor([1, NaN, 5, NaN])).item()).toBe(1);
    expect(argmax(tensor(3.5)).item()).toBe(0);
    expect(argmax(tensor([1, 9, 7, 2], [2, 2], 'float64'), 0).dtype).toBe('float64');
    expect(argmax(tensor([[1, 9], [7, 2]]), 0).toFlatArray()).toEqual([1, 0]);
  });
});

describe('sumToShape', () => {
  test('sums a broadcast result back to any shape that broadcasts to it', () => {
    const arb = shapeArb().chain((full) => fc.record({ full: fc.constant(full), target: shrinkArb(full), dtype: dtypeArb, layout: layoutArb, seed: fc.integer() }));
    fc.assert(
      fc.property(arb, (c) => {
        const x = makeTensor(c.full, c.dtype, c.layout, c.seed);
        const y = sumToShape(x, c.target);
        expect(y.isContiguous()).toBe(true);
        const lead = c.full.length - c.target.length;
        // a fresh buffer when something is summed; nothing summed: x itself (a view if x was contiguous)
        const summed = lead > 0 || c.target.some((d, k) => d === 1 && c.full[lead + k] !== 1);
        if (summed || !x.isContiguous()) expect(y.storage).not.toBe(x.storage);
        else expect(y.storage).toBe(x.storage);
        const members = (ti: number[]) => [...allIndices(c.full)].filter((i) => c.target.every((d, k) => d === 1 || i[lead + k] === ti[k])).map((i) => x.get(...i));
        expectClose(y, (ti) => refSum(members(ti)), c.target, tolFor(c.dtype), (ti) => refSum(members(ti).map(Math.abs)));
      }),
    );
  });

  test('is the adjoint of broadcastTo: ⟨broadcast(a), g⟩ = ⟨a, sumToShape(g)⟩', () => {
    const a = makeTensor([3, 1, 4], 'float64', 'contig', 7);
    const g = makeTensor([2, 3, 5, 4], 'float64', 'neg', 8);
    const lhs = refSum([...allIndices(g.shape)].map((i) => a.broadcastTo(g.shape).get(...i) * g.get(...i)));
    const s = sumToShape(g, a.shape);
    const rhs = refSum([...allIndices(a.shape)].map((i) => a.get(...i) * s.get(...i)));
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-12 * refSum(g.toFlatArray().map(Math.abs)));
  });
});

describe('argument errors name the op and the offending shapes/values', () => {
  test.each([
    ['sum', () => sum(zeros([2, 3]), 2), /^sum: axis 2 is out of range for rank 2/],
    ['mean', () => mean(zeros([2, 3]), [0, -2]), /^mean: repeated axis in \[0,-2\]/],
    ['logSumExp', () => logSumExp(zeros([2]), 0, 'yes' as unknown as boolean), /^logSumExp: keepDims must be a boolean/],
    ['norm', () => norm([1, 2] as unknown as Tensor), /^norm: x must be a Tensor, got an array/],
    ['argmax', () => argmax(zeros([2, 3]), -3), /^argmax: axis -3 is out of range for rank 2/],
    ['sumToShape', () => sumToShape(zeros([2, 3]), [2]), /^sumToShape: \[2\] does not broadcast to \[2,3\]/],
    ['sumToShape', () => sumToShape(zeros([3]), [2, 3]), /^sumToShape: \[2,3\] does not broadcast to \[3\]/],
    ['sumToShape', () => sumToShape(zeros([3]), [-1]), /^sumToShape: invalid shape \[-1\]/],
  ] as [string, () => unknown, RegExp][])('%s', (_op, fn, msg) => {
    expect(fn).toThrow(TensorError);
    expect(fn).toThrow(msg);
  });
});
