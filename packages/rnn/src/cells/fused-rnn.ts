import { Tensor, gateKernels, gemmArrays, stage } from '@unfold/tensor';
import { OpDef, apply1 } from '@unfold/autodiff';
import { CellStep } from './spec';
import { NO_ATTRS, NoAttrs, accumulateWeightGrads, checkCell, fresh, mat, rowsPlusBias } from './fused-util';

/**
 * One Elman step as one tape record:
 *
 *   h' = φ(a),  a = xp + h W_hhᵀ + b_hh       // xp:[B,H] h:[B,H] W_hh:[H,H] → [B,H]
 *   φ = tanh: dφ = 1 − h'²      φ = relu: dφ = [h' > 0]   (subgradient 0 at 0, as the relu op)
 *
 * Both derivatives are functions of the output, so the saved tensors are h' (the output
 * itself), h and W_hh. inputs [xp, h, W_hh, (b_hh)] → outputs [h'].
 */
function rnnCellOp(name: 'rnnTanhCell' | 'rnnReluCell', relu: boolean): OpDef<NoAttrs> {
  return {
    name,
    forward: (inputs) => {
      const { B, H, dtype, xp, h, whh, bhh } = checkCell(name, inputs, 1, 1);
      const hN = fresh([B, H], dtype);
      const y = hN.data;
      // a ← xp + b_hh, then a ← h·W_hhᵀ + a (beta = 1), then φ in place
      rowsPlusBias(B, H, mat(xp), bhh, y, H);
      const Hm = mat(h);
      const W = mat(whh);
      gemmArrays(false, true, B, H, H, 1, Hm.d, Hm.o, Hm.ld, W.d, W.o, W.ld, 1, y, 0, H);
      const n = B * H;
      const k = dtype === 'float32' ? gateKernels() : null;
      if (k) {
        // φ in the wasm kernel: the output is staged (copied in, activated, copied back)
        stage.begin(n);
        const yA = stage.in(y as Float32Array, 0, H, B, H);
        k.rnnForward(B, H, yA, relu ? 1 : 0);
        stage.copyOut(yA, y as Float32Array, 0, n);
      } else if (relu) {
        for (let i = 0; i < n; i++) {
          const v = y[i];
          y[i] = v < 0 ? 0 : v;
        }
      } else {
        for (let i = 0; i < n; i++) y[i] = Math.tanh(y[i]);
      }
      return { outputs: [hN], saved: [hN, h, whh] };
    },

    // da = dh' ⊙ φ'(a);  dxp = da,  dh = da · W_hh  [B,H]·[H,H],  dW_hh = daᵀ · h  [H,B]·[B,H],  db_hh = Σ_b da.
    vjp: ([dhN], [hN, h, whh], _attrs, _inputs, needs, acc, defer) => {
      const [B, H] = hN.shape;
      const dtype = hN.dtype;
      const dA = fresh([B, H], dtype);
      const da = dA.data, y = hN.data;
      const DY = mat(dhN);
      const dy = DY.d;
      for (let b = 0; b < B; b++) {
        const s = b * H;
        const yr = DY.o + b * DY.ld;
        if (relu) {
          for (let j = 0; j < H; j++) da[s + j] = y[s + j] > 0 ? dy[yr + j] : 0;
        } else {
          for (let j = 0; j < H; j++) {
            const v = y[s + j];
            da[s + j] = dy[yr + j] * (1 - v * v);
          }
        }
      }
      const Hm = mat(h);
      const W = mat(whh);
      let dH: Tensor | null = null;
      if (needs[1]) {
        dH = fresh([B, H], dtype);
        gemmArrays(false, false, B, H, H, 1, da, 0, H, W.d, W.o, W.ld, 0, dH.data, 0, H);
      }
      return [dA, dH, ...accumulateWeightGrads(B, H, H, da, Hm, needs, acc, 2, defer)];
    },
  };
}

export const rnnTanhCellOp = rnnCellOp('rnnTanhCell', false);
export const rnnReluCellOp = rnnCellOp('rnnReluCell', true);

const args = (xp: Tensor, h: Tensor, whh: Tensor, bhh: Tensor | null): Tensor[] => (bhh ? [xp, h, whh, bhh] : [xp, h, whh]);

/** The Elman CellSteps on the fused kernels: one record per step. */
export const rnnTanhFused: CellStep = (xp, [h], whh, bhh) => [apply1(rnnTanhCellOp, args(xp, h, whh, bhh), NO_ATTRS)];
export const rnnReluFused: CellStep = (xp, [h], whh, bhh) => [apply1(rnnReluCellOp, args(xp, h, whh, bhh), NO_ATTRS)];
