import fc from 'fast-check';
import {
  Tensor, TensorError, tensor, zeros, arange,
  neg, exp, log, tanh, sigmoid, relu, sqrt, abs, square, pow, clip, isnan,
  add, sub, mul, div, maximum, minimum, greater, greaterEqual, less, lessEqual, equal, notEqual, where,
  addInPlace, subInPlace, mulInPlace, scaleInPlace, axpyInPlace, fillInPlace, copyInto, clipInPlace,
} from '@unfold/tensor';
import { Values, allIndices, bcastIndex, dtypeArb, expectClose, layoutArb, makeTensor, shapeArb, shrinkArb, tolFor, writableLayoutArb } from './gen';

type Ref1 = (v: number) => number;
const UNARY: [string, (x: Tensor) => Tensor, Ref1, Values][] = [
  ['neg', neg, (v) => -v, { kind: 'uniform', scale: 5 }],
  ['exp', exp, Math.exp, { kind: 'uniform', scale: 20 }],
  ['log', log, Math.log, { kind: 'uniform', scale: 5 }], // negatives → NaN on both sides
  ['tanh', tanh, Math.tanh, { kind: 'uniform', scale: 5 }],
  ['sigmoid', sigmoid, (v) => 1 / (1 + Math.exp(-v)), { kind: 'uniform', scale: 30 }],
  ['relu', relu, (v) => (v > 0 ? v : 0), { kind: 'uniform', scale: 5 }],
  ['sqrt', sqrt, Math.sqrt, { kind: 'uniform', scale: 5 }],
  ['abs', abs, Math.abs, { kind: 'uniform', scale: 5 }],
  ['square', square, (v) => v * v, { kind: 'uniform', scale: 5 }],
  ['pow(·,3)', (x) => pow(x, 3), (v) => v ** 3, { kind: 'uniform', scale: 5 }],
  ['pow(·,0.5)', (x) => pow(x, 0.5), (v) => v ** 0.5, { kind: 'positive', scale: 5 }],
  ['pow(·,2)', (x) => pow(x, 2), (v) => v ** 2, { kind: 'uniform', scale: 5 }],
  ['clip(·,-1,0.5)', (x) => clip(x, -1, 0.5), (v) => Math.min(Math.max(v, -1), 0.5), { kind: 'uniform', scale: 3 }],
  ['isnan', (x) => isnan(log(x)), (v) => (Number.isNaN(Math.log(v)) ? 1 : 0), { kind: 'uniform', scale: 3 }],
];

describe('unary kernels', () => {
  test.each(UNARY)('%s matches a float64 reference on any layout', (_name, fn, ref, values) => {
    fc.assert(
      fc.property(shapeArb(), dtypeArb, layoutArb, fc.integer(), (shape, dtype, layout, seed) => {
        const x = makeTensor(shape, dtype, layout, seed, values);
        const y = fn(x);
        expect(y.dtype).toBe(dtype);
        expect(y.isContiguous()).toBe(true);
        expect(y.storage).not.toBe(x.storage);
        expectClose(y, (i) => ref(x.get(...i)), shape, tolFor(dtype));
      }),
    );
  });

  test('sigmoid is finite and exact at large |x| (exp(-|x|) form), and keeps relative precision for x ≪ 0', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const y = sigmoid(tensor([-1e3, 1e3, -Infinity, Infinity, -1e30, 1e30, 0, -30, 30], [9], dtype)).toFlatArray();
      expect(y.slice(0, 7)).toEqual([0, 1, 0, 1, 0, 1, 0.5]);
      const e30 = Math.exp(-30) / (1 + Math.exp(-30)); // 9.36e-14: 1 - σ(30) would lose it entirely
      expect(Math.abs(y[7] - e30) / e30).toBeLessThan(tolFor(dtype));
      expect(Math.abs(y[8] - (1 - e30))).toBeLessThan(tolFor(dtype));
    }
    expect(sigmoid(tensor([NaN])).toFlatArray()[0]).toBeNaN();
    expect(tanh(tensor([-1e3, 1e3])).toFlatArray()).toEqual([-1, 1]);
  });

  test('relu and clip pass NaN through; isnan marks it', () => {
    const x = tensor([NaN, -2, 3]);
    expect(relu(x).toFlatArray()[0]).toBeNaN();
    expect(clip(x, -1, 1).toFlatArray().slice(1)).toEqual([-1, 1]);
    expect(clip(x, -1, 1).toFlatArray()[0]).toBeNaN();
    expect(isnan(x).toFlatArray()).toEqual([1, 0, 0]);
  });
});

const BINARY: [string, (a: Tensor | number, b: Tensor | number) => Tensor, (a: number, b: number) => number][] = [
  ['add', add, (a, b) => a + b],
  ['sub', sub, (a, b) => a - b],
  ['mul', mul, (a, b) => a * b],
  ['div', div, (a, b) => a / b],
  ['maximum', maximum, Math.max],
  ['minimum', minimum, Math.min],
  ['greater', greater, (a, b) => +(a > b)],
  ['greaterEqual', greaterEqual, (a, b) => +(a >= b)],
  ['less', less, (a, b) => +(a < b)],
  ['lessEqual', lessEqual, (a, b) => +(a <= b)],
  ['equal', equal, (a, b) => +(a === b)],
  ['notEqual', notEqual, (a, b) => +(a !== b)],
];

/** Broadcasting pairs: a full shape, two shrunk versions, either side possibly a plain number. */
const pairArb = shapeArb().chain((full) =>
  fc.record({
    aShape: shrinkArb(full),
    bShape: shrinkArb(full),
    aLayout: layoutArb,
    bLayout: layoutArb,
    scalar: fc.constantFrom('none', 'none', 'none', 'a', 'b'),
    ints: fc.boolean(), // small integers make ties/equalities (and 0/0) common
    dtype: dtypeArb,
    seed: fc.integer(),
  }),
);

describe('binary kernels with broadcasting', () => {
  test.each(BINARY)('%s matches a float64 reference for broadcast pairs, scalars and strided views', (_name, fn, ref) => {
    fc.assert(
      fc.property(pairArb, (p) => {
        const values: Values = p.ints ? { kind: 'ints', lo: -2, hi: 2 } : { kind: 'uniform', scale: 4 };
        const a = makeTensor(p.aShape, p.dtype, p.aLayout, p.seed, values);
        const b = makeTensor(p.bShape, p.dtype, p.bLayout, p.seed + 1, values);
        if (p.scalar === 'a' || p.scalar === 'b') {
          const s = p.ints ? 1 : 0.75;
          const t = p.scalar === 'a' ? b : a;
          const y = p.scalar === 'a' ? fn(s, t) : fn(t, s);
          expect(y.dtype).toBe(p.dtype);
          expectClose(y, (i) => (p.scalar === 'a' ? ref(s, t.get(...i)) : ref(t.get(...i), s)), t.shape, tolFor(p.dtype));
          return;
        }
        const y = fn(a, b);
        const shape = y.shape.slice();
        expect(shape.length).toBe(Math.max(a.rank, b.rank));
        expectClose(y, (i) => ref(a.get(...bcastIndex(i, a.shape)), b.get(...bcastIndex(i, b.shape))), shape, tolFor(p.dtype));
      }),
    );
  });

  test('maximum/minimum propagate NaN; comparisons with NaN are false except notEqual', () => {
    const a = tensor([NaN, 1]);
    const b = tensor([0, NaN]);
    expect(maximum(a, b).toFlatArray().every(Number.isNaN)).toBe(true);
    expect(minimum(a, 0).toFlatArray()[0]).toBeNaN();
    expect(greater(a, b).toFlatArray()).toEqual([0, 0]);
    expect(equal(a, a).toFlatArray()).toEqual([0, 1]);
    expect(notEqual(a, a).toFlatArray()).toEqual([1, 0]);
  });

  test('where broadcasts cond, a and b (numbers too) and picks a where cond ≠ 0', () => {
    const shapesArb = shapeArb().chain((full) => fc.tuple(shrinkArb(full), shrinkArb(full), shrinkArb(full)));
    fc.assert(
      fc.property(shapesArb, dtypeArb, fc.integer(), fc.array(layoutArb, { minLength: 3, maxLength: 3 }), (shapes, dtype, seed, layouts) => {
        const c = makeTensor(shapes[0], dtype, layouts[0], seed, { kind: 'ints', lo: 0, hi: 1 });
        const a = makeTensor(shapes[1], dtype, layouts[1], seed + 1);
        const b = seed % 3 === 0 ? -7 : makeTensor(shapes[2], dtype, layouts[2], seed + 2);
        const y = where(c, a, b);
        expect(y.dtype).toBe(dtype);
        const pick = (i: number[]) => (c.get(...bcastIndex(i, c.shape)) !== 0 ? a.get(...bcastIndex(i, a.shape)) : typeof b === 'number' ? b : b.get(...bcastIndex(i, b.shape)));
        expectClose(y, pick, y.shape, 0);
      }),
    );
    expect(where(tensor([1, 0, 1]), 5, 6).toFlatArray()).toEqual([5, 6, 5]);
  });
});

/** Offsets of the elements a view covers in its storage. */
function covered(t: Tensor): Set<number> {
  const s = new Set<number>();
  for (const idx of allIndices(t.shape)) s.add(t.offset + idx.reduce((o, k, ax) => o + k * t.strides[ax], 0));
  return s;
}

type InPlaceCase = [string, (d: Tensor, s: Tensor) => Tensor, (d: number, s: number) => number];
const IN_PLACE: InPlaceCase[] = [
  ['addInPlace', addInPlace, (d, s) => d + s],
  ['subInPlace', subInPlace, (d, s) => d - s],
  ['mulInPlace', mulInPlace, (d, s) => d * s],
  ['axpyInPlace(·, -0.3, ·)', (d, s) => axpyInPlace(d, -0.3, s), (d, s) => d + -0.3 * s],
  ['copyInto', copyInto, (_d, s) => s],
  ['scaleInPlace(·, 1.5)', (d) => scaleInPlace(d, 1.5), (d) => d * 1.5],
  ['fillInPlace(·, 2)', (d) => fillInPlace(d, 2), () => 2],
  ['clipInPlace(·, -1, 1)', (d) => clipInPlace(d, -1, 1), (d) => Math.min(Math.max(d, -1), 1)],
  ['addInPlace(·, number)', (d) => addInPlace(d, 0.25), (d) => d + 0.25],
];

describe('in-place kernels', () => {
  test.each(IN_PLACE)('%s writes exactly the view of dst (any layout), broadcasting src', (_name, fn, ref) => {
    fc.assert(
      fc.property(shapeArb().chain((full) => fc.tuple(fc.constant(full), shrinkArb(full))), dtypeArb, writableLayoutArb, layoutArb, fc.integer(), ([dShape, sShape], dtype, dl, sl, seed) => {
        const dst = makeTensor(dShape, dtype, dl, seed);
        const src = makeTensor(sShape, dtype, sl, seed + 1);
        const before = dst.data.slice();
        const want = [...allIndices(dShape)].map((i) => ref(dst.get(...i), src.get(...bcastIndex(i, sShape))));
        expect(fn(dst, src)).toBe(dst);
        let k = 0;
        expectClose(dst, () => want[k++], dShape, tolFor(dtype));
        const mine = covered(dst);
        const touched: number[] = [];
        for (let o = 0; o < before.length; o++) if (!mine.has(o) && !Object.is(dst.data[o], before[o])) touched.push(o);
        expect(touched).toEqual([]); // storage outside the view is untouched
      }),
    );
  });

  test('src aliasing dst through another view is read before it is overwritten', () => {
    const x = arange(9, undefined, 1, 'float64').reshape([3, 3]);
    const want = add(x, x.transpose());
    addInPlace(x, x.transpose());
    expect(x.toArray()).toEqual(want.toArray());
    const r = arange(6).reshape([2, 3]);
    copyInto(r, r.slice({ step: -1 }));
    expect(r.toArray()).toEqual([[3, 4, 5], [0, 1, 2]]);
    const g = tensor([1, 2]);
    addInPlace(g, g); // identical view: plain doubling
    expect(g.toFlatArray()).toEqual([2, 4]);
  });
});

describe('argument errors name the op and the offending shapes/values', () => {
  const f32 = zeros([2, 3]);
  const f64 = zeros([2, 3], 'float64');
  test.each([
    ['add', () => add(zeros([2, 3]), zeros([4])), /^add: shapes \[2,3\] and \[4\] cannot be broadcast together/],
    ['greater', () => greater(zeros([2, 3]), zeros([3, 2])), /^greater: shapes \[2,3\] and \[3,2\]/],
    ['mul', () => mul(f32, f64), /^mul: dtype mismatch: float32 \[2,3\] vs float64 \[2,3\]/],
    ['sub', () => sub(1, 2), /^sub: needs at least one Tensor, got two numbers/],
    ['div', () => div(f32, 'x' as unknown as number), /^div: b must be a Tensor or a number, got string/],
    ['exp', () => exp([1, 2] as unknown as Tensor), /^exp: x must be a Tensor, got an array/],
    ['clip', () => clip(f32, 1, -1), /^clip: bounds must satisfy lo ≤ hi, got lo=1, hi=-1/],
    ['pow', () => pow(f32, undefined as unknown as number), /^pow: exponent p must be a number/],
    ['where', () => where(zeros([2]), zeros([3]), 0), /^where: shapes cond \[2\], a \[3\], b \[\] cannot be broadcast together/],
    ['where', () => where(zeros([2]), f32, f64), /^where: dtype mismatch/],
    ['addInPlace', () => addInPlace(zeros([4]), zeros([3, 4])), /^addInPlace: src \[3,4\] does not broadcast to dst \[4\] \(dst cannot grow\)/],
    ['copyInto', () => copyInto(zeros([2, 3]), zeros([2, 1, 3])), /^copyInto: src \[2,1,3\] does not broadcast to dst \[2,3\]/],
    ['axpyInPlace', () => axpyInPlace(f32, 2, f64), /^axpyInPlace: dtype mismatch: float32 \[2,3\] vs float64 \[2,3\]/],
    ['fillInPlace', () => fillInPlace(zeros([1, 3]).broadcastTo([2, 3]), 1), /^fillInPlace: dst \[2,3\] is a broadcast view \(stride 0 on axis 0\)/],
    ['clipInPlace', () => clipInPlace(f32, NaN, 1), /^clipInPlace: bounds must satisfy lo ≤ hi/],
    ['scaleInPlace', () => scaleInPlace(f32, '2' as unknown as number), /^scaleInPlace: s must be a number, got string/],
  ] as [string, () => unknown, RegExp][])('%s', (_op, fn, msg) => {
    expect(fn).toThrow(TensorError);
    expect(fn).toThrow(msg);
  });
});

describe('the harness can fail', () => {
  test('expectClose rejects a 1e-5 relative error in float32 and a wrong broadcast element', () => {
    const x = tensor([1, 2, 3]);
    expect(() => expectClose(x, (i) => x.get(...i) * (1 + 1e-5), [3], tolFor('float32'))).toThrow(/at \[0\]/);
    const a = makeTensor([2, 3], 'float32', 'contig', 1);
    const b = makeTensor([3], 'float32', 'contig', 2);
    expect(() => expectClose(add(a, b), (i) => a.get(...i) + b.get(0), [2, 3], tolFor('float32'))).toThrow();
  });
});
