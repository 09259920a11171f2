// A plain float64 forward pass over a PyTorch-layout state dict: the oracle every contender's
// loss is held against before anything is timed (same weights, same batch → same loss).
import { Batch, Cell, GATES, StateDict, Workload } from '../workloads';

/**
 * 'pytorch' is torch.nn.{LSTM,GRU,RNN}. 'gru-reset-before' is the Keras/tfjs-layers GRU
 * (reset_after = false) fed PyTorch's weights by the closest mapping (see tfjs/layout.ts):
 *   PyTorch:  n = tanh(W_in·x + b_in + r ⊙ (W_hn·h + b_hn))
 *   Keras:    n = tanh(W_in·x + (b_in + b_hn) + W_hn·(r ⊙ h))
 * The two agree only when r = 1; a tfjs-layers GRU can be checked exactly against the second.
 */
export type Formulation = 'pytorch' | 'gru-reset-before';

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/** out[j] = Σ_k W[j, k]·v[k] + b1[j] + b2[j];  W:[rows, cols] row-major. */
function affine(W: Float32Array, rows: number, cols: number, v: Float64Array, out: Float64Array): void {
  for (let j = 0; j < rows; j++) {
    let s = 0;
    const o = j * cols;
    for (let k = 0; k < cols; k++) s += W[o + k] * v[k];
    out[j] = s;
  }
}

/**
 * One cell step for one sequence of the batch; h (and c) updated in place.
 * gx = W_ih·x + b_ih, hm = W_hh·h (no bias), bhh = b_hh:  [G·H] each.
 */
function cellStep(cell: Cell, form: Formulation, H: number, gx: Float64Array, hm: Float64Array, bhh: Float32Array, hPrev: Float64Array, h: Float64Array, c: Float64Array, Whh: Float32Array): void {
  const gh = (j: number): number => hm[j] + bhh[j];
  if (cell === 'rnn') {
    for (let j = 0; j < H; j++) h[j] = Math.tanh(gx[j] + gh(j));
  } else if (cell === 'lstm') {
    // gates i, f, g, o (PyTorch = Keras order)
    for (let j = 0; j < H; j++) {
      const i = sigmoid(gx[j] + gh(j));
      const f = sigmoid(gx[H + j] + gh(H + j));
      const g = Math.tanh(gx[2 * H + j] + gh(2 * H + j));
      const o = sigmoid(gx[3 * H + j] + gh(3 * H + j));
      c[j] = f * c[j] + i * g;
      h[j] = o * Math.tanh(c[j]);
    }
  } else {
    // gates r, z, n
    const r = new Float64Array(H);
    for (let j = 0; j < H; j++) r[j] = sigmoid(gx[j] + gh(j));
    let rec: Float64Array; // the recurrent term inside n's tanh
    if (form === 'pytorch') {
      rec = new Float64Array(H);
      for (let j = 0; j < H; j++) rec[j] = r[j] * gh(2 * H + j); // r ⊙ (W_hn·h + b_hn)
    } else {
      const rh = new Float64Array(H);
      for (let j = 0; j < H; j++) rh[j] = r[j] * hPrev[j];
      rec = new Float64Array(H);
      affine(Whh.subarray(2 * H * H, 3 * H * H), H, H, rh, rec); // W_hn·(r ⊙ h)
      for (let j = 0; j < H; j++) rec[j] += bhh[2 * H + j]; // + b_hn, outside the reset
    }
    for (let j = 0; j < H; j++) {
      const z = sigmoid(gx[H + j] + gh(H + j));
      const n = Math.tanh(gx[2 * H + j] + rec[j]);
      h[j] = (1 - z) * n + z * hPrev[j];
    }
  }
}

/** Mean cross-entropy (nats) of the many-to-many model on one batch, computed in float64. */
export function referenceLoss(w: Workload, sd: StateDict, batch: Batch, form: Formulation = 'pytorch'): number {
  const { T, B } = batch;
  const H = w.hidden;
  const V = w.vocab;
  const GH = GATES[w.cell] * H;
  // per layer, per sequence b: h and c, each [B, H]
  const hs = Array.from({ length: w.layers }, () => Array.from({ length: B }, () => new Float64Array(H)));
  const cs = Array.from({ length: w.layers }, () => Array.from({ length: B }, () => new Float64Array(H)));
  const gx = new Float64Array(GH);
  const hm = new Float64Array(GH);
  const hPrev = new Float64Array(H);
  const logits = new Float64Array(V);
  const W = (n: string): Float32Array => sd[n].data;
  let total = 0;
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const id = batch.x[t * B + b];
      let below: Float64Array | null = null; // the input of layer k > 0: h of layer k − 1
      for (let k = 0; k < w.layers; k++) {
        const Wih = W(`rnn.weight_ih_l${k}`);
        const Whh = W(`rnn.weight_hh_l${k}`);
        const bih = W(`rnn.bias_ih_l${k}`);
        const bhh = W(`rnn.bias_hh_l${k}`);
        const I = k === 0 ? V : H;
        if (below === null) for (let j = 0; j < GH; j++) gx[j] = Wih[j * I + id]; // one-hot x: a column of W_ih
        else affine(Wih, GH, I, below, gx);
        const h = hs[k][b];
        hPrev.set(h);
        affine(Whh, GH, H, hPrev, hm);
        for (let j = 0; j < GH; j++) gx[j] += bih[j];
        cellStep(w.cell, form, H, gx, hm, bhh, hPrev, h, cs[k][b], Whh);
        below = h;
      }
      // logits = fc.weight·h + fc.bias;  CE = logsumexp(logits) − logits[y]
      affine(W('fc.weight'), V, H, below as Float64Array, logits);
      const fb = W('fc.bias');
      let m = -Infinity;
      for (let v = 0; v < V; v++) m = Math.max(m, (logits[v] += fb[v]));
      let s = 0;
      for (let v = 0; v < V; v++) s += Math.exp(logits[v] - m);
      total += m + Math.log(s) - logits[batch.y[t * B + b]];
    }
  }
  return total / (T * B);
}
