/**
 * Gradient flow through time: how much of the loss at the LAST step reaches each earlier
 * hidden state,
 *
 *     g_t = ‖∂L_T/∂h_t‖,   t = T … 1,
 *
 * computed by BPTT (autodiff's `bptt`, whose onStateGrad reports the complete adjoint of the
 * state after each step as the reverse walk passes it). The backward recurrence is
 *     ∂L_T/∂h_{t−1} = (∂h_t/∂h_{t−1})ᵀ ∂L_T/∂h_t,   vanilla RNN: ∂h_t/∂h_{t−1} = diag(1 − h_t²) W_hh
 * so g_t shrinks (or grows) geometrically for a vanilla RNN, and decays much more slowly through
 * the additive cell path of an LSTM (∂c_t/∂c_{t−1} = diag(f_t)) or the update gate of a GRU.
 *
 * With a batch, examples are independent, so ∂L/∂h_t^b = ∂L_b/∂h_t^b for L = Σ_b L_b; the value
 * reported is the RMS over the batch of the per-example norms, √(Σ_b ‖∂L_b/∂h_t^b‖² / B).
 * Run in float64 when T is long: a vanilla RNN's g_t falls below float32's range (1e-38) fast.
 */
import { Rng, Tensor, TensorError, normal, oneHot, shapeStr, zeros } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { bptt } from '@unfold/autodiff';
import { CellStep, cellStep } from './cells';
import { RecurrentLayer } from './layers/recurrent';
import { CharRNN } from './models/charRnn';
import { checkOptions, keysOf } from './options';

/** A bare cell step with its weights (one layer): xp_t = x_t W_ihᵀ + b_ih, state' = step(xp_t, state, W_hh, b_hh). */
export interface CellFlowModel {
  step: CellStep;
  wih: Tensor; // [G·H, I]
  whh: Tensor; // [G·H, H]
  bih?: Tensor | null; // [G·H]
  bhh?: Tensor | null; // [G·H]
}

export type FlowModel = RecurrentLayer | CharRNN | CellFlowModel;

/** A character model's input: ids [T, B] (time-major) and the character after the last step, [B]. */
export interface CharFlowInput {
  ids: ArrayLike<number>;
  shape: readonly number[];
  next: ArrayLike<number>;
}

export interface GradientFlowOptions {
  /**
   * The loss read from the top layer's last hidden state h_T [B, H] (a scalar, summed over the batch).
   * Default for layers and cells: L = Σ_b u·h_T^b with a fixed random unit vector u, so g_T = 1.
   * A CharRNN uses the cross-entropy of predicting `next` (summed over the batch).
   */
  loss?: (hT: Tensor) => Tensor;
  /** Seed of the readout vector u (default 0). */
  seed?: number;
}

export interface GradientFlowResult {
  T: number;
  B: number;
  /** norms[t−1] = RMS over the batch of ‖∂L_T/∂h_t‖ for t = 1 … T, top layer. */
  norms: Float64Array;
  /** The same per layer (bottom first); layers[numLayers − 1] is `norms`. */
  layers: Float64Array[];
  /** LSTM only: ‖∂L_T/∂c_t‖ per layer. */
  cellNorms?: Float64Array[];
  /** L_T (the loss at the last step). */
  loss: number;
}

interface Layer {
  step: CellStep;
  wih: Tensor;
  whh: Tensor;
  bih: Tensor | null;
  bhh: Tensor | null;
  nState: number;
}

const OP = 'gradientFlow';

function isCellModel(m: FlowModel): m is CellFlowModel {
  return typeof (m as CellFlowModel).step === 'function' && (m as CellFlowModel).whh instanceof Tensor;
}

function layersOf(rnn: RecurrentLayer): Layer[] {
  if (rnn.directions !== 1) throw new TensorError(OP, `${rnn.label}: a bidirectional layer has no single arrow of time; use a unidirectional one`);
  const step = cellStep(rnn.kind, rnn.fused);
  const nState = rnn.kind === 'lstm' ? 2 : 1;
  return Array.from({ length: rnn.numLayers }, (_, k) => ({ step, nState, ...rnn.weights(k) }));
}

function cellLayer(m: CellFlowModel): Layer {
  const { wih, whh } = m;
  if (whh.rank !== 2 || wih.rank !== 2 || whh.shape[0] !== wih.shape[0] || whh.shape[0] % whh.shape[1] !== 0) {
    throw new TensorError(OP, `cell weights W_ih ${shapeStr(wih.shape)}, W_hh ${shapeStr(whh.shape)}: expected [G·H, I] and [G·H, H]`);
  }
  const G = whh.shape[0] / whh.shape[1];
  if (![1, 3, 4].includes(G)) throw new TensorError(OP, `W_hh ${shapeStr(whh.shape)} has ${G} gate blocks; expected 1 (RNN), 3 (GRU) or 4 (LSTM)`);
  return { step: m.step, wih, whh, bih: m.bih ?? null, bhh: m.bhh ?? null, nState: G === 4 ? 2 : 1 };
}

/** Σ_b u·h^b with u a seeded random unit vector [H]: ∂L/∂h^b = u for every example. */
export function randomReadout(H: number, dtype: Tensor['dtype'], seed = 0): (hT: Tensor) => Tensor {
  const u = normal([H, 1], 0, 1, { rng: new Rng(seed), dtype });
  const d = u.data;
  let s = 0;
  for (let i = 0; i < H; i++) s += d[i] * d[i];
  for (let i = 0; i < H; i++) d[i] /= Math.sqrt(s);
  return (hT) => ad.sum(ad.matmul(hT, u)); // [B,H]·[H,1] → [B,1] → scalar
}

function rmsNorm(dh: Tensor, B: number): number {
  const c = dh.contiguous();
  let s = 0;
  for (let i = c.offset, end = c.offset + c.size; i < end; i++) s += c.data[i] * c.data[i];
  return Math.sqrt(s / B);
}

/**
 * ‖∂L_T/∂h_t‖ for t = 1 … T, the loss taken at the last step only.
 *  - RecurrentLayer (unidirectional, any depth) or CellFlowModel: input x [T, B, I] ([B, T, I] for a batchFirst layer);
 *  - CharRNN: { ids [T, B], shape, next [B] }.
 * The weights are not differentiated (only the states are watched), so nothing is accumulated into them.
 */
export function gradientFlow(model: FlowModel, input: Tensor | CharFlowInput, opts: GradientFlowOptions = {}): GradientFlowResult {
  checkOptions('gradientFlow', opts, keysOf<GradientFlowOptions>({ loss: 1, seed: 1 }));
  let layers: Layer[];
  let xs: Tensor[];
  let lossFn = opts.loss;
  let dtype: Tensor['dtype'];
  if (model instanceof CharRNN) {
    if (input instanceof Tensor || !input || typeof input !== 'object') throw new TensorError(OP, 'a CharRNN takes { ids, shape: [T, B], next: [B] }');
    const { ids, shape, next } = input;
    if (shape.length !== 2 || ids.length !== shape[0] * shape[1]) throw new TensorError(OP, `ids: ${ids.length} ids for shape ${shapeStr(shape)} (expected [T, B])`);
    const [T, B] = shape;
    if (next.length !== B) throw new TensorError(OP, `next has ${next.length} ids for a batch of ${B}`);
    layers = layersOf(model.rnn);
    dtype = model.rnn.dtype;
    const V = model.opts.vocabSize;
    const emb = model.embedding;
    xs = Array.from({ length: T }, (_, t) => {
      const row = Array.from({ length: B }, (_, b) => ids[t * B + b]);
      return emb ? emb.forward(row) : oneHot(row, V, dtype); // [B, E] or [B, V]
    });
    lossFn ??= (hT) => ad.crossEntropy(model.fc.forward(hT), next, { reduction: 'sum' });
  } else {
    if (!(input instanceof Tensor) || input.rank !== 3) throw new TensorError(OP, `input must be x [T, B, I], got ${input instanceof Tensor ? shapeStr(input.shape) : typeof input}`);
    let x = input;
    if (model instanceof RecurrentLayer) {
      layers = layersOf(model);
      if (model.batchFirst) x = x.permute([1, 0, 2]);
    } else if (isCellModel(model)) {
      layers = [cellLayer(model)];
    } else {
      throw new TensorError(OP, 'model must be a RecurrentLayer, a CharRNN or { step, wih, whh, bih?, bhh? }');
    }
    const I = layers[0].wih.shape[1];
    if (x.shape[2] !== I) throw new TensorError(OP, `input ${shapeStr(input.shape)} has ${x.shape[2]} features, W_ih expects ${I}`);
    dtype = layers[0].whh.dtype;
    if (x.dtype !== dtype) throw new TensorError(OP, `input ${shapeStr(input.shape)} is ${x.dtype}, the weights are ${dtype}`);
    xs = Array.from({ length: x.shape[0] }, (_, t) => x.slice(t)); // [B, I] each
    lossFn ??= randomReadout(layers[0].whh.shape[1], dtype, opts.seed ?? 0);
  }
  const T = xs.length;
  if (T === 0) throw new TensorError(OP, 'the sequence is empty (T = 0)');
  const B = xs[0].shape[0];
  const H = layers[0].whh.shape[1];
  const offsets: number[] = []; // where layer k's state starts in the flat state list
  let n = 0;
  for (const l of layers) {
    offsets.push(n);
    n += l.nState;
  }
  const state0 = Array.from({ length: n }, () => zeros([B, H], dtype));

  const layerNorms = layers.map(() => new Float64Array(T));
  const cellNorms = layers[0].nState === 2 ? layers.map(() => new Float64Array(T)) : undefined;
  const r = bptt({
    params: [],
    state0,
    xs,
    step: (state, xt, t) => {
      const next: Tensor[] = [];
      let inp = xt;
      layers.forEach((l, k) => {
        let xp = ad.matmul(inp, l.wih, { transB: true }); // [B,I]·[G·H,I]ᵀ → [B,G·H]
        if (l.bih) xp = ad.add(xp, l.bih);
        const s = l.step(xp, state.slice(offsets[k], offsets[k] + l.nState), l.whh, l.bhh);
        next.push(...s);
        inp = s[0];
      });
      return t === T ? { state: next, loss: lossFn!(inp) } : next;
    },
    onStateGrad: (t, dh) => {
      layers.forEach((l, k) => {
        layerNorms[k][t - 1] = rmsNorm(dh[offsets[k]], B);
        if (cellNorms) cellNorms[k][t - 1] = rmsNorm(dh[offsets[k] + 1], B);
      });
    },
  });
  return { T, B, norms: layerNorms[layers.length - 1], layers: layerNorms, cellNorms, loss: r.loss };
}

/** Same ‖∂L_T/∂h_t‖ as gradientFlow, at a few offsets back from T (k = 0 is t = T): for tables. */
export function flowAt(norms: Float64Array, back: readonly number[]): number[] {
  return back.map((k) => (k >= 0 && k < norms.length ? norms[norms.length - 1 - k] : NaN));
}
