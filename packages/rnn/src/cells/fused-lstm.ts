import { Tensor, TypedArray, addressOf, gateKernels, gemmArrays, stage, transientEmpty } from '@unfold/tensor';
import { OpDef, apply } from '@unfold/autodiff';
import { CellStep } from './spec';
import { Mat, NO_ATTRS, NoAttrs, accumulateWeightGrads, checkCell, fresh, mat, rowsPlusBias } from './fused-util';

/**
 * One LSTM step as one tape record (PyTorch gate order i, f, g, o):
 *
 *   a = [a_i a_f a_g a_o] = xp + h W_hhᵀ + b_hh          // xp:[B,4H] h:[B,H] W_hh:[4H,H] → [B,4H]
 *   i = σ(a_i)  f = σ(a_f)  g = tanh(a_g)  o = σ(a_o)
 *   c' = f ⊙ c + i ⊙ g
 *   h' = o ⊙ tanh(c')
 *
 * inputs [xp, h, c, W_hh, (b_hh)] → outputs [h', c'].
 * saved: act = [i f g o] [B,4H] (the activated gates, written over the pre-activations),
 *        c [B,H], tanh(c') [B,H], h [B,H], W_hh [4H,H].
 * Matches lstmComposed (composed.ts) in value and gradient: see test/fused-cells.test.ts.
 */
export const lstmCellOp: OpDef<NoAttrs> = {
  name: 'lstmCell',
  forward: (inputs) => {
    const { B, H, dtype, xp, h, c, whh, bhh } = checkCell('lstmCell', inputs, 2, 4);
    const G4 = 4 * H;
    const act = transientEmpty([B, G4], dtype); // saved only: the tape releases it
    const a = act.data;
    // a ← xp + b_hh, then a ← h·W_hhᵀ + a (one GEMM, beta = 1)
    rowsPlusBias(B, G4, mat(xp), bhh, a, G4);
    const Hm = mat(h);
    const W = mat(whh);
    gemmArrays(false, true, B, G4, H, 1, Hm.d, Hm.o, Hm.ld, W.d, W.o, W.ld, 1, a, 0, G4);

    const hN = fresh([B, H], dtype);
    const cN = fresh([B, H], dtype);
    const tcN = transientEmpty([B, H], dtype);
    const hn = hN.data, cn = cN.data, tc = tcN.data;
    const C = mat(c as Tensor);
    const k = dtype === 'float32' ? gateKernels() : null;
    if (k && addressOf(a) >= 0) {
      // The same formulas in the wasm gate kernel (packages/tensor/src/wasm/gates.ts): act and
      // tanh(c') are arena buffers already (both transientEmpty); c is staged in, h' and c' copied out.
      stage.begin(3 * B * H);
      const cA = stage.in(C.d as Float32Array, C.o, C.ld, B, H);
      const hA = stage.out(B * H);
      const cnA = stage.out(B * H);
      k.lstmForward(B, H, addressOf(a), cA, stage.ld, hA, cnA, addressOf(tc));
      stage.copyOut(hA, hn as Float32Array, 0, B * H);
      stage.copyOut(cnA, cn as Float32Array, 0, B * H);
    } else lstmGatesForward(B, H, a, C, hn, cn, tc);
    return { outputs: [hN, cN], saved: [act, c as Tensor, tcN, h, whh] };
  },

  // dys = [dh', dc'] (either zeros when unused).
  //   dc  = dc' + dh' ⊙ o ⊙ (1 − tanh²c')        total adjoint of c'
  //   da_o = dh' ⊙ tanh c' ⊙ o(1 − o)
  //   da_i = dc ⊙ g ⊙ i(1 − i)
  //   da_f = dc ⊙ c ⊙ f(1 − f)
  //   da_g = dc ⊙ i ⊙ (1 − g²)
  //   dc_prev = dc ⊙ f
  // a = xp + h W_hhᵀ + b_hh is linear in every input, so with da = [da_i da_f da_g da_o] [B,4H]:
  //   dxp = da,  dh = da · W_hh  [B,4H]·[4H,H],  dW_hh = daᵀ · h  [4H,B]·[B,H],  db_hh = Σ_b da.
  vjp: ([dhN, dcN], [act, c, tcN, h, whh], _attrs, _inputs, needs, acc, defer) => {
    const [B, G4] = act.shape;
    const H = G4 / 4;
    const dtype = act.dtype;
    const da = fresh([B, G4], dtype);
    const dcP = fresh([B, H], dtype);
    const dc0 = dcP.data, a = act.data, tc = tcN.data;
    let g = da.data; // the gate adjoints the GEMMs below read
    const DH = mat(dhN);
    const DC = mat(dcN);
    const C = mat(c);
    const k = dtype === 'float32' ? gateKernels() : null;
    if (k && addressOf(a) >= 0) {
      // wasm gate kernel (act and tanh c' are both arena buffers or neither); the GEMMs then read the staged da in place (no copy in per GEMM)
      stage.begin(3 * B * H + B * G4 + B * H);
      const cA = stage.in(C.d as Float32Array, C.o, C.ld, B, H);
      const ldc = stage.ld;
      const dhA = stage.in(DH.d as Float32Array, DH.o, DH.ld, B, H);
      const lddh = stage.ld;
      const dcA = stage.in(DC.d as Float32Array, DC.o, DC.ld, B, H);
      const lddc = stage.ld;
      const daA = stage.out(B * G4);
      const dcpA = stage.out(B * H);
      k.lstmBackward(B, H, addressOf(a), cA, ldc, addressOf(tc), dhA, lddh, dcA, lddc, 3, daA, dcpA);
      stage.copyOut(daA, g as Float32Array, 0, B * G4);
      stage.copyOut(dcpA, dc0 as Float32Array, 0, B * H);
      g = stage.view(daA, B * G4);
    } else lstmGatesBackward(B, H, a, C, tc, DH, DC, g, dc0);
    const Hm = mat(h);
    const W = mat(whh);
    let dH: Tensor | null = null; // dh_prev = dG · W_hh, skipped for a constant initial state
    if (needs[1]) {
      dH = fresh([B, H], dtype);
      gemmArrays(false, false, B, H, G4, 1, g, 0, G4, W.d, W.o, W.ld, 0, dH.data, 0, H);
    }
    return [da, dH, needs[2] ? dcP : null, ...accumulateWeightGrads(B, G4, H, g, Hm, needs, acc, 3, defer)];
  },
};

/**
 * The elementwise half of lstmCell's forward in JS (the float64 path and the fallback; the wasm
 * gate kernel computes the same formulas): act:[B,4H] pre-activations → [i f g o] in place,
 * c:[B,H] (any row stride) → c', tanh(c'), h' = o ⊙ tanh(c'), each [B,H] contiguous.
 */
export function lstmGatesForward(B: number, H: number, a: TypedArray, C: Mat, hn: TypedArray, cn: TypedArray, tc: TypedArray): void {
  const G4 = 4 * H;
  const cd = C.d;
  // σ(v) with e = e^−|v| ∈ (0, 1]: 1/(1+e) for v ≥ 0, e/(1+e) below; never overflows (as the sigmoid kernel).
  for (let b = 0; b < B; b++) {
    const r = b * G4;
    const cr = C.o + b * C.ld;
    const s = b * H;
    for (let j = 0; j < H; j++) {
      let v = a[r + j];
      let e = Math.exp(-Math.abs(v));
      let q = 1 / (1 + e);
      const ig = v >= 0 ? q : e * q;
      v = a[r + H + j];
      e = Math.exp(-Math.abs(v));
      q = 1 / (1 + e);
      const fg = v >= 0 ? q : e * q;
      const gg = Math.tanh(a[r + 2 * H + j]);
      v = a[r + 3 * H + j];
      e = Math.exp(-Math.abs(v));
      q = 1 / (1 + e);
      const og = v >= 0 ? q : e * q;
      a[r + j] = ig;
      a[r + H + j] = fg;
      a[r + 2 * H + j] = gg;
      a[r + 3 * H + j] = og;
      const cv = fg * cd[cr + j] + ig * gg; // c' = f⊙c + i⊙g
      const t = Math.tanh(cv);
      cn[s + j] = cv;
      tc[s + j] = t;
      hn[s + j] = og * t; // h' = o⊙tanh(c')
    }
  }
}

/**
 * The elementwise half of lstmCell's vjp in JS (see the formulas above lstmCellOp.vjp):
 * act = [i f g o], c, tanh(c'), dh', dc' → g = da:[B,4H] and dc0 = dc_prev:[B,H], contiguous.
 */
export function lstmGatesBackward(B: number, H: number, a: TypedArray, C: Mat, tc: TypedArray, DH: Mat, DC: Mat, g: TypedArray, dc0: TypedArray): void {
  const G4 = 4 * H;
  const dh = DH.d, dcn = DC.d, cd = C.d;
  for (let b = 0; b < B; b++) {
    const r = b * G4;
    const s = b * H;
    const hr = DH.o + b * DH.ld;
    const dr = DC.o + b * DC.ld;
    const cr = C.o + b * C.ld;
    for (let j = 0; j < H; j++) {
      const ig = a[r + j], fg = a[r + H + j], gg = a[r + 2 * H + j], og = a[r + 3 * H + j];
      const t = tc[s + j];
      const dhv = dh[hr + j];
      const dc = dcn[dr + j] + dhv * og * (1 - t * t);
      g[r + j] = dc * gg * ig * (1 - ig);
      g[r + H + j] = dc * cd[cr + j] * fg * (1 - fg);
      g[r + 2 * H + j] = dc * ig * (1 - gg * gg);
      g[r + 3 * H + j] = dhv * t * og * (1 - og);
      dc0[s + j] = dc * fg;
    }
  }
}

/** The LSTM CellStep on the fused kernel: one 'lstmCell' record per step. */
export const lstmFused: CellStep = (xp, [h, c], whh, bhh) => apply(lstmCellOp, bhh ? [xp, h, c, whh, bhh] : [xp, h, c, whh], NO_ATTRS);
