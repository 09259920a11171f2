import { DType, Tensor, TensorError, TypedArray, gemmArrays, shapeStr, transientEmpty } from '@unfold/tensor';
import { ACCUMULATED, Deferred } from '@unfold/autodiff';

// Shared plumbing of the fused cell kernels (fused-rnn.ts, fused-lstm.ts, fused-gru.ts):
// argument checks, raw row-major access to [rows, cols] operands, and the bias row-sum.

export type NoAttrs = Record<string, never>;
export const NO_ATTRS: NoAttrs = {};

/**
 * A [rows, cols] operand as the loops and gemmArrays read it: element (b, j) = d[o + b·ld + j].
 * Any view whose columns are adjacent (unit column stride: contiguous tensors, row slices
 * such as xp_t = xp[t], stepped or reversed rows) is read in place; anything else is copied
 * once into row-major order.
 */
export interface Mat {
  d: TypedArray;
  o: number;
  ld: number;
}

export function mat(t: Tensor): Mat {
  const [rows, cols] = t.shape;
  if (cols <= 1 || t.strides[1] === 1) return { d: t.data, o: t.offset, ld: rows <= 1 ? cols : t.strides[0] };
  return { d: t.clone().data, o: 0, ld: cols };
}

/** A [n] operand: element j = d[o + j]. */
export function vec(t: Tensor): { d: TypedArray; o: number } {
  if (t.shape[0] <= 1 || t.strides[0] === 1) return { d: t.data, o: t.offset };
  return { d: t.clone().data, o: 0 };
}

/** A fresh, contiguous, zero-filled tensor (outputs, saved buffers and adjoints). */
export const fresh = (shape: number[], dtype: DType): Tensor => Tensor.empty(shape, dtype);

/** The checked operands of one cell step. */
export interface CellArgs {
  B: number;
  H: number;
  dtype: DType;
  xp: Tensor; // [B, G·H]
  h: Tensor; // [B, H]
  c: Tensor | null; // [B, H], LSTM only
  whh: Tensor; // [G·H, H]
  bhh: Tensor | null; // [G·H]
}

/**
 * inputs = [xp, h, (c), whh, (bhh)] for a cell with `nState` state tensors and G gates.
 * Every error names the op and the offending shapes.
 */
export function checkCell(op: string, inputs: readonly Tensor[], nState: 1 | 2, G: number): CellArgs {
  const n = inputs.length;
  if (n !== nState + 2 && n !== nState + 3) {
    const names = nState === 2 ? 'xp, h, c, whh[, bhh]' : 'xp, h, whh[, bhh]';
    throw new TensorError(op, `expected inputs [${names}], got ${n}`);
  }
  inputs.forEach((t, k) => {
    if (!(t instanceof Tensor)) throw new TensorError(op, `input ${k} is ${t === null ? 'null' : typeof t}, not a Tensor`);
  });
  const xp = inputs[0];
  const h = inputs[1];
  const c = nState === 2 ? inputs[2] : null;
  const whh = inputs[nState + 1];
  const bhh = n === nState + 3 ? inputs[nState + 2] : null;
  const all = [xp, h, ...(c ? [c] : []), whh, ...(bhh ? [bhh] : [])];
  const dtype = xp.dtype;
  if (all.some((t) => t.dtype !== dtype)) throw new TensorError(op, `mixed dtypes: ${all.map((t) => t.dtype).join(', ')} (inputs xp, h${c ? ', c' : ''}, whh${bhh ? ', bhh' : ''})`);
  if (h.rank !== 2) throw new TensorError(op, `h must be [B, H], got ${shapeStr(h.shape)}`);
  const [B, H] = h.shape;
  if (xp.rank !== 2 || xp.shape[0] !== B || xp.shape[1] !== G * H) {
    throw new TensorError(op, `xp ${shapeStr(xp.shape)} must be [B, ${G}·H] = [${B},${G * H}] for h ${shapeStr(h.shape)}`);
  }
  if (c && (c.rank !== 2 || c.shape[0] !== B || c.shape[1] !== H)) throw new TensorError(op, `c ${shapeStr(c.shape)} must match h ${shapeStr(h.shape)}`);
  if (whh.rank !== 2 || whh.shape[0] !== G * H || whh.shape[1] !== H) {
    throw new TensorError(op, `whh ${shapeStr(whh.shape)} must be [${G}·H, H] = [${G * H},${H}] for h ${shapeStr(h.shape)}`);
  }
  if (bhh && (bhh.rank !== 1 || bhh.shape[0] !== G * H)) throw new TensorError(op, `bhh ${shapeStr(bhh.shape)} must be [${G}·H] = [${G * H}]`);
  return { B, H, dtype, xp, h, c, whh, bhh };
}

/**
 * dst[b·ldd + j] = X[b, j] (+ bias[j]) for b < B, j < N: the gate buffer before the
 * recurrent GEMM adds h·W_hhᵀ onto it.
 */
export function rowsPlusBias(B: number, N: number, X: Mat | null, bias: Tensor | null, dst: TypedArray, ldd: number): void {
  const bv = bias ? vec(bias) : null;
  if (X && !bv && X.ld === N && ldd === N) {
    dst.set(X.d.subarray(X.o, X.o + B * N)); // both contiguous: one memcpy
    return;
  }
  for (let b = 0; b < B; b++) {
    const r = b * ldd;
    if (X && bv) {
      const x = X.d, xo = X.o + b * X.ld, bd = bv.d, bo = bv.o;
      for (let j = 0; j < N; j++) dst[r + j] = x[xo + j] + bd[bo + j];
    } else if (X) {
      const x = X.d, xo = X.o + b * X.ld;
      for (let j = 0; j < N; j++) dst[r + j] = x[xo + j];
    } else if (bv) {
      const bd = bv.d, bo = bv.o;
      for (let j = 0; j < N; j++) dst[r + j] = bd[bo + j];
    }
  }
}

/**
 * dW_hh += Σ_steps Dᵀ·Hprev, collected: each step's rows D:[B, N] and Hprev:[B, H] are copied
 * into [K, N] and [K, H] blocks and added with one GEMM of depth K = CAP rows (several steps),
 * instead of one GEMM of depth B per step — the per-step form spends most of its time loading
 * and storing the [N, H] accumulator. Same sum, other order of float additions.
 */
class DeferredWeightGrad implements Deferred {
  private rows = 0;
  private readonly d: Tensor; // [cap, N]
  private readonly h: Tensor; // [cap, H]

  constructor(private readonly dW: Tensor, private readonly cap: number, private readonly N: number, private readonly H: number) {
    this.d = transientEmpty([cap, N], dW.dtype);
    this.h = transientEmpty([cap, H], dW.dtype);
  }

  add(B: number, D: TypedArray, hPrev: Mat): void {
    if (this.rows + B > this.cap) this.spill();
    const { N, H } = this;
    this.d.data.set(D.subarray(0, B * N), this.rows * N);
    const hd = this.h.data;
    for (let b = 0; b < B; b++) {
      const o = hPrev.o + b * hPrev.ld;
      hd.set(hPrev.d.subarray(o, o + H), (this.rows + b) * H);
    }
    this.rows += B;
  }

  private spill(): void {
    if (this.rows === 0) return;
    const { N, H } = this;
    gemmArrays(true, false, N, H, this.rows, 1, this.d.data, 0, N, this.h.data, 0, H, 1, this.dW.data, this.dW.offset, H);
    this.rows = 0;
  }

  flush(): void {
    this.spill();
    this.d.storage.release();
    this.h.storage.release();
  }
}

/** Rows collected before a deferred dW GEMM runs (≈ 8 steps at B = 32). */
const DEFER_ROWS = 256;

/**
 * The weight and bias adjoints of a cell step, accumulated (autodiff's ACCUMULATED protocol):
 * W_hh is shared by every time step, so each step's dG_tᵀ·h_{t−1} goes into one adjoint buffer,
 * collected over several steps (DeferredWeightGrad) rather than a [G·H, H] tensor per step.
 *   dW_hh += Dᵀ · Hprev      D:[B, N] the gate adjoints (row-major, offset 0), Hprev:[B, H]
 *   db_hh += Σ_b D[b, :]
 */
export function accumulateWeightGrads(
  B: number, N: number, H: number, D: TypedArray, hPrev: Mat, needs: readonly boolean[], acc: (k: number) => Tensor, wIndex: number,
  defer: <P extends Deferred>(k: number, make: (buffer: Tensor) => P) => P,
): (typeof ACCUMULATED | null)[] {
  const out: (typeof ACCUMULATED | null)[] = [null, null];
  if (needs[wIndex]) {
    defer(wIndex, (dW) => new DeferredWeightGrad(dW, Math.max(B, Math.floor(DEFER_ROWS / B) * B), N, H)).add(B, D, hPrev);
    out[0] = ACCUMULATED;
  }
  if (needs.length > wIndex + 1 && needs[wIndex + 1]) {
    const db = acc(wIndex + 1); // [N]
    const o = db.data;
    const off = db.offset;
    for (let b = 0; b < B; b++) {
      const r = b * N;
      for (let j = 0; j < N; j++) o[off + j] += D[r + j];
    }
    out[1] = ACCUMULATED;
  }
  return needs.length > wIndex + 1 ? out : [out[0]];
}

// Module-level scratch for adjoints that are not outputs of a vjp (GRU's dhp), grown on
// demand, one per dtype so the loops stay monomorphic. The kernels are synchronous and never
// re-entered, so one buffer each is enough.
let scratch32 = new Float32Array(0);
let scratch64 = new Float64Array(0);

export function scratch(dtype: DType, n: number): TypedArray {
  if (dtype === 'float64') {
    if (scratch64.length < n) scratch64 = new Float64Array(n);
    return scratch64;
  }
  if (scratch32.length < n) scratch32 = new Float32Array(n);
  return scratch32;
}
