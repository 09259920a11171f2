import { TypedArray, addressOf, gateKernels, gemmArrays, stage, transientEmpty } from '@unfold/tensor';
import { OpDef, apply1 } from '@unfold/autodiff';
import { CellStep } from './spec';
import { Mat, NO_ATTRS, NoAttrs, accumulateWeightGrads, checkCell, fresh, mat, rowsPlusBias, scratch } from './fused-util';

/**
 * One GRU step as one tape record (PyTorch gate order r, z, n):
 *
 *   p = [p_r p_z p_n] = h W_hhᵀ + b_hh                  // h:[B,H] W_hh:[3H,H] → [B,3H]
 *   r = σ(xp_r + p_r)   z = σ(xp_z + p_z)
 *   n = tanh(xp_n + r ⊙ p_n)                            // r gates the recurrent part only
 *   h' = (1 − z) ⊙ n + z ⊙ h = n + z ⊙ (h − n)
 *
 * Unlike the LSTM, xp cannot be added before the GEMM (p_n is needed alone), so the GEMM writes
 * p into a buffer of its own, which then holds what backward needs:
 * saved: act = [r | z | p_n | n] [B,4H], h [B,H], W_hh [3H,H].
 * inputs [xp, h, W_hh, (b_hh)] → outputs [h'].
 */
export const gruCellOp: OpDef<NoAttrs> = {
  name: 'gruCell',
  forward: (inputs) => {
    const { B, H, dtype, xp, h, whh, bhh } = checkCell('gruCell', inputs, 1, 3);
    const G3 = 3 * H;
    const W4 = 4 * H; // row stride of act
    const act = transientEmpty([B, W4], dtype); // saved only: the tape releases it
    const a = act.data;
    // act[:, 0:3H] ← b_hh, then ← h·W_hhᵀ + act[:, 0:3H]  (beta = 0 without a bias: nothing to add)
    rowsPlusBias(B, G3, null, bhh, a, W4);
    const Hm = mat(h);
    const W = mat(whh);
    gemmArrays(false, true, B, G3, H, 1, Hm.d, Hm.o, Hm.ld, W.d, W.o, W.ld, bhh ? 1 : 0, a, 0, W4);

    const hN = fresh([B, H], dtype);
    const hn = hN.data;
    const X = mat(xp);
    const k = dtype === 'float32' ? gateKernels() : null;
    if (k && addressOf(a) >= 0) {
      // The same formulas in the wasm gate kernel (packages/tensor/src/wasm/gates.ts).
      stage.begin(3 * B * H + 2 * B * H);
      const xA = stage.in(X.d as Float32Array, X.o, X.ld, B, G3);
      const ldx = stage.ld;
      const hA = stage.in(Hm.d as Float32Array, Hm.o, Hm.ld, B, H);
      const ldh = stage.ld;
      const oA = stage.out(B * H);
      k.gruForward(B, H, addressOf(a), xA, ldx, hA, ldh, oA);
      stage.copyOut(oA, hn as Float32Array, 0, B * H);
    } else gruGatesForward(B, H, a, X, Hm, hn);
    return { outputs: [hN], saved: [act, h, whh] };
  },

  // dy = dh'. With a_r = xp_r + p_r, a_z = xp_z + p_z, a_n = xp_n + r ⊙ p_n:
  //   dn  = dh' ⊙ (1 − z)         dz = dh' ⊙ (h − n)         dh_direct = dh' ⊙ z
  //   da_n = dn ⊙ (1 − n²)
  //   da_r = (da_n ⊙ p_n) ⊙ r(1 − r)                          (r enters through r ⊙ p_n)
  //   da_z = dz ⊙ z(1 − z)
  //   dxp = [da_r  da_z  da_n]
  //   dp  = [da_r  da_z  da_n ⊙ r]                            (the one place xp and p differ)
  //   dh = dh_direct + dp · W_hh  [B,3H]·[3H,H],  dW_hh = dpᵀ · h  [3H,B]·[B,H],  db_hh = Σ_b dp.
  // dp is scratch (not an output); dh_direct is written first and the GEMM adds onto it.
  vjp: ([dhN], [act, h, whh], _attrs, _inputs, needs, acc, defer) => {
    const B = act.shape[0];
    const H = act.shape[1] / 4;
    const G3 = 3 * H;
    const dtype = act.dtype;
    const dX = fresh([B, G3], dtype);
    const dH = fresh([B, H], dtype);
    let dp = scratch(dtype, B * G3);
    const dx = dX.data, dh = dH.data, a = act.data;
    const DY = mat(dhN);
    const Hm = mat(h);
    const k = dtype === 'float32' ? gateKernels() : null;
    if (k && addressOf(a) >= 0) {
      // wasm gate kernel; the GEMMs then read the staged dp in place
      stage.begin(2 * B * H + 2 * B * G3 + B * H);
      const hA = stage.in(Hm.d as Float32Array, Hm.o, Hm.ld, B, H);
      const ldh = stage.ld;
      const yA = stage.in(DY.d as Float32Array, DY.o, DY.ld, B, H);
      const ldy = stage.ld;
      const dxA = stage.out(B * G3);
      const dhA = stage.out(B * H);
      const dpA = stage.out(B * G3);
      k.gruBackward(B, H, addressOf(a), hA, ldh, yA, ldy, dxA, dhA, dpA);
      stage.copyOut(dxA, dx as Float32Array, 0, B * G3);
      stage.copyOut(dhA, dh as Float32Array, 0, B * H);
      dp = stage.view(dpA, B * G3);
    } else gruGatesBackward(B, H, a, Hm, DY, dx, dh, dp);
    // dh_prev = dh'⊙z + dP·W_hh; skipped (the product, not the cheap direct term) for a constant state
    if (needs[1]) {
      const W = mat(whh);
      gemmArrays(false, false, B, H, G3, 1, dp, 0, G3, W.d, W.o, W.ld, 1, dh, 0, H);
    }
    return [dX, needs[1] ? dH : null, ...accumulateWeightGrads(B, G3, H, dp, Hm, needs, acc, 2, defer)];
  },
};

/**
 * The elementwise half of gruCell's forward in JS (the float64 path and the fallback; the wasm
 * gate kernel computes the same formulas): act:[B,4H] = [p_r p_z p_n ·] → [r z p_n n] in place,
 * xp:[B,3H] and h:[B,H] (any row strides) → h':[B,H] contiguous.
 */
export function gruGatesForward(B: number, H: number, a: TypedArray, X: Mat, Hm: Mat, hn: TypedArray): void {
  const W4 = 4 * H;
  const x = X.d, hd = Hm.d;
  // σ(v) with e = e^−|v| ∈ (0, 1]: 1/(1+e) for v ≥ 0, e/(1+e) below; never overflows.
  for (let b = 0; b < B; b++) {
    const r = b * W4;
    const xr = X.o + b * X.ld;
    const hr = Hm.o + b * Hm.ld;
    const s = b * H;
    for (let j = 0; j < H; j++) {
      let v = x[xr + j] + a[r + j];
      let e = Math.exp(-Math.abs(v));
      let q = 1 / (1 + e);
      const rg = v >= 0 ? q : e * q;
      v = x[xr + H + j] + a[r + H + j];
      e = Math.exp(-Math.abs(v));
      q = 1 / (1 + e);
      const zg = v >= 0 ? q : e * q;
      const ng = Math.tanh(x[xr + 2 * H + j] + rg * a[r + 2 * H + j]);
      a[r + j] = rg;
      a[r + H + j] = zg;
      a[r + 3 * H + j] = ng; // p_n stays in [2H, 3H)
      hn[s + j] = ng + zg * (hd[hr + j] - ng);
    }
  }
}

/**
 * The elementwise half of gruCell's vjp in JS (see the formulas above gruCellOp.vjp):
 * act = [r z p_n n], h, dh' → dx = [da_r da_z da_n]:[B,3H], dh = dh' ⊙ z:[B,H], dp:[B,3H].
 */
export function gruGatesBackward(B: number, H: number, a: TypedArray, Hm: Mat, DY: Mat, dx: TypedArray, dh: TypedArray, dp: TypedArray): void {
  const G3 = 3 * H;
  const W4 = 4 * H;
  const dy = DY.d, hd = Hm.d;
  for (let b = 0; b < B; b++) {
    const r = b * W4;
    const q = b * G3;
    const yr = DY.o + b * DY.ld;
    const hr = Hm.o + b * Hm.ld;
    const s = b * H;
    for (let j = 0; j < H; j++) {
      const rg = a[r + j], zg = a[r + H + j], pn = a[r + 2 * H + j], ng = a[r + 3 * H + j];
      const d = dy[yr + j];
      dh[s + j] = d * zg;
      const dan = d * (1 - zg) * (1 - ng * ng);
      const dar = dan * pn * rg * (1 - rg);
      const daz = d * (hd[hr + j] - ng) * zg * (1 - zg);
      dx[q + j] = dar;
      dx[q + H + j] = daz;
      dx[q + 2 * H + j] = dan;
      dp[q + j] = dar;
      dp[q + H + j] = daz;
      dp[q + 2 * H + j] = dan * rg;
    }
  }
}

/** The GRU CellStep on the fused kernel: one 'gruCell' record per step. */
export const gruFused: CellStep = (xp, [h], whh, bhh) => [apply1(gruCellOp, bhh ? [xp, h, whh, bhh] : [xp, h, whh], NO_ATTRS)];
