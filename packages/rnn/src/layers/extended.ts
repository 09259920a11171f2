import { Tensor, TensorError } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { CellKind, CellState } from '../cells';
import { checkOptions } from '../options';

/**
 * The layer options beyond PyTorch's (Keras' and PyTorch's proj_size), kept apart from the
 * layer's loop: their validation, their composed per-step cell, the bidirectional merge and the
 * regularization penalty. A layer that uses one of the options marked "composed" below runs
 * `extendedStep` (autodiff ops, every gradient from the primitives' VJPs) instead of the fused
 * kernels, which implement only the default PyTorch cells.
 */

export type Activation = 'tanh' | 'sigmoid' | 'relu' | 'hardSigmoid' | 'linear';
export const ACTIVATIONS: readonly Activation[] = ['tanh', 'sigmoid', 'relu', 'hardSigmoid', 'linear'];
export type MergeMode = 'concat' | 'sum' | 'mul' | 'ave';
export const MERGE_MODES: readonly MergeMode[] = ['concat', 'sum', 'mul', 'ave'];

/** L1/L2 penalty coefficients (Keras' regularizers.l1_l2): l1·Σ|w| + l2·Σw². */
export interface Regularizer {
  l1?: number;
  l2?: number;
}

export interface ExtendedOptions {
  /** GRU: false = Cho et al. 2014 / Keras reset_after=False, n = tanh(x W_inᵀ + b_in + (r ⊙ h) W_hnᵀ + b_hn). Default true (PyTorch). Composed. */
  resetAfter?: boolean;
  /** Candidate / output activation (Keras `activation`; default tanh). Composed unless tanh (or SimpleRNN's relu). */
  activation?: Activation;
  /** LSTM/GRU gate activation (Keras `recurrent_activation`; default sigmoid). Composed unless sigmoid. */
  recurrentActivation?: Activation;
  /** Keras go_backwards: process the sequence from its last step and return the outputs in that (reversed) order. */
  goBackwards?: boolean;
  /** Bidirectional: how the two directions' outputs combine (default concat, PyTorch's). Keras merge_mode. */
  mergeMode?: MergeMode;
  /** Variational dropout on h inside the recurrence (Gal & Ghahramani 2016): one mask per sequence and layer, while training. Composed. */
  recurrentDropout?: number;
  /** Keep the final state and start the next call from it (Keras stateful); `resetStates()` clears it. */
  stateful?: boolean;
  /** LSTM proj_size (PyTorch; Sak et al. 2014): h = (o ⊙ tanh(c)) W_hrᵀ, of size projSize < hiddenSize. Composed. */
  projSize?: number;
  /** Penalties on W_ih (kernel), W_hh (recurrent kernel) and the biases, summed by `regularizationLoss()`. */
  kernelRegularizer?: Regularizer;
  recurrentRegularizer?: Regularizer;
  biasRegularizer?: Regularizer;
}

export const EXTENDED_KEYS = ['resetAfter', 'activation', 'recurrentActivation', 'goBackwards', 'mergeMode', 'recurrentDropout', 'stateful', 'projSize', 'kernelRegularizer', 'recurrentRegularizer', 'biasRegularizer'];

/** Validated, with defaults. */
export interface Extended {
  resetAfter: boolean;
  activation: Activation;
  recurrentActivation: Activation;
  goBackwards: boolean;
  mergeMode: MergeMode;
  recurrentDropout: number;
  stateful: boolean;
  projSize: number;
  regularizers: { kernel: Regularizer | null; recurrent: Regularizer | null; bias: Regularizer | null };
}

export function resolveExtended(label: string, kind: CellKind, o: ExtendedOptions & { hiddenSize: number; bidirectional?: boolean; nonlinearity?: string }): Extended {
  const rnn = kind === 'rnn_tanh' || kind === 'rnn_relu';
  const only = (k: keyof ExtendedOptions, ok: boolean, who: string) => {
    if (o[k] !== undefined && !ok) throw new TensorError(label, `${k} is for ${who} only`);
  };
  only('resetAfter', kind === 'gru', 'GRU');
  only('projSize', kind === 'lstm', 'LSTM');
  only('recurrentActivation', !rnn, 'LSTM and GRU (SimpleRNN has no gates)');
  if (rnn && o.activation !== undefined && o.nonlinearity !== undefined) throw new TensorError(label, 'give activation or nonlinearity, not both');
  for (const k of ['resetAfter', 'goBackwards', 'stateful'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'boolean') throw new TensorError(label, `${k} must be a boolean, got ${String(o[k])}`);
  }
  for (const k of ['activation', 'recurrentActivation'] as const) {
    if (o[k] !== undefined && !ACTIVATIONS.includes(o[k]!)) throw new TensorError(label, `${k} must be one of ${ACTIVATIONS.join(', ')}, got '${String(o[k])}'`);
  }
  if (o.mergeMode !== undefined) {
    if (!MERGE_MODES.includes(o.mergeMode)) throw new TensorError(label, `mergeMode must be one of ${MERGE_MODES.join(', ')}, got '${String(o.mergeMode)}'`);
    if (!o.bidirectional) throw new TensorError(label, 'mergeMode needs bidirectional: true');
  }
  const rd = o.recurrentDropout ?? 0;
  if (!(rd >= 0 && rd < 1)) throw new TensorError(label, `recurrentDropout must be in [0, 1), got ${rd}`);
  const P = o.projSize ?? 0;
  if (!Number.isInteger(P) || P < 0 || P >= o.hiddenSize) throw new TensorError(label, `projSize must be an integer in [0, hiddenSize = ${o.hiddenSize}), got ${P}`);
  const reg = (k: 'kernelRegularizer' | 'recurrentRegularizer' | 'biasRegularizer'): Regularizer | null => {
    const r = o[k];
    if (r === undefined) return null;
    checkOptions(label, r, ['l1', 'l2'], { what: `${k} option` });
    for (const c of ['l1', 'l2'] as const) {
      if (r[c] !== undefined && !(r[c]! >= 0 && Number.isFinite(r[c]))) throw new TensorError(label, `${k}.${c} must be a finite number >= 0, got ${r[c]}`);
    }
    return { l1: r.l1 ?? 0, l2: r.l2 ?? 0 };
  };
  const defaultAct: Activation = kind === 'rnn_relu' ? 'relu' : 'tanh';
  return {
    resetAfter: o.resetAfter ?? true,
    activation: o.activation ?? defaultAct,
    recurrentActivation: o.recurrentActivation ?? 'sigmoid',
    goBackwards: o.goBackwards ?? false,
    mergeMode: o.mergeMode ?? 'concat',
    recurrentDropout: rd,
    stateful: o.stateful ?? false,
    projSize: P,
    regularizers: { kernel: reg('kernelRegularizer'), recurrent: reg('recurrentRegularizer'), bias: reg('biasRegularizer') },
  };
}

/** Whether the options need the composed step (the fused kernels implement PyTorch's default cells only). */
export function needsComposed(kind: CellKind, e: Extended): boolean {
  const defaultAct = kind === 'rnn_relu' ? 'relu' : 'tanh';
  return !e.resetAfter || e.activation !== defaultAct || e.recurrentActivation !== 'sigmoid' || e.recurrentDropout > 0 || e.projSize > 0;
}

export function activate(a: Activation, x: Tensor): Tensor {
  switch (a) {
    case 'tanh': return ad.tanh(x);
    case 'sigmoid': return ad.sigmoid(x);
    case 'relu': return ad.relu(x);
    case 'hardSigmoid': return ad.clip(ad.add(ad.mul(x, 0.2), 0.5), 0, 1); // Keras/tfjs: clip(0.2·x + 0.5, 0, 1)
    case 'linear': return x;
  }
}

/** Extra inputs of the composed step: the projection W_hr [P, H] and the recurrent dropout mask [B, H_out] (already scaled by 1/(1−p)). */
export interface StepExtras {
  whr: Tensor | null;
  mask: Tensor | null;
}

/**
 * One step of the cell with the extended options (xp = x W_ihᵀ + b_ih, as for the fused steps):
 *   ĥ = h ⊙ mask (variational dropout; the carried state stays h)
 *   lstm:  [i f g o] = xp + ĥ W_hhᵀ + b_hh;  i,f,o = σ_r(·), g = φ(g);  c' = f⊙c + i⊙g;  h' = o ⊙ φ(c') [· W_hrᵀ]
 *   gru:   r, z = σ_r(xp_rz + ĥ W_h{r,z}ᵀ + b_h{r,z});
 *          n = φ(xp_n + r ⊙ (ĥ W_hnᵀ + b_hn))   (resetAfter, PyTorch)   or   φ(xp_n + (r ⊙ ĥ) W_hnᵀ + b_hn)   (Cho)
 *          h' = (1 − z) ⊙ n + z ⊙ h
 *   rnn:   h' = φ(xp + ĥ W_hhᵀ + b_hh)
 */
export function extendedStep(kind: CellKind, e: Extended) {
  const phi = (x: Tensor) => activate(e.activation, x);
  const sig = (x: Tensor) => activate(e.recurrentActivation, x);
  const recur = (h: Tensor, w: Tensor, b: Tensor | null) => {
    const hp = ad.matmul(h, w, { transB: true });
    return b ? ad.add(hp, b) : hp;
  };
  return (xp: Tensor, state: CellState, whh: Tensor, bhh: Tensor | null, x: StepExtras): CellState => {
    const h = state[0];
    const hm = x.mask ? ad.mul(h, x.mask) : h;
    if (kind === 'lstm') {
      const H = state[1].shape[1];
      const [i, f, g, o] = ad.split(ad.add(xp, recur(hm, whh, bhh)), H, 1); // [B, H] each
      const c = ad.add(ad.mul(sig(f), state[1]), ad.mul(sig(i), phi(g)));
      const hn = ad.mul(sig(o), phi(c)); // [B, H]
      return [x.whr ? ad.matmul(hn, x.whr, { transB: true }) : hn, c]; // [B, P] with a projection
    }
    if (kind === 'gru') {
      const H = h.shape[1];
      const [xr, xz, xn] = ad.split(xp, H, 1);
      let r: Tensor, z: Tensor, n: Tensor;
      if (e.resetAfter) {
        const [hr, hz, hn] = ad.split(recur(hm, whh, bhh), H, 1);
        r = sig(ad.add(xr, hr));
        z = sig(ad.add(xz, hz));
        n = phi(ad.add(xn, ad.mul(r, hn)));
      } else {
        const wrz = ad.slice(whh, { start: 0, stop: 2 * H }); // [2H, H]
        const wn = ad.slice(whh, { start: 2 * H, stop: 3 * H }); // [H, H]
        const brz = bhh ? ad.slice(bhh, { start: 0, stop: 2 * H }) : null;
        const bn = bhh ? ad.slice(bhh, { start: 2 * H, stop: 3 * H }) : null;
        const [hr, hz] = ad.split(recur(hm, wrz, brz), H, 1);
        r = sig(ad.add(xr, hr));
        z = sig(ad.add(xz, hz));
        n = phi(ad.add(xn, recur(ad.mul(r, hm), wn, bn)));
      }
      return [ad.add(n, ad.mul(z, ad.sub(h, n)))];
    }
    return [phi(ad.add(xp, recur(hm, whh, bhh)))];
  };
}

/** Bidirectional outputs [T, B, H] each → [T, B, 2H] (concat) or [T, B, H]. */
export function mergeDirections(mode: MergeMode, fwd: Tensor, bwd: Tensor): Tensor {
  switch (mode) {
    case 'concat': return ad.concat([fwd, bwd], 2);
    case 'sum': return ad.add(fwd, bwd);
    case 'mul': return ad.mul(fwd, bwd);
    case 'ave': return ad.mul(ad.add(fwd, bwd), 0.5);
  }
}

/** l1·Σ|w| + l2·Σw² over the tensors, or null when there is nothing to add. */
export function penalty(r: Regularizer | null, ws: Tensor[]): Tensor | null {
  if (!r || ws.length === 0) return null;
  let total: Tensor | null = null;
  for (const w of ws) {
    const terms: Tensor[] = [];
    if (r.l1) terms.push(ad.mul(ad.sum(ad.abs(w)), r.l1));
    if (r.l2) terms.push(ad.mul(ad.sum(ad.mul(w, w)), r.l2));
    for (const t of terms) total = total ? ad.add(total, t) : t;
  }
  return total;
}
