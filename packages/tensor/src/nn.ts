import { DType, TypedArray, isDType } from './dtype';
import { TensorError, shapeStr } from './errors';
import { copyStrided, forEachRow } from './iter';
import { checkSameDType, checkTensor, checkWritable, coalesce, readIndices } from './operands';
import { expWasm } from './wasm/gate-kernels';
import { contiguousStrides, normAxis, sameShape, sizeOf } from './shape';
import { Tensor } from './tensor';

/**
 * Softmax family, one-hot and embedding rows. Concat/stack/split live in join.ts.
 */

// One row of n elements along the softmax axis: X[x + i·xs] → O[o + i·os].
// y = e^(x−m) / Σ e^(x−m), m = max: exponents ≤ 0, the largest term is 1, so Σ ≥ 1 and
// neither overflow nor 0/0 can happen for finite rows (±1e3 included). e^(x−m) is stored
// and then rescaled, i.e. rounded twice in float32: ≤ 2 ulp, inside the tests' tolerance.
function softmaxRow(n: number, X: TypedArray, x: number, xs: number, O: TypedArray, o: number, os: number): void {
  let m = -Infinity;
  for (let i = 0; i < n; i++) m = Math.max(m, X[x + i * xs]);
  let s = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp(X[x + i * xs] - m);
    O[o + i * os] = e;
    s += e;
  }
  const inv = 1 / s;
  for (let i = 0; i < n; i++) O[o + i * os] *= inv;
}

// log softmax = (x − m) − log Σ e^(x−m): the subtraction is done before any rounding to
// float32, so large equal logits (1e3, 1e3) give exactly −log 2, not 1e3 − (1e3 + log 2).
function logSoftmaxRow(n: number, X: TypedArray, x: number, xs: number, O: TypedArray, o: number, os: number): void {
  let m = -Infinity;
  for (let i = 0; i < n; i++) m = Math.max(m, X[x + i * xs]);
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(X[x + i * xs] - m);
  const ls = Math.log(s);
  for (let i = 0; i < n; i++) O[o + i * os] = X[x + i * xs] - m - ls;
}

/**
 * logSoftmaxRow over `rows` contiguous float32 rows with the exponentials on the wasm vector
 * exp: O ← x − max (per row), e ← exp(O) in one call, then O −= log Σ e. Same formula and
 * float32 result within an ulp or two; false (nothing done) when wasm is not in use.
 */
function logSoftmaxRowsWasm(rows: number, n: number, X: Float32Array, x: number, O: Float32Array): boolean {
  if (rows * n < 256 || n > EXP_ROWS_FLOATS) return false;
  // Blocks of whole rows, so the exponentials' scratch stays bounded (and in cache).
  const per = Math.max(1, Math.floor(EXP_ROWS_FLOATS / n));
  if (expScratch.length < per * n) expScratch = new Float32Array(per * n);
  for (let r0 = 0; r0 < rows; r0 += per) {
    const r1 = Math.min(rows, r0 + per);
    for (let r = r0; r < r1; r++) {
      const b = x + r * n, o = r * n;
      let m = -Infinity;
      for (let i = 0; i < n; i++) m = Math.max(m, X[b + i]);
      for (let i = 0; i < n; i++) O[o + i] = X[b + i] - m;
    }
    if (!expWasm(O, r0 * n, expScratch, 0, (r1 - r0) * n)) return false;
    for (let r = r0; r < r1; r++) {
      const o = r * n, e = (r - r0) * n;
      let s = 0;
      for (let i = 0; i < n; i++) s += expScratch[e + i];
      const ls = Math.log(s);
      for (let i = 0; i < n; i++) O[o + i] -= ls;
    }
  }
  return true;
}
const EXP_ROWS_FLOATS = 1 << 16;
let expScratch = new Float32Array(0);

type RowFn = typeof softmaxRow;

/** Runs `row` over every 1-D slice along `axis`. A row of all −∞ (or containing +∞ or NaN) gives NaN, as in PyTorch. */
function alongAxis(op: string, x: Tensor, axis: number, row: RowFn): Tensor {
  checkTensor(op, x, 'x');
  if (x.rank === 0) throw new TensorError(op, 'needs at least one axis, got a rank-0 tensor');
  const ax = normAxis(op, axis, x.rank);
  const out = Tensor.empty(x.shape, x.dtype);
  const X = x.data, O = out.data;
  const n = x.shape[ax];
  if (ax === x.rank - 1 && x.isContiguous()) {
    // [rows, n] contiguous: the per-time-step [B, V] logits case.
    if (row === logSoftmaxRow && X instanceof Float32Array && logSoftmaxRowsWasm(out.size / Math.max(n, 1), n, X, x.offset, O as Float32Array)) return out;
    for (let r = 0, rows = out.size / Math.max(n, 1); r < rows; r++) row(n, X, x.offset + r * n, 1, O, r * n, 1);
    return out;
  }
  const perm = [...x.shape.map((_, i) => i).filter((i) => i !== ax), ax];
  const xv = x.permute(perm);
  const ov = out.permute(perm);
  const xs = xv.strides[xv.rank - 1], os = ov.strides[ov.rank - 1];
  forEachRow(xv.shape, [xv.strides, ov.strides], [x.offset, 0], (o) => row(n, X, o[0], xs, O, o[1], os));
  return out;
}

/** softmax along `axis` (default last). */
export function softmax(x: Tensor, axis = -1): Tensor {
  return alongAxis('softmax', x, axis, softmaxRow);
}

/** log softmax along `axis` (default last), computed directly (never log(softmax)). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return alongAxis('logSoftmax', x, axis, logSoftmaxRow);
}

/** indices [...S] → [...S, depth] with a 1 at each index. Indices must be integers in [0, depth). */
export function oneHot(indices: Tensor | ArrayLike<number>, depth: number, dtype: DType = 'float32'): Tensor {
  if (typeof depth !== 'number' || !Number.isInteger(depth) || depth < 1) {
    throw new TensorError('oneHot', `depth must be a positive integer, got ${String(depth)}`);
  }
  if (!isDType(dtype)) throw new TensorError('oneHot', `unknown dtype ${String(dtype)} (expected float32 or float64)`);
  const { idx, shape } = readIndices('oneHot', indices, depth, `depth ${depth}`);
  const out = Tensor.empty([...shape, depth], dtype);
  const O = out.data;
  for (let i = 0; i < idx.length; i++) O[i * depth + idx[i]] = 1;
  return out;
}

function checkTable(op: string, t: Tensor, name: string): void {
  checkTensor(op, t, name);
  if (t.rank === 0) throw new TensorError(op, `${name} must have at least one axis (rows), got a rank-0 tensor`);
}

/**
 * Embedding lookup: rows of table along axis 0.
 * table:[N, ...R], indices:[...S] (a plain/typed array is 1-D) → [...S, ...R].
 */
export function gather(table: Tensor, indices: Tensor | ArrayLike<number>): Tensor {
  checkTable('gather', table, 'table');
  const rows = table.shape[0];
  const { idx, shape } = readIndices('gather', indices, rows, `table ${shapeStr(table.shape)} with ${rows} rows`);
  const rowShape = table.shape.slice(1);
  const rowSize = sizeOf(rowShape);
  const out = Tensor.empty([...shape, ...rowShape], table.dtype);
  const T = table.data, O = out.data;
  const t0 = table.offset, ts = table.strides[0];
  if (table.isContiguous() && rowSize >= 32) {
    // Long rows: one memcpy each (`set` of a subarray beats an element loop from ~32 floats).
    for (let i = 0; i < idx.length; i++) {
      const t = t0 + idx[i] * ts;
      O.set(T.subarray(t, t + rowSize), i * rowSize);
    }
  } else if (table.isContiguous()) {
    for (let i = 0; i < idx.length; i++) {
      const t = t0 + idx[i] * ts, o = i * rowSize;
      for (let j = 0; j < rowSize; j++) O[o + j] = T[t + j];
    }
  } else {
    const rowStrides = table.strides.slice(1);
    const outRowStrides = contiguousStrides(rowShape);
    for (let i = 0; i < idx.length; i++) copyStrided(rowShape, T, t0 + idx[i] * ts, rowStrides, O, i * rowSize, outRowStrides);
  }
  return out;
}

/**
 * dst[indices[i]] += src[i], row by row, in place (repeated indices accumulate): the adjoint
 * of gather. dst:[N, ...R], indices:[...S], src:[...S, ...R] (or the index axes flattened,
 * [|S|, ...R]). Returns dst.
 */
export function scatterAdd(dst: Tensor, indices: Tensor | ArrayLike<number>, src: Tensor): Tensor {
  checkTable('scatterAdd', dst, 'dst');
  checkTensor('scatterAdd', src, 'src');
  checkSameDType('scatterAdd', dst, src);
  checkWritable('scatterAdd', dst);
  const rows = dst.shape[0];
  const { idx, shape } = readIndices('scatterAdd', indices, rows, `dst ${shapeStr(dst.shape)} with ${rows} rows`);
  const rowShape = dst.shape.slice(1);
  // src:[...S', ...R] with |S'| = |S|: the index axes may come flattened (dy.reshape([-1, ...R])).
  const lead = src.rank - rowShape.length;
  if (lead < 0 || !sameShape(src.shape.slice(lead), rowShape) || sizeOf(src.shape.slice(0, lead)) !== idx.length) {
    const want = [...shape, ...rowShape];
    throw new TensorError('scatterAdd', `src ${shapeStr(src.shape)} must be ${shapeStr(want)} (indices ${shapeStr(shape)} then rows ${shapeStr(rowShape)} of dst ${shapeStr(dst.shape)})`);
  }
  // A contiguous private copy of src: also breaks any aliasing with dst.
  const S = src.storage === dst.storage || !src.isContiguous() ? src.toTypedArray() : src.data;
  const s0 = S === src.data ? src.offset : 0;
  const rowSize = sizeOf(rowShape);
  const D = dst.data;
  const c = coalesce(rowShape, [dst.strides.slice(1), contiguousStrides(rowShape)]);
  const r = c.shape.length;
  const n = r === 0 ? 1 : c.shape[r - 1];
  const ds = r === 0 ? 0 : c.strides[0][r - 1];
  const d0 = dst.offset, rs = dst.strides[0];
  if (r <= 1 && ds === 1) {
    // Unit-stride rows (the embedding and one-hot adjoints): the tight loop V8 compiles best.
    for (let i = 0; i < idx.length; i++) {
      const d = d0 + idx[i] * rs, s = s0 + i * rowSize;
      for (let j = 0; j < n; j++) D[d + j] += S[s + j];
    }
    return dst;
  }
  for (let i = 0; i < idx.length; i++) {
    const d = d0 + idx[i] * rs, s = s0 + i * rowSize;
    if (r <= 1) {
      for (let j = 0; j < n; j++) D[d + j * ds] += S[s + j];
    } else {
      forEachRow(c.shape, c.strides, [d, s], (o) => {
        for (let j = 0; j < n; j++) D[o[0] + j * ds] += S[o[1] + j];
      });
    }
  }
  return dst;
}
