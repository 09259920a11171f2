import { TypedArray } from './dtype';
import { TensorError, shapeStr } from './errors';
import { forEachRow } from './iter';
import { checkClipBounds } from './elementwise';
import { broadcastStrides, checkNumber, checkSameDType, checkTensor, checkWritable, coalesce } from './operands';
import { sameShape } from './shape';
import { Tensor } from './tensor';

/**
 * In-place kernels for optimizers and gradient accumulation. dst may be any strided view
 * except a broadcast one; src is broadcast to dst's shape (never the other way: dst does
 * not grow). If src shares dst's storage through a different view (e.g. dst += dstᵀ), src
 * is copied first so the result does not depend on the walk order. Each returns dst.
 */

const ADD = 0, SUB = 1, MUL = 2, AXPY = 3, COPY = 4;
const SCALE = 5, FILL = 6, CLIP = 7, ADDS = 8;

// dst[d + i·ds] ∘= src[s + i·ss]; the unit-stride forms are what contiguous operands run.
function tensorRow(op: number, n: number, D: TypedArray, d: number, ds: number, S: TypedArray, s: number, ss: number, alpha: number): void {
  const unit = ds === 1 && ss === 1;
  switch (op) {
    case ADD:
      if (unit) for (let i = 0; i < n; i++) D[d + i] += S[s + i];
      else for (let i = 0; i < n; i++) D[d + i * ds] += S[s + i * ss];
      break;
    case SUB:
      if (unit) for (let i = 0; i < n; i++) D[d + i] -= S[s + i];
      else for (let i = 0; i < n; i++) D[d + i * ds] -= S[s + i * ss];
      break;
    case MUL:
      if (unit) for (let i = 0; i < n; i++) D[d + i] *= S[s + i];
      else for (let i = 0; i < n; i++) D[d + i * ds] *= S[s + i * ss];
      break;
    case AXPY:
      if (unit) for (let i = 0; i < n; i++) D[d + i] += alpha * S[s + i];
      else for (let i = 0; i < n; i++) D[d + i * ds] += alpha * S[s + i * ss];
      break;
    case COPY:
      if (unit) for (let i = 0; i < n; i++) D[d + i] = S[s + i];
      else for (let i = 0; i < n; i++) D[d + i * ds] = S[s + i * ss];
      break;
  }
}

function numberRow(op: number, n: number, D: TypedArray, d: number, ds: number, v: number, w: number): void {
  switch (op) {
    case SCALE:
      if (ds === 1) for (let i = 0; i < n; i++) D[d + i] *= v;
      else for (let i = 0; i < n; i++) D[d + i * ds] *= v;
      break;
    case ADDS:
      if (ds === 1) for (let i = 0; i < n; i++) D[d + i] += v;
      else for (let i = 0; i < n; i++) D[d + i * ds] += v;
      break;
    case FILL:
      if (ds === 1) D.fill(v, d, d + n);
      else for (let i = 0; i < n; i++) D[d + i * ds] = v;
      break;
    case CLIP:
      for (let i = 0; i < n; i++) {
        const x = D[d + i * ds];
        D[d + i * ds] = x < v ? v : x > w ? w : x;
      }
      break;
  }
}

function withTensor(op: number, name: string, dst: Tensor, src: Tensor, alpha = 0): Tensor {
  checkTensor(name, dst, 'dst');
  checkTensor(name, src, 'src');
  checkSameDType(name, dst, src);
  checkWritable(name, dst);
  const lead = dst.rank - src.rank;
  if (lead < 0 || src.shape.some((d, i) => d !== 1 && d !== dst.shape[lead + i])) {
    throw new TensorError(name, `src ${shapeStr(src.shape)} does not broadcast to dst ${shapeStr(dst.shape)} (dst cannot grow)`);
  }
  if (src.storage === dst.storage && !(src.offset === dst.offset && sameShape(src.shape, dst.shape) && sameShape(src.strides, dst.strides))) {
    src = src.clone();
  }
  const D = dst.data, S = src.data;
  if (sameShape(src.shape, dst.shape) && dst.isContiguous() && src.isContiguous()) {
    tensorRow(op, dst.size, D, dst.offset, 1, S, src.offset, 1, alpha);
    return dst;
  }
  const c = coalesce(dst.shape, [dst.strides, broadcastStrides(src, dst.shape)]);
  const r = c.shape.length;
  const n = r === 0 ? 1 : c.shape[r - 1];
  const ds = r === 0 ? 0 : c.strides[0][r - 1];
  const ss = r === 0 ? 0 : c.strides[1][r - 1];
  forEachRow(c.shape, c.strides, [dst.offset, src.offset], (o) => tensorRow(op, n, D, o[0], ds, S, o[1], ss, alpha));
  return dst;
}

function withNumber(op: number, name: string, dst: Tensor, v: number, w = 0): Tensor {
  checkTensor(name, dst, 'dst');
  checkWritable(name, dst);
  const D = dst.data;
  if (dst.isContiguous()) {
    numberRow(op, dst.size, D, dst.offset, 1, v, w);
    return dst;
  }
  const c = coalesce(dst.shape, [dst.strides]);
  const r = c.shape.length;
  const n = r === 0 ? 1 : c.shape[r - 1];
  const ds = r === 0 ? 0 : c.strides[0][r - 1];
  forEachRow(c.shape, c.strides, [dst.offset], (o) => numberRow(op, n, D, o[0], ds, v, w));
  return dst;
}

/** dst += src (a number adds to every element). */
export function addInPlace(dst: Tensor, src: Tensor | number): Tensor {
  return typeof src === 'number' ? withNumber(ADDS, 'addInPlace', dst, src) : withTensor(ADD, 'addInPlace', dst, src);
}

/** dst -= src. */
export function subInPlace(dst: Tensor, src: Tensor | number): Tensor {
  return typeof src === 'number' ? withNumber(ADDS, 'subInPlace', dst, -src) : withTensor(SUB, 'subInPlace', dst, src);
}

/** dst *= src. */
export function mulInPlace(dst: Tensor, src: Tensor | number): Tensor {
  return typeof src === 'number' ? withNumber(SCALE, 'mulInPlace', dst, src) : withTensor(MUL, 'mulInPlace', dst, src);
}

/** dst *= s. */
export function scaleInPlace(dst: Tensor, s: number): Tensor {
  return withNumber(SCALE, 'scaleInPlace', dst, checkNumber('scaleInPlace', s, 's'));
}

/** dst += α·x (BLAS axpy): SGD's `W -= lr·dW` is axpyInPlace(W, -lr, dW). */
export function axpyInPlace(dst: Tensor, alpha: number, x: Tensor): Tensor {
  return withTensor(AXPY, 'axpyInPlace', dst, x, checkNumber('axpyInPlace', alpha, 'alpha'));
}

/** dst[…] = v. */
export function fillInPlace(dst: Tensor, v: number): Tensor {
  return withNumber(FILL, 'fillInPlace', dst, checkNumber('fillInPlace', v, 'v'));
}

/** dst[…] = src (broadcast). Same dtype only: use astype to convert first. */
export function copyInto(dst: Tensor, src: Tensor): Tensor {
  return withTensor(COPY, 'copyInto', dst, src);
}

/** dst = min(max(dst, lo), hi); NaN stays NaN. */
export function clipInPlace(dst: Tensor, lo: number, hi: number): Tensor {
  checkClipBounds('clipInPlace', lo, hi);
  return withNumber(CLIP, 'clipInPlace', dst, lo, hi);
}
