import fc from 'fast-check';
import { DType, Rng, Tensor } from '@unfold/tensor';

/**
 * Shared generators and float64 references for the kernel property tests.
 * A generated tensor has a logical shape and one of several memory layouts, so that every
 * kernel is exercised on contiguous, transposed, stepped, reversed and broadcast views.
 */

export type Layout = 'contig' | 'transpose' | 'step2' | 'neg' | 'negstep' | 'bcast';
export const LAYOUTS: Layout[] = ['contig', 'transpose', 'step2', 'neg', 'negstep', 'bcast'];
export const WRITABLE_LAYOUTS: Layout[] = ['contig', 'transpose', 'step2', 'neg', 'negstep'];

export const dtypeArb = fc.constantFrom<DType>('float32', 'float64');
export const shapeArb = (minRank = 0, maxRank = 4, maxDim = 4): fc.Arbitrary<number[]> =>
  fc.array(fc.integer({ min: 1, max: maxDim }), { minLength: minRank, maxLength: maxRank });

/** Values: uniform in [-scale, scale], or small integers (to make ties and equalities common). */
export type Values = { kind: 'uniform'; scale: number } | { kind: 'ints'; lo: number; hi: number } | { kind: 'positive'; scale: number };

function draw(rng: Rng, v: Values): number {
  switch (v.kind) {
    case 'uniform': return (2 * rng.next() - 1) * v.scale;
    case 'positive': return (rng.next() + 1e-3) * v.scale;
    case 'ints': return rng.int(v.lo, v.hi + 1);
  }
}

/**
 * A tensor of logical `shape` in the given layout. Padding elements outside the view are
 * filled too (with random values), so a kernel that reads the wrong element shows up.
 */
export function makeTensor(shape: readonly number[], dtype: DType, layout: Layout, seed: number, values: Values = { kind: 'uniform', scale: 3 }): Tensor {
  const rng = new Rng(seed);
  const fill = (t: Tensor): Tensor => {
    for (let i = 0; i < t.data.length; i++) t.data[i] = draw(rng, values);
    return t;
  };
  const rank = shape.length;
  switch (layout) {
    case 'contig':
      return fill(Tensor.empty(shape, dtype));
    case 'transpose': {
      const perm = shape.map((_, i) => rank - 1 - i); // reversal is its own inverse
      return fill(Tensor.empty(perm.map((i) => shape[i]), dtype)).permute(perm);
    }
    case 'step2': // start 1, step 2 in a (2d+1)-long axis: d elements, every other one skipped
      return fill(Tensor.empty(shape.map((d) => 2 * d + 1), dtype)).slice(...shape.map(() => ({ start: 1, step: 2 })));
    case 'neg':
      return fill(Tensor.empty(shape, dtype)).slice(...shape.map(() => ({ step: -1 })));
    case 'negstep':
      return fill(Tensor.empty(shape.map((d) => 2 * d), dtype)).slice(...shape.map(() => ({ step: -2 })));
    case 'bcast': {
      // every other axis of size > 1 comes from a size-1 axis (stride 0)
      const base = shape.map((d, i) => (i % 2 === 0 ? 1 : d));
      return fill(Tensor.empty(base, dtype)).broadcastTo(shape);
    }
  }
}

export const layoutArb = fc.constantFrom(...LAYOUTS);
export const writableLayoutArb = fc.constantFrom(...WRITABLE_LAYOUTS);

/** A shape that broadcasts to `full`: some dims knocked to 1, some leading dims dropped. */
export function shrinkArb(full: number[]): fc.Arbitrary<number[]> {
  return fc
    .tuple(fc.array(fc.boolean(), { minLength: full.length, maxLength: full.length }), fc.integer({ min: 0, max: full.length }))
    .map(([knock, drop]) => full.map((d, i) => (knock[i] ? 1 : d)).slice(drop));
}

export function* allIndices(shape: readonly number[]): Generator<number[]> {
  const n = shape.reduce((a, b) => a * b, 1);
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    yield idx.slice();
    for (let ax = shape.length - 1; ax >= 0; ax--) {
      if (++idx[ax] < shape[ax]) break;
      idx[ax] = 0;
    }
  }
}

/** The element of a tensor of shape `from` that broadcasting puts at index idx of a larger shape. */
export function bcastIndex(idx: readonly number[], from: readonly number[]): number[] {
  const lead = idx.length - from.length;
  return from.map((d, i) => (d === 1 ? 0 : idx[lead + i]));
}

/**
 * Tolerances: kernels compute in float64 and round once to the output dtype, and the
 * reference computes the same math in float64 from the same (already rounded) inputs.
 * float32: one rounding is 2^-24 ≈ 6e-8 relative; 1e-6 leaves room for a few roundings
 * (softmax rescales a stored exp; Math.exp/tanh differ by ≤ 1 ulp of a double) while any
 * wrong element (wrong index, op, or stride) is off by O(1) relative. float64: results
 * agree to rounding of the accumulation order, so 1e-12.
 */
export function tolFor(dtype: DType): number {
  return dtype === 'float32' ? 1e-6 : 1e-12;
}

/**
 * |a − e| ≤ tol·(scale + |e|) + floor elementwise, with NaN = NaN and ±∞ exact; throws
 * naming the index. floor is the dtype's smallest normal number: below it the output has
 * no relative precision left (softmax of ±1e3 logits gives e^-2000 → 0).
 */
export function expectClose(actual: Tensor, expected: (idx: number[]) => number, shape: readonly number[], tol: number, scale: (idx: number[]) => number = () => 0): void {
  expect(actual.shape).toEqual(shape);
  const floor = actual.dtype === 'float32' ? 2 ** -126 : 2 ** -1022;
  for (const idx of allIndices(shape)) {
    const a = actual.get(...idx);
    const e = expected(idx);
    const ok = Number.isNaN(e) ? Number.isNaN(a) : !Number.isFinite(e) ? a === e : Math.abs(a - e) <= tol * (scale(idx) + Math.abs(e)) + floor;
    if (!ok) throw new Error(`at [${idx.join(',')}]: got ${a}, expected ${e} (tol ${tol})`);
  }
}
