import { TypedArray } from './dtype';
import { Shape } from './shape';

/**
 * Strided N-d walking, the one loop every non-contiguous kernel shares.
 *
 * `forEachRow` walks all indices of `shape` except the last axis with an odometer and
 * calls `fn(offsets)` once per row, with each operand's element offset at the start of
 * that row; the kernel then runs a tight loop of `shape[rank-1]` elements with each
 * operand's last-axis stride. Rank-0 tensors are one row of one element.
 * Per-row cost is O(rank); per-element cost is the caller's inner loop only.
 */
export function forEachRow(
  shape: Shape,
  strides: readonly (readonly number[])[],
  offsets: readonly number[],
  fn: (rowOffsets: number[]) => void,
): void {
  const rank = shape.length;
  const n = strides.length;
  const cur = offsets.slice();
  if (rank === 0) {
    fn(cur);
    return;
  }
  for (const d of shape) if (d === 0) return;
  const outer = rank - 1;
  const idx = new Array<number>(outer).fill(0);
  for (;;) {
    fn(cur);
    // odometer over axes [0, rank-1)
    let ax = outer - 1;
    for (; ax >= 0; ax--) {
      idx[ax]++;
      for (let k = 0; k < n; k++) cur[k] += strides[k][ax];
      if (idx[ax] < shape[ax]) break;
      for (let k = 0; k < n; k++) cur[k] -= strides[k][ax] * shape[ax];
      idx[ax] = 0;
    }
    if (ax < 0) return;
  }
}

/** dst[view] = src[view] for two strided views of the same shape. */
export function copyStrided(
  shape: Shape,
  src: TypedArray,
  srcOffset: number,
  srcStrides: readonly number[],
  dst: TypedArray,
  dstOffset: number,
  dstStrides: readonly number[],
): void {
  const rank = shape.length;
  const len = rank === 0 ? 1 : shape[rank - 1];
  const ss = rank === 0 ? 0 : srcStrides[rank - 1];
  const ds = rank === 0 ? 0 : dstStrides[rank - 1];
  forEachRow(shape, [srcStrides, dstStrides], [srcOffset, dstOffset], (o) => {
    let s = o[0];
    let d = o[1];
    if (ss === 1 && ds === 1) {
      for (let i = 0; i < len; i++) dst[d + i] = src[s + i];
    } else {
      for (let i = 0; i < len; i++, s += ss, d += ds) dst[d] = src[s];
    }
  });
}
