import { Tensor, TypedArray, gemmArrays, scratchEmpty, transientEmpty } from '@unfold/tensor';
import { CellKind, STATES } from '../cells/spec';

/**
 * The input projection of a dense-input layer folded into recurrentSequence (attrs.dense in
 * sequence-op.ts), shared by both drivers:
 *
 *   forward   xp = x·W_ihᵀ + b        x:[T,B,I]  W_ih:[G·H, I]  b:[G·H]  →  xp:[T,B,G·H]
 *   backward  dx = dxp·W_ih          dW_ih += dxpᵀ·x      db += Σ_rows dxp
 *
 * so the [T,B,G·H] projection is written straight where the recurrence reads it (on the wasm
 * kernels: a reused arena block, never a JS array) and backward reads the gate adjoints where
 * the loop wrote them. Each product is ONE GEMM over all T·B rows, as the linear layer's were.
 */

/** Index of the op's first projection input (W_ih with attrs.dense, the bias with attrs.table): after [x, h0, (c0), W_hh, (b_hh)]. */
export const extraInputsAt = (kind: CellKind): number => 2 + STATES[kind] + (kind === 'gru' ? 1 : 0);

/** out[r·GH + j] (r = t·B + b, real time order) ← (x·W_ihᵀ + b)[r, j]; `x` contiguous [T,B,I]. */
export function projectInto(x: Tensor, wih: Tensor, bias: Tensor | null, out: TypedArray, outOff: number): void {
  const [T, B, I] = x.shape;
  const GH = wih.shape[0];
  const N = T * B;
  const w = wih.contiguous();
  if (bias) {
    // the bias rows first, then the GEMM adds x·W_ihᵀ onto them (β = 1): out doubles by copyWithin
    const b = bias.contiguous();
    out.set(b.data.subarray(b.offset, b.offset + GH), outOff);
    for (let n = 1; n < N; n *= 2) out.copyWithin(outOff + n * GH, outOff, outOff + Math.min(n, N - n) * GH);
  }
  gemmArrays(false, true, N, GH, I, 1, x.data, x.offset, I, w.data, w.offset, I, bias ? 1 : 0, out, outOff, GH);
}

/** One-hot input's table: out[i·GH + j] ← W_ih[j, i] + b[j]  (W_ih:[G·H, I] → [I, G·H]). */
export function tableInto(wih: Tensor, bias: Tensor | null, out: TypedArray, outOff: number): void {
  const [GH, I] = wih.shape;
  const w = wih.contiguous();
  const b = bias ? bias.contiguous() : null;
  const W = w.data, wo = w.offset;
  // 8×8 tiles (j, i): a tile reads 8 short runs of W and writes 8 short runs of out, so neither
  // side touches a new cache line per element, as one whole column of out per j would
  // (measured at I = 65: G·H = 512 ≈ 2×, 1024 ≈ 3.5× faster than the j-then-i loop)
  for (let j0 = 0; j0 < GH; j0 += 8) {
    const j1 = Math.min(j0 + 8, GH);
    for (let i0 = 0; i0 < I; i0 += 8) {
      const i1 = Math.min(i0 + 8, I);
      for (let j = j0; j < j1; j++) {
        const bj = b ? b.data[b.offset + j] : 0, wj = wo + j * I;
        for (let i = i0; i < i1; i++) out[outOff + i * GH + j] = W[wj + i] + bj;
      }
    }
  }
}

/**
 * The gradients of the one-hot table W_ihᵀ + b (attrs.table) from its adjoint dTable [I, G·H]:
 * dW_ih[j, i] += dTable[i, j], db[j] += Σ_i dTable[i, j] (summed in doubles over i in order, as
 * the tensors' add/permute/sumToShape would). `wih` and `bias` are the tape's accumulators.
 */
export function tableGrads(dT: TypedArray, off: number, I: number, GH: number, wih: Tensor | null, bias: Tensor | null): void {
  if (wih) {
    const W = wih.data, wo = wih.offset;
    // in 8×8 tiles, as tableInto (each element is one addition: the order does not matter)
    for (let j0 = 0; j0 < GH; j0 += 8) {
      const j1 = Math.min(j0 + 8, GH);
      for (let i0 = 0; i0 < I; i0 += 8) {
        const i1 = Math.min(i0 + 8, I);
        for (let j = j0; j < j1; j++) for (let i = i0; i < i1; i++) W[wo + j * I + i] += dT[off + i * GH + j];
      }
    }
  }
  if (bias) {
    const b = bias.data, bo = bias.offset;
    for (let j = 0; j < GH; j++) {
      let s = 0;
      for (let i = 0; i < I; i++) s += dT[off + i * GH + j];
      b[bo + j] += s;
    }
  }
}

export interface DenseGrads {
  dx: Tensor | null;
  /** whether dW_ih / db were added into their accumulators */
  dW: boolean;
  db: boolean;
}

/**
 * The gradients of the projection from dxp, the adjoint of xp: rows `src[srcOff + (i·B + b)·GH]`
 * in processing order i (step i is real time T−1−i when `reverse`). `needs` = [x, W_ih, b];
 * dW_ih and db are added into acc(W_ih) / acc(b) (the tape's accumulators); colSum, when given,
 * adds the column sums of rows×cols floats in place (the wasm kernel; the JS loop otherwise).
 */
export function denseGrads(
  src: TypedArray, srcOff: number, reverse: boolean, x: Tensor, wih: Tensor, needs: readonly [boolean, boolean, boolean],
  acc: { wih: () => Tensor; bias: () => Tensor }, colSum?: (rows: number, cols: number, src: TypedArray, srcOff: number, dst: Tensor) => void,
): DenseGrads {
  const [T, B, I] = x.shape;
  const GH = wih.shape[0];
  const N = T * B, BI = B * I;
  const res: DenseGrads = { dx: null, dW: false, db: false };
  if (needs[0]) {
    // dx = dxp·W_ih [N, G·H]·[G·H, I], rows in processing order, then put back in real time order
    const w = wih.contiguous();
    // (scratch buffers: backward gives them back once the op that produced x has consumed dx)
    const dxP = scratchEmpty([T, B, I], x.dtype);
    gemmArrays(false, false, N, I, GH, 1, src, srcOff, GH, w.data, w.offset, I, 0, dxP.data, dxP.offset, I);
    if (reverse) {
      res.dx = scratchEmpty([T, B, I], x.dtype);
      const d = res.dx.data, o = res.dx.offset;
      for (let i = 0; i < T; i++) d.set(dxP.data.subarray(i * BI, (i + 1) * BI), o + (T - 1 - i) * BI);
      dxP.storage.release();
    } else res.dx = dxP;
  }
  if (needs[1]) {
    // dW_ih += Σ_rows dxp[r]ᵀ x[r]: ONE GEMM [G·H, N]·[N, I]; x's rows in processing order to match
    let xs = x;
    if (reverse) {
      xs = transientEmpty([T, B, I], x.dtype); // in the arena when that pays: the GEMM reads it in place
      for (let i = 0; i < T; i++) xs.data.set(x.data.subarray(x.offset + (T - 1 - i) * BI, x.offset + (T - i) * BI), i * BI);
    }
    const dW = acc.wih();
    gemmArrays(true, false, GH, I, N, 1, src, srcOff, GH, xs.data, xs.offset, I, 1, dW.data, dW.offset, I);
    if (xs !== x) xs.storage.release();
    res.dW = true;
  }
  if (needs[2]) {
    const db = acc.bias();
    if (colSum) colSum(N, GH, src, srcOff, db);
    else for (let r = 0; r < N; r++) for (let j = 0; j < GH; j++) db.data[db.offset + j] += src[srcOff + r * GH + j];
    res.db = true;
  }
  return res;
}
