// Shared by the reductions (sum.ts, max.ts).
export interface ReduceAttrs {
  axes: number[]; // normalised, sorted
  keepDims: boolean;
}

/** The reduced shape with kept (size-1) axes, so dy broadcasts back over the input. */
export function keptShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

