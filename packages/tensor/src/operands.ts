import { DType } from './dtype';
import { TensorError, shapeStr } from './errors';
import { Shape } from './shape';
import { Tensor } from './tensor';

/**
 * Argument checks and stride plumbing shared by the elementwise, in-place, reduction and
 * NN kernels. Nothing here loops over elements.
 */

export function checkTensor(op: string, x: unknown, name = 'argument'): Tensor {
  if (!(x instanceof Tensor)) throw new TensorError(op, `${name} must be a Tensor, got ${describe(x)}`);
  return x;
}

export function checkNumber(op: string, v: unknown, name: string): number {
  if (typeof v !== 'number') throw new TensorError(op, `${name} must be a number, got ${describe(v)}`);
  return v;
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  return typeof x === 'object' ? (x as object).constructor?.name ?? 'object' : typeof x;
}

/** Mixed float32/float64 operands are an error, never a silent cast. */
export function checkSameDType(op: string, a: Tensor, b: Tensor): DType {
  if (a.dtype !== b.dtype) {
    throw new TensorError(op, `dtype mismatch: ${a.dtype} ${shapeStr(a.shape)} vs ${b.dtype} ${shapeStr(b.shape)} (cast one with astype)`);
  }
  return a.dtype;
}

/**
 * Strides that read `t` as if broadcast to `shape` (right-aligned, stride 0 on new or
 * size-1 axes). The caller has already checked that t.shape broadcasts to shape.
 */
export function broadcastStrides(t: Tensor, shape: Shape): number[] {
  const lead = shape.length - t.rank;
  const out = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < t.rank; i++) out[lead + i] = t.shape[i] === 1 ? 0 : t.strides[i];
  return out;
}

/**
 * Merges adjacent axes that every operand walks as one (stride[i] = stride[i+1]·shape[i+1])
 * and drops size-1 axes, so a contiguous [32,4,8] + [32,4,8] is one row of 1024 and a
 * [32,128] + [128] bias stays two axes. Fewer, longer rows mean less odometer work per
 * element in forEachRow.
 */
export function coalesce(shape: Shape, strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let ax = 0; ax < shape.length; ax++) {
    const d = shape[ax];
    if (d === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k][last] === s[ax] * d)) {
      outShape[last] *= d;
      for (let k = 0; k < strides.length; k++) outStrides[k][last] = strides[k][ax];
    } else {
      outShape.push(d);
      for (let k = 0; k < strides.length; k++) outStrides[k].push(strides[k][ax]);
    }
  }
  return { shape: outShape, strides: outStrides };
}

/** A destination must not be a broadcast view: a stride-0 axis of size > 1 would write one element many times. */
export function checkWritable(op: string, dst: Tensor): void {
  for (let i = 0; i < dst.rank; i++) {
    if (dst.strides[i] === 0 && dst.shape[i] > 1) {
      throw new TensorError(op, `dst ${shapeStr(dst.shape)} is a broadcast view (stride 0 on axis ${i}) and cannot be written`);
    }
  }
}

/** Integer indices in [0, bound), from a tensor (any layout) or a plain/typed array (1-D). */
export function readIndices(op: string, indices: Tensor | ArrayLike<number>, bound: number, what: string): { idx: Int32Array; shape: number[] } {
  let flat: ArrayLike<number>;
  let shape: number[];
  if (indices instanceof Tensor) {
    flat = indices.toTypedArray();
    shape = indices.shape.slice();
  } else if (indices !== null && typeof indices === 'object' && typeof (indices as ArrayLike<number>).length === 'number') {
    flat = indices;
    shape = [indices.length];
  } else {
    throw new TensorError(op, `indices must be a Tensor or an array of integers, got ${describe(indices)}`);
  }
  const idx = new Int32Array(flat.length);
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new TensorError(op, `index ${String(v)} at position ${i} is not an integer`);
    if (v < 0 || v >= bound) throw new TensorError(op, `index ${v} at position ${i} is out of range [0, ${bound}) for ${what}`);
    idx[i] = v;
  }
  return { idx, shape };
}
