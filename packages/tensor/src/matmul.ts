import { TensorError, shapeStr } from './errors';
import { gemmStrided } from './gemm';
import { forEachRow } from './iter';
import { Tensor } from './tensor';
import { withPackedB } from './wasm/backend';

export { gemmArrays, gemmStrided } from './gemm';

export interface MatmulOptions {
  /** Use the transpose of a's last two axes. */
  transA?: boolean;
  /** Use the transpose of b's last two axes. */
  transB?: boolean;
}

export interface GemmOptions extends MatmulOptions {
  alpha?: number;
  beta?: number;
}

/**
 * One operand's matrix view: op(X)[i,j] = data[off + i·rs + j·cs]. The last two axes'
 * strides, swapped under trans, so a transpose (flag or view) costs nothing, and stepped,
 * reversed or broadcast views are read in place by the packing stage of `gemmStrided`.
 */
interface MatView {
  rows: number;
  cols: number;
  rs: number;
  cs: number;
}

function matView(t: Tensor, trans: boolean): MatView {
  const r = t.rank;
  const v = { rows: t.shape[r - 2], cols: t.shape[r - 1], rs: t.strides[r - 2], cs: t.strides[r - 1] };
  return trans ? { rows: v.cols, cols: v.rows, rs: v.cs, cs: v.rs } : v;
}

const opStr = (t: Tensor, trans: boolean | undefined): string => shapeStr(t.shape) + (trans ? 'ᵀ' : '');

/** Shared checks; returns op(A) and op(B) views with their inner dimensions verified. */
function checkOperands(op: string, a: Tensor, b: Tensor, o: MatmulOptions): [MatView, MatView, string] {
  const pair = `${opStr(a, o.transA)} × ${opStr(b, o.transB)}`;
  if (a.rank < 2 || b.rank < 2) {
    throw new TensorError(op, `${pair}: operands need rank ≥ 2, got ranks ${a.rank} and ${b.rank} (unsqueeze a vector first)`);
  }
  if (a.dtype !== b.dtype) throw new TensorError(op, `${pair}: dtype mismatch ${a.dtype} vs ${b.dtype}`);
  const va = matView(a, !!o.transA);
  const vb = matView(b, !!o.transB);
  if (va.cols !== vb.rows) throw new TensorError(op, `${pair}: inner dimensions ${va.cols} ≠ ${vb.rows}`);
  return [va, vb, pair];
}

/**
 * Matrix product over the last two axes: a:[…,M,K] × b:[…,K,N] → […,M,N], with NumPy
 * broadcasting of the leading (batch) axes; a rank-2 operand is shared by every batch entry.
 * transA/transB use [K,M] / [N,K] operands as their transposes, without copying.
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const [va, vb, pair] = checkOperands('matmul', a, b, opts);
  const M = va.rows;
  const K = va.cols;
  const N = vb.cols;
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const batch = broadcastBatch(pair, batchA, batchB);
  const out = Tensor.empty([...batch, M, N], a.dtype);
  const C = out.data;

  // a:[…,M,K] × b:[K,N] with the batch and row axes of op(A) mergeable into one stride
  // (e.g. a contiguous x:[T,B,I] against W:[I,H]): a single [T·B, K] × [K,N] product,
  // far better tiled than T small ones.
  if (batch.length > 0 && batchB.every((_, i) => b.strides[i] === 0 || b.shape[i] === 1)) {
    const rs = mergedRowStride(a, batchA.length, va);
    if (rs !== null) {
      gemmStrided(out.size / N, N, K, 1, a.data, a.offset, rs, va.cs, b.data, b.offset, vb.rs, vb.cs, 0, C, 0, N, 1);
      return out;
    }
  }

  // Walk the batch as "rows" of shape [...batch, 1]; every operand gets its batch strides
  // right-aligned, with stride 0 on broadcast axes, so one offset triple per product.
  const sa = batchStrides(a, batch);
  const sb = batchStrides(b, batch);
  const sc = out.strides.slice(0, -2);
  forEachRow([...batch, 1], [[...sa, 0], [...sb, 0], [...sc, 0]], [a.offset, b.offset, 0], (o) => {
    gemmStrided(M, N, K, 1, a.data, o[0], va.rs, va.cs, b.data, o[1], vb.rs, vb.cs, 0, C, o[2], N, 1);
  });
  return out;
}

/**
 * In place, 2-D: c ← alpha·op(a)·op(b) + beta·c, returning c. Defaults alpha = 1, beta = 1,
 * i.e. accumulate (dW += xᵀ·dy in a backward pass); beta = 0 overwrites c, NaN included.
 * c may be any strided view; if it shares memory with a or b, those are copied first.
 */
export function gemm(a: Tensor, b: Tensor, c: Tensor, opts: GemmOptions = {}): Tensor {
  const [va, vb, pair] = checkOperands('gemm', a, b, opts);
  if (a.rank !== 2 || b.rank !== 2 || c.rank !== 2) {
    throw new TensorError('gemm', `${pair} → ${shapeStr(c.shape)}: gemm is 2-D only (use matmul for batches)`);
  }
  if (c.dtype !== a.dtype) throw new TensorError('gemm', `${pair} → ${shapeStr(c.shape)}: dtype mismatch ${a.dtype} vs output ${c.dtype}`);
  if (c.shape[0] !== va.rows || c.shape[1] !== vb.cols) {
    throw new TensorError('gemm', `${pair} → ${shapeStr(c.shape)}: output must be [${va.rows},${vb.cols}]`);
  }
  const alpha = opts.alpha ?? 1;
  const beta = opts.beta ?? 1;
  // Packing reads A and B slice by slice while C is already being written: aliasing would
  // feed partial results back in, so overlapping inputs are copied (rare; never in the RNN path).
  if (overlaps(a, c)) a = a.clone();
  if (overlaps(b, c)) b = b.clone();
  const A = matView(a, !!opts.transA);
  const B = matView(b, !!opts.transB);
  gemmStrided(A.rows, B.cols, A.cols, alpha, a.data, a.offset, A.rs, A.cs, b.data, b.offset, B.rs, B.cs, beta, c.data, c.offset, c.strides[0], c.strides[1]);
  return c;
}

/** NumPy broadcasting of the batch axes, with the error naming both full operand shapes. */
function broadcastBatch(pair: string, x: readonly number[], y: readonly number[]): number[] {
  const rank = Math.max(x.length, y.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const dx = x[i - (rank - x.length)] ?? 1;
    const dy = y[i - (rank - y.length)] ?? 1;
    if (dx !== dy && dx !== 1 && dy !== 1) {
      throw new TensorError('matmul', `${pair}: batch dimensions ${shapeStr(x)} and ${shapeStr(y)} cannot be broadcast (${dx} vs ${dy})`);
    }
    out.push(dx === 1 ? dy : dx);
  }
  return out;
}

/** t's batch-axis strides right-aligned to `batch`, 0 where t is broadcast (missing or size 1). */
function batchStrides(t: Tensor, batch: readonly number[]): number[] {
  const lead = batch.length - (t.rank - 2);
  return batch.map((d, i) => (i < lead || t.shape[i - lead] === 1 ? 0 : t.strides[i - lead]));
}

/**
 * If op(A)'s batch axes and row axis are one arithmetic progression, the stride of the
 * merged [batch·M] row axis, else null: each axis' stride must equal the next (inner)
 * axis' stride × size, skipping size-1 axes, whose stride never matters.
 */
function mergedRowStride(a: Tensor, nBatch: number, va: MatView): number | null {
  const dims: [number, number][] = []; // [size, stride], outermost first
  for (let i = 0; i < nBatch; i++) if (a.shape[i] !== 1) dims.push([a.shape[i], a.strides[i]]);
  if (va.rows !== 1) dims.push([va.rows, va.rs]);
  for (let i = 0; i + 1 < dims.length; i++) {
    if (dims[i][1] !== dims[i + 1][1] * dims[i + 1][0]) return null;
  }
  return dims.length > 0 ? dims[dims.length - 1][1] : va.rs;
}

/** Whether two views' address ranges on the same storage intersect (conservative). */
function overlaps(x: Tensor, y: Tensor): boolean {
  if (x.storage !== y.storage || x.size === 0 || y.size === 0) return false;
  const span = (t: Tensor): [number, number] => {
    let lo = t.offset;
    let hi = t.offset;
    t.shape.forEach((d, i) => {
      const ext = (d - 1) * t.strides[i];
      if (ext < 0) lo += ext;
      else hi += ext;
    });
    return [lo, hi];
  };
  const [xl, xh] = span(x);
  const [yl, yh] = span(y);
  return xl <= yh && yl <= xh;
}

/**
 * Runs fn with op(w) — w [K, N], or with `trans` w [N, K] read as its transpose — packed once
 * into the wasm micro-kernel's panel layout: every float32 product inside fn whose B operand is
 * exactly that view of w reads the panels instead of packing it again. A recurrent layer wraps
 * its T steps in this for W_hhᵀ. w must not change inside fn. Same bits as without; a no-op
 * (fn runs as is) for float64, non-2-D w, or with the JS backend.
 */
export function withPackedOperand<T>(w: Tensor, trans: boolean, fn: () => T): T {
  if (w.dtype !== 'float32' || w.rank !== 2) return fn();
  const [r, c] = w.shape;
  const [K, N, rs, cs] = trans ? [c, r, w.strides[1], w.strides[0]] : [r, c, w.strides[0], w.strides[1]];
  return withPackedB(w.data as Float32Array, w.offset, rs, cs, K, N, fn);
}
