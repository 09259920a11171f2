import { TensorError, shapeStr } from './errors';

export type Shape = readonly number[];

/** Rejects non-integer, negative or non-finite dimensions, naming the op. */
export function checkShape(op: string, shape: readonly number[]): number[] {
  if (!Array.isArray(shape)) throw new TensorError(op, `shape must be an array of integers, got ${String(shape)}`);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new TensorError(op, `invalid shape ${shapeStr(shape)}: dimensions must be non-negative integers, got ${String(d)}`);
    }
  }
  return shape.slice();
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C order) strides: the last axis is contiguous. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** Normalises a possibly negative axis into [0, rank), or throws naming the op. */
export function normAxis(op: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new TensorError(op, `axis ${axis} is out of range for rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Normalises a list of axes (undefined = all), rejecting duplicates. Returns them sorted. */
export function normAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = list.map((a) => normAxis(op, a, rank));
  if (new Set(out).size !== out.length) throw new TensorError(op, `repeated axis in [${list.join(',')}]`);
  return out.sort((a, b) => a - b);
}

/**
 * NumPy broadcasting: align shapes on the right; each pair of dimensions must be equal
 * or one of them 1. Anything else is an error naming both shapes (never a silent guess).
 */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
    if (da !== db && da !== 1 && db !== 1) {
      throw new TensorError(op, `shapes ${shapeStr(a)} and ${shapeStr(b)} cannot be broadcast together (axis ${i}: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether a view of `shape` with `strides` is row-major dense (size-1 axes ignored): Tensor.isContiguous. */
export function denseLayout(shape: Shape, strides: readonly number[]): boolean {
  let expect = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] === 1) continue;
    if (strides[i] !== expect) return false;
    expect *= shape[i];
  }
  return true;
}
