import fc from 'fast-check';
import ndarray from 'ndarray';
import { Tensor, TensorError, arange, tensor, zeros, Rng, uniform, normal } from '@unfold/tensor';

/** Naive reference: nested arrays of the view, built from get(). */
function naiveNested(t: Tensor): unknown {
  const rec = (prefix: number[]): unknown =>
    prefix.length === t.rank ? t.get(...prefix) : Array.from({ length: t.shape[prefix.length] }, (_, i) => rec([...prefix, i]));
  return rec([]);
}

const shapeArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 4 });

describe('views', () => {
  test('reshape, permute, transpose, slice agree with index arithmetic', () => {
    fc.assert(
      fc.property(shapeArb, fc.integer(), (shape, s) => {
        const n = shape.reduce((a, b) => a * b, 1);
        const t = arange(n).reshape(shape);
        // permutation derived from seed
        const r = new Rng(s);
        const axes = shape.map((_, i) => i).sort(() => r.next() - 0.5);
        const p = t.permute(axes);
        for (let k = 0; k < Math.min(n, 10); k++) {
          const idx = shape.map((d) => r.int(0, d));
          expect(p.get(...axes.map((a) => idx[a]))).toBe(t.get(...idx));
        }
        expect(p.contiguous().toArray()).toEqual(naiveNested(p));
      }),
    );
  });

  test('slices with steps (positive and negative) match Python semantics', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9 }),
        fc.option(fc.integer({ min: -12, max: 12 }), { nil: undefined }),
        fc.option(fc.integer({ min: -12, max: 12 }), { nil: undefined }),
        fc.integer({ min: -3, max: 3 }).filter((x) => x !== 0),
        (n, start, stop, step) => {
          const ref: number[] = [];
          // Python slice.indices
          const norm = (v: number | undefined, d: number, lo: number, hi: number) => (v === undefined ? d : Math.min(Math.max(v < 0 ? v + n : v, lo), hi));
          if (step > 0) for (let i = norm(start, 0, 0, n); i < norm(stop, n, 0, n); i += step) ref.push(i);
          else for (let i = norm(start, n - 1, -1, n - 1); i > norm(stop, -1, -1, n - 1); i += step) ref.push(i);
          expect(arange(n).slice({ start, stop, step }).toFlatArray()).toEqual(ref);
        },
      ),
    );
  });

  test('views share storage; contiguous copies only when needed', () => {
    const t = arange(6).reshape([2, 3]);
    const tt = t.transpose();
    expect(tt.storage).toBe(t.storage);
    expect(tt.isContiguous()).toBe(false);
    expect(tt.contiguous()).not.toBe(tt);
    expect(t.contiguous()).toBe(t);
    t.set(100, 0, 1);
    expect(tt.get(1, 0)).toBe(100);
    expect(tt.toArray()).toEqual([[0, 3], [100, 4], [2, 5]]);
  });

  test('broadcastTo, squeeze, unsqueeze', () => {
    const v = tensor([1, 2, 3]);
    const b = v.broadcastTo([2, 3]);
    expect(b.strides).toEqual([0, 1]);
    expect(b.toArray()).toEqual([[1, 2, 3], [1, 2, 3]]);
    expect(v.unsqueeze(0).shape).toEqual([1, 3]);
    expect(v.unsqueeze(-1).shape).toEqual([3, 1]);
    expect(zeros([1, 3, 1]).squeeze().shape).toEqual([3]);
    expect(() => v.broadcastTo([2, 4])).toThrow('broadcastTo: cannot broadcast [3] to [2,4]');
  });

  test('ndarray round trip without copying', () => {
    const t = arange(12).reshape([3, 4]).slice(null, { step: 2 });
    const nd = t.toNdarray(ndarray);
    expect(nd.get(2, 1)).toBe(t.get(2, 1));
    const plain = t.toNdarray(); // no factory: the plain view, read back the same
    expect(Tensor.fromNdarray(plain).toArray()).toEqual(t.toArray());
    const back = Tensor.fromNdarray(nd);
    expect(back.storage.data).toBe(t.storage.data);
    expect(back.toArray()).toEqual(t.toArray());
  });
});

describe('errors name the op and the values', () => {
  test.each([
    [() => zeros([2, -1]), 'zeros: invalid shape [2,-1]'],
    [() => zeros([2.5]), 'zeros: invalid shape [2.5]'],
    [() => arange(6).reshape([4, 2]), 'reshape: cannot reshape [6] (size 6) into [4,2]'],
    [() => arange(6).reshape([2, 3]).transpose(0, 2), 'transpose: axis 2 is out of range for rank 2'],
    [() => arange(3).slice(5), 'slice: index 5 is out of range for axis 0 of size 3'],
    [() => tensor([[1, 2], [3]]), 'tensor: ragged nested array'],
    [() => tensor([1, 2, 3], [2, 2]), 'tensor: shape [2,2] needs 4 elements, got 3'],
  ])('%#', (f, msg) => {
    expect(f).toThrow(TensorError);
    expect(f).toThrow(msg);
  });

  test('released storage throws instead of reading stale data', () => {
    const t = arange(4);
    t.storage.release();
    expect(() => t.toArray()).toThrow('tensor used after its buffer was released');
  });
});

describe('random', () => {
  test('same seed, same numbers; state round-trips', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(xs);
    const st = a.getState();
    const u = a.next();
    a.setState(st);
    expect(a.next()).toBe(u);
    expect(new Rng(1).nextUint32()).not.toBe(new Rng(2).nextUint32());
  });

  test('xoshiro128** matches the reference implementation (state [1,2,3,4])', () => {
    // First outputs of Vigna's reference C code (xoshiro128starstar.c) from s = {1, 2, 3, 4}.
    const r = new Rng(0);
    r.setState([1, 2, 3, 4]);
    const out = Array.from({ length: 8 }, () => r.nextUint32());
    expect(out).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849]);
  });

  test('uniform and normal moments', () => {
    const rng = new Rng(7);
    const u = uniform([20000], -1, 1, { rng }).toFlatArray();
    const mean = u.reduce((a, b) => a + b, 0) / u.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.min(...u)).toBeGreaterThanOrEqual(-1);
    const z = normal([20000], 0, 1, { rng, dtype: 'float64' }).toFlatArray();
    const zm = z.reduce((a, b) => a + b, 0) / z.length;
    const zv = z.reduce((a, b) => a + (b - zm) ** 2, 0) / z.length;
    expect(Math.abs(zm)).toBeLessThan(0.03);
    expect(Math.abs(zv - 1)).toBeLessThan(0.05);
  });
});

describe('scijs interoperability', () => {
  test('ndarray-ops works on a strided Unfold view in place (no copy)', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ops = require('ndarray-ops') as { addseq: (a: unknown, s: number) => void; sum: (a: unknown) => number };
    const t = arange(12).reshape([3, 4]);
    const view = t.transpose().slice({ step: 2 }); // [2,3]: columns 0 and 2 of t, strided
    ops.addseq(view.toNdarray(ndarray), 100);
    expect(t.toArray()).toEqual([[100, 1, 102, 3], [104, 5, 106, 7], [108, 9, 110, 11]]);
    expect(ops.sum(view.toNdarray(ndarray))).toBe(100 + 102 + 104 + 106 + 108 + 110);
  });
});
