import fc from 'fast-check';
import { Tensor } from '@unfold/tensor';

/** Shapes of rank lo…hi with dims 1…maxDim (size-1 dims included on purpose). */
export const arbShape = (lo = 0, hi = 3, maxDim = 4): fc.Arbitrary<number[]> =>
  fc.array(fc.integer({ min: 1, max: maxDim }), { minLength: lo, maxLength: hi });

/** A pair of shapes that broadcast: b is a with some dims set to 1 and some leading dims dropped. */
export const arbBroadcastPair = (): fc.Arbitrary<[number[], number[]]> =>
  arbShape(0, 3).chain((a) =>
    fc.tuple(fc.array(fc.boolean(), { minLength: a.length, maxLength: a.length }), fc.integer({ min: 0, max: a.length }), fc.boolean()).map(([ones, drop, swap]) => {
      const b = a.map((d, i) => (ones[i] ? 1 : d)).slice(drop);
      return swap ? [b, a] : [a, b];
    }),
  );

export interface ValueOpts {
  min?: number;
  max?: number;
  /** Keep values at least this far from each of these points (kinks of relu/abs/clip). */
  awayFrom?: number[];
  gap?: number;
}

/** A float64 tensor of the given shape with fast-check-generated values. */
export function arbTensor(shape: number[], o: ValueOpts = {}): fc.Arbitrary<Tensor> {
  const n = shape.reduce((a, b) => a * b, 1);
  const min = o.min ?? -2;
  const max = o.max ?? 2;
  return fc.array(fc.double({ min, max, noNaN: true, noDefaultInfinity: true }), { minLength: n, maxLength: n }).map((vals) => {
    const gap = o.gap ?? 0.05;
    const v = vals.map((x) => {
      for (const k of o.awayFrom ?? []) if (Math.abs(x - k) < gap) x = k + (x >= k ? gap : -gap);
      return x;
    });
    return Tensor.fromArray(Float64Array.from(v), shape);
  });
}

/**
 * Tensors whose values are pairwise ≥ 0.01 apart (drawn without replacement from a grid in
 * [−2, 2]), for ops that are not differentiable at ties (max, maximum, minimum): every shape is
 * reachable, instead of filtering random draws (which rejected all but the smallest tensors).
 */
export function arbDistinctTensors(shapes: number[][]): fc.Arbitrary<Tensor[]> {
  const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
  const total = sizes.reduce((a, b) => a + b, 0);
  const grid = Array.from({ length: 400 }, (_, i) => -2 + 0.01 * i + 0.003);
  return fc.shuffledSubarray(grid, { minLength: total, maxLength: total }).map((v) => {
    let at = 0;
    return shapes.map((s, k) => {
      const t = Tensor.fromArray(Float64Array.from(v.slice(at, at + sizes[k])), s);
      at += sizes[k];
      return t;
    });
  });
}
