import fc from 'fast-check';
import { Tensor, TensorError, tensor, zeros, arange, softmax, logSoftmax, oneHot, gather, scatterAdd, concat, stack, split } from '@unfold/tensor';
import { allIndices, dtypeArb, expectClose, layoutArb, makeTensor, shapeArb, tolFor } from './gen';

/** The 1-D slice of x through idx along axis. */
function line(x: Tensor, idx: number[], axis: number): number[] {
  return Array.from({ length: x.shape[axis] }, (_, k) => x.get(...idx.map((v, i) => (i === axis ? k : v))));
}

// References written differently from the kernels: softmax_i = 1 / Σ_j e^(x_j − x_i) (an
// overflowing term gives 1/∞ = 0, which is right), log softmax_i = x_i − (m + log Σ e^(x_j − m)).
const refSoftmax = (row: number[], i: number): number => 1 / row.reduce((s, v) => s + Math.exp(v - row[i]), 0);
const refLogSoftmax = (row: number[], i: number): number => {
  const m = Math.max(...row);
  return row[i] - (m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)));
};

const softmaxCase = shapeArb(1).chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    axis: fc.option(fc.integer({ min: -shape.length, max: shape.length - 1 }), { nil: undefined }),
    scale: fc.constantFrom(3, 30, 1e3), // 1e3: e^x overflows float64; the shifted form must not
    dtype: dtypeArb,
    layout: layoutArb,
    seed: fc.integer(),
  }),
);

describe('softmax / logSoftmax', () => {
  test.each([
    ['softmax', softmax, refSoftmax],
    ['logSoftmax', logSoftmax, refLogSoftmax],
  ] as const)('%s along any axis, any layout, logits up to ±1e3: finite and equal to the reference', (name, fn, ref) => {
    fc.assert(
      fc.property(softmaxCase, (c) => {
        const x = makeTensor(c.shape, c.dtype, c.layout, c.seed, { kind: 'uniform', scale: c.scale });
        const y = c.axis === undefined ? fn(x) : fn(x, c.axis);
        const ax = c.axis === undefined ? x.rank - 1 : c.axis < 0 ? c.axis + x.rank : c.axis;
        expect(y.isContiguous()).toBe(true);
        // log softmax is x_i − lse: its absolute error is relative to |x_i| + |lse| ~ scale.
        expectClose(y, (i) => ref(line(x, i, ax), i[ax]), c.shape, tolFor(c.dtype), () => (name === 'logSoftmax' ? c.scale : 0));
        for (const i of allIndices(c.shape)) {
          if (i[ax] !== 0) continue;
          const row = line(y, i, ax);
          expect(row.every(Number.isFinite)).toBe(true);
          const total = name === 'softmax' ? row.reduce((a, b) => a + b, 0) : row.reduce((a, b) => a + Math.exp(b), 0);
          expect(Math.abs(total - 1)).toBeLessThan(row.length * 4 * tolFor(c.dtype));
        }
      }),
    );
  });

  test('equal large logits give exactly uniform / −log n', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      expect(softmax(tensor([1000, 1000, -1000, -1000], [2, 2], dtype)).toFlatArray()).toEqual([0.5, 0.5, 0.5, 0.5]);
      const l = logSoftmax(tensor([1000, 1000], [2], dtype)).toFlatArray();
      expect(l.map((v) => Math.abs(v + Math.LN2) < tolFor(dtype))).toEqual([true, true]);
      expect(softmax(tensor([1000, -1000], [2], dtype)).toFlatArray()).toEqual([1, 0]);
    }
  });
});

describe('oneHot', () => {
  test('[...S] → [...S, depth], from tensors of any layout or plain arrays', () => {
    fc.assert(
      fc.property(shapeArb(0, 3), fc.integer({ min: 1, max: 5 }), layoutArb, fc.integer(), dtypeArb, (shape, depth, layout, seed, dtype) => {
        const idx = makeTensor(shape, 'float32', layout, seed, { kind: 'ints', lo: 0, hi: depth - 1 });
        const y = oneHot(idx, depth, dtype);
        expect(y.dtype).toBe(dtype);
        expectClose(y, (i) => +(idx.get(...i.slice(0, -1)) === i[i.length - 1]), [...shape, depth], 0);
      }),
    );
    expect(oneHot([2, 0], 3).toArray()).toEqual([[0, 0, 1], [1, 0, 0]]);
    expect(oneHot(new Int32Array([1]), 2).toArray()).toEqual([[0, 1]]);
  });
});

describe('gather / scatterAdd', () => {
  const arb = fc.record({
    rowShape: shapeArb(0, 2),
    rows: fc.integer({ min: 1, max: 5 }),
    idxShape: shapeArb(0, 2),
    dtype: dtypeArb,
    layout: layoutArb,
    seed: fc.integer(),
  });

  test('gather picks rows along axis 0: [...S, ...R]', () => {
    fc.assert(
      fc.property(arb, (c) => {
        const table = makeTensor([c.rows, ...c.rowShape], c.dtype, c.layout, c.seed);
        const idx = makeTensor(c.idxShape, 'float64', 'neg', c.seed + 1, { kind: 'ints', lo: 0, hi: c.rows - 1 });
        const y = gather(table, idx);
        const k = c.idxShape.length;
        expectClose(y, (i) => table.get(idx.get(...i.slice(0, k)), ...i.slice(k)), [...c.idxShape, ...c.rowShape], 0);
      }),
    );
    expect(gather(arange(6).reshape([3, 2]), [2, 2, 0]).toArray()).toEqual([[4, 5], [4, 5], [0, 1]]);
  });

  test('scatterAdd accumulates repeated indices, writes only dst, and is the adjoint of gather', () => {
    fc.assert(
      fc.property(arb, (c) => {
        const dstLayout = c.layout === 'bcast' ? 'transpose' : c.layout;
        const dst = makeTensor([c.rows, ...c.rowShape], c.dtype, dstLayout, c.seed);
        const idx = makeTensor(c.idxShape, 'float32', 'contig', c.seed + 1, { kind: 'ints', lo: 0, hi: c.rows - 1 });
        const src = makeTensor([...c.idxShape, ...c.rowShape], c.dtype, c.layout, c.seed + 2);
        const d0 = dst.clone();
        const want = d0.clone();
        for (const i of allIndices(c.idxShape)) {
          const r = idx.get(...i);
          for (const j of allIndices(c.rowShape)) want.set(want.get(r, ...j) + src.get(...i, ...j), r, ...j);
        }
        expect(scatterAdd(dst, idx, src)).toBe(dst);
        expectClose(dst, (i) => want.get(...i), dst.shape, tolFor(c.dtype), () => 10);
        // ⟨gather(T, idx), U⟩ = ⟨T, scatterAdd(0, idx, U)⟩
        const g = gather(d0, idx);
        const s = scatterAdd(zeros(d0.shape, c.dtype), idx, src);
        const dot = (a: Tensor, b: Tensor) => [...allIndices(a.shape)].reduce((acc, i) => acc + a.get(...i) * b.get(...i), 0);
        expect(Math.abs(dot(g, src) - dot(d0, s))).toBeLessThan(1e-4 * (1 + src.size));
      }),
    );
    const d = zeros([3, 2]);
    scatterAdd(d, [1, 1, 0], tensor([1, 2, 3, 4, 5, 6], [3, 2]));
    expect(d.toArray()).toEqual([[5, 6], [4, 6], [0, 0]]);
    // index axes may arrive flattened: indices [2,2], src [4, 2] (dy.reshape([-1, ...rows]))
    const e = scatterAdd(zeros([3, 2]), tensor([1, 1, 0, 2], [2, 2]), tensor([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]));
    expect(e.toArray()).toEqual([[5, 6], [4, 6], [7, 8]]);
  });
});

describe('concat / stack / split', () => {
  const arb = shapeArb(1, 4).chain((shape) =>
    fc.record({
      shape: fc.constant(shape),
      axis: fc.integer({ min: -shape.length, max: shape.length - 1 }),
      sizes: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 }),
      layouts: fc.array(layoutArb, { minLength: 4, maxLength: 4 }),
      dtype: dtypeArb,
      seed: fc.integer(),
    }),
  );

  test('concat joins pieces of any layout; split(concat) gives back views equal to the pieces', () => {
    fc.assert(
      fc.property(arb, (c) => {
        const ax = c.axis < 0 ? c.axis + c.shape.length : c.axis;
        const parts = c.sizes.map((s, k) => makeTensor(c.shape.map((d, i) => (i === ax ? s : d)), c.dtype, c.layouts[k], c.seed + k));
        const y = concat(parts, c.axis);
        const starts = c.sizes.map((_, k) => c.sizes.slice(0, k).reduce((a, b) => a + b, 0));
        expectClose(y, (i) => {
          const k = starts.findIndex((s, j) => i[ax] >= s && i[ax] < s + c.sizes[j]);
          return parts[k].get(...i.map((v, a) => (a === ax ? v - starts[k] : v)));
        }, c.shape.map((d, i) => (i === ax ? starts[starts.length - 1] + c.sizes[c.sizes.length - 1] : d)), 0);
        const back = split(y, c.sizes, c.axis);
        back.forEach((b, k) => {
          expect(b.storage).toBe(y.storage);
          expect(b.toArray()).toEqual(parts[k].toArray());
        });
      }),
    );
  });

  test('stack inserts a new axis at any position', () => {
    fc.assert(
      fc.property(shapeArb(0, 3), fc.integer({ min: 1, max: 3 }), fc.nat(), layoutArb, fc.integer(), (shape, n, axisSeed, layout, seed) => {
        const axis = axisSeed % (shape.length + 1);
        const parts = Array.from({ length: n }, (_, k) => makeTensor(shape, 'float64', layout, seed + k));
        const y = stack(parts, axis);
        const outShape = [...shape.slice(0, axis), n, ...shape.slice(axis)];
        expectClose(y, (i) => parts[i[axis]].get(...i.filter((_, a) => a !== axis)), outShape, 0);
      }),
    );
  });

  test('split by chunk size returns equal views', () => {
    const x = arange(12).reshape([2, 6]);
    const [a, b, c] = split(x, 2, 1);
    expect(a.toArray()).toEqual([[0, 1], [6, 7]]);
    expect(c.toArray()).toEqual([[4, 5], [10, 11]]);
    b.set(-1, 0, 0);
    expect(x.get(0, 2)).toBe(-1);
  });
});

describe('argument errors name the op and the offending shapes/values', () => {
  test.each([
    ['softmax', () => softmax(zeros([2, 3]), 2), /^softmax: axis 2 is out of range for rank 2/],
    ['logSoftmax', () => logSoftmax(tensor(1)), /^logSoftmax: needs at least one axis/],
    ['oneHot', () => oneHot([0, 3], 3), /^oneHot: index 3 at position 1 is out of range \[0, 3\) for depth 3/],
    ['oneHot', () => oneHot(tensor([0.5]), 3), /^oneHot: index 0.5 at position 0 is not an integer/],
    ['oneHot', () => oneHot([1], 0), /^oneHot: depth must be a positive integer, got 0/],
    ['oneHot', () => oneHot([-1], 2), /^oneHot: index -1 at position 0 is out of range/],
    ['gather', () => gather(zeros([4, 2]), [4]), /^gather: index 4 at position 0 is out of range \[0, 4\) for table \[4,2\] with 4 rows/],
    ['gather', () => gather(zeros([4, 2]), [NaN]), /^gather: index NaN at position 0 is not an integer/],
    ['gather', () => gather(tensor(1), [0]), /^gather: table must have at least one axis/],
    ['scatterAdd', () => scatterAdd(zeros([4, 2]), [1, 2], zeros([2, 3])), /^scatterAdd: src \[2,3\] must be \[2,2\] \(indices \[2\] then rows \[2\] of dst \[4,2\]\)/],
    ['scatterAdd', () => scatterAdd(zeros([4, 2]), [1, 2], zeros([3, 2])), /^scatterAdd: src \[3,2\] must be \[2,2\]/],
    ['scatterAdd', () => scatterAdd(zeros([4, 2]), [1], zeros([1, 2], 'float64')), /^scatterAdd: dtype mismatch: float32 \[4,2\] vs float64 \[1,2\]/],
    ['concat', () => concat([zeros([2, 3]), zeros([2, 4])], 0), /^concat: tensors\[1\] \[2,4\] does not match tensors\[0\] \[2,3\] outside axis 0/],
    ['concat', () => concat([]), /^concat: needs a non-empty array of tensors/],
    ['concat', () => concat([zeros([2]), zeros([2], 'float64')]), /^concat: dtype mismatch: tensors\[0\] is float32, tensors\[1\] is float64/],
    ['stack', () => stack([zeros([2, 3]), zeros([3, 2])]), /^stack: tensors\[1\] \[3,2\] differs from tensors\[0\] \[2,3\]/],
    ['stack', () => stack([zeros([2])], 2), /^stack: axis 2 is out of range for rank 2/],
    ['split', () => split(zeros([2, 6]), 4, 1), /^split: chunk size 4 must be a positive integer dividing axis 1 of \[2,6\] \(size 6\)/],
    ['split', () => split(zeros([5]), [2, 2]), /^split: sizes \[2,2\] must be non-negative integers adding up to axis 0 of \[5\] \(size 5\)/],
  ] as [string, () => unknown, RegExp][])('%s', (_op, fn, msg) => {
    expect(fn).toThrow(TensorError);
    expect(fn).toThrow(msg);
  });
});
