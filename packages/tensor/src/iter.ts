import { TypedArray } from './dtype';
import { Shape, denseLayout } from './shape';

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

/**
 * dst[view] = src[view] for two strided views of the same shape.
 *
 * Its own odometer rather than forEachRow: a closure made per call and inlined into optimized
 * code is held weakly there, so every major GC would deoptimize the copy and the next calls
 * would box each element as they run unoptimized (measured: 120–150 KiB of heap per inference
 * pass after a GC). Two dense views in different buffers are one block copy.
 */
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
  if (rank === 0) {
    dst[dstOffset] = src[srcOffset];
    return;
  }
  let size = 1;
  for (const d of shape) size *= d;
  if (size === 0) return;
  if (src.buffer !== dst.buffer && denseLayout(shape, srcStrides) && denseLayout(shape, dstStrides)) {
    // (within one buffer `set` would first clone the source)
    dst.set(src.subarray(srcOffset, srcOffset + size), dstOffset);
    return;
  }
  const len = shape[rank - 1];
  const ss = srcStrides[rank - 1];
  const ds = dstStrides[rank - 1];
  const outer = rank - 1;
  const idx = new Array<number>(outer).fill(0);
  let s = srcOffset;
  let d = dstOffset;
  for (;;) {
    if (ss === 1 && ds === 1) {
      for (let i = 0; i < len; i++) dst[d + i] = src[s + i];
    } else {
      for (let i = 0, a = s, b = d; i < len; i++, a += ss, b += ds) dst[b] = src[a];
    }
    // odometer over axes [0, rank-1)
    let ax = outer - 1;
    for (; ax >= 0; ax--) {
      idx[ax]++;
      s += srcStrides[ax];
      d += dstStrides[ax];
      if (idx[ax] < shape[ax]) break;
      s -= srcStrides[ax] * shape[ax];
      d -= dstStrides[ax] * shape[ax];
      idx[ax] = 0;
    }
    if (ax < 0) return;
  }
}
