// PyTorch → Keras/tfjs-layers weight layout.
//   PyTorch  weight_ih [G·H, I], weight_hh [G·H, H], bias_ih [G·H], bias_hh [G·H]  (y = W·x + b)
//   Keras    kernel    [I, G·H], recurrent_kernel [H, G·H], bias [G·H]           (y = x·K + b)
// so K = Wᵀ with the gate blocks of the G·H axis reordered:
//   LSTM  PyTorch i,f,g,o = Keras i,f,c,o        bias = b_ih + b_hh
//   RNN   one block                             bias = b_ih + b_hh
//   GRU   PyTorch r,z,n → Keras z,r,h           bias = b_ih + b_hh for z, r; b_in + b_hn for h
// tfjs-layers 4.22's GRUCell throws on resetAfter: true, so it computes
//   h̃ = tanh(x·K_h + b_h + (r ⊙ h)·U_h)   (reset before the recurrent product)
// where PyTorch computes  n = tanh(W_in·x + b_in + r ⊙ (W_hn·h + b_hn)).  With b_h = b_in + b_hn
// the two agree exactly only when r = 1; harness/reference.ts has both for the loss check.
import { Cell, GATES, StateDict, Workload } from '../workloads';

export interface KerasArray {
  shape: number[];
  data: Float32Array;
}

/** PyTorch gate block b of the Keras block order. */
const BLOCK_ORDER: Record<Cell, number[]> = { lstm: [0, 1, 2, 3], rnn: [0], gru: [1, 0, 2] };

/** W:[G·H, N] (PyTorch rows in PyTorch gate order) → K:[N, G·H] (Keras gate order). */
function toKernel(cell: Cell, H: number, W: { shape: number[]; data: Float32Array }): KerasArray {
  const [GH, N] = W.shape;
  const out = new Float32Array(GH * N);
  BLOCK_ORDER[cell].forEach((src, dst) => {
    for (let j = 0; j < H; j++) {
      const row = (src * H + j) * N;
      const col = dst * H + j;
      for (let n = 0; n < N; n++) out[n * GH + col] = W.data[row + n];
    }
  });
  return { shape: [N, GH], data: out };
}

function toBias(cell: Cell, H: number, bih: Float32Array, bhh: Float32Array): KerasArray {
  const out = new Float32Array(bih.length);
  BLOCK_ORDER[cell].forEach((src, dst) => {
    for (let j = 0; j < H; j++) out[dst * H + j] = bih[src * H + j] + bhh[src * H + j];
  });
  return { shape: [bih.length], data: out };
}

/** Weights per Keras layer, in `layer.setWeights` order: recurrent layers, then the dense head. */
export function kerasWeights(w: Workload, sd: StateDict): KerasArray[][] {
  const H = w.hidden;
  const layers: KerasArray[][] = [];
  for (let k = 0; k < w.layers; k++) {
    const g = (n: string) => sd[`rnn.${n}_l${k}`];
    if (g('weight_ih').shape[0] !== GATES[w.cell] * H) throw new Error(`kerasWeights: rnn.weight_ih_l${k} has ${g('weight_ih').shape[0]} rows, expected ${GATES[w.cell]}·${H}`);
    layers.push([toKernel(w.cell, H, g('weight_ih')), toKernel(w.cell, H, g('weight_hh')), toBias(w.cell, H, g('bias_ih').data, g('bias_hh').data)]);
  }
  // fc.weight [V, H] → Dense kernel [H, V]
  const fc = sd['fc.weight'];
  const [V] = fc.shape;
  const K = new Float32Array(V * H);
  for (let v = 0; v < V; v++) for (let j = 0; j < H; j++) K[j * V + v] = fc.data[v * H + j];
  layers.push([{ shape: [H, V], data: K }, { shape: [V], data: sd['fc.bias'].data.slice() }]);
  return layers;
}

/** K:[N, G·H] (Keras gate order) → W:[G·H, N] (PyTorch order): the inverse of toKernel. */
function fromKernel(cell: Cell, H: number, K: KerasArray): { shape: number[]; data: Float32Array } {
  const [N, GH] = K.shape;
  const out = new Float32Array(GH * N);
  BLOCK_ORDER[cell].forEach((src, dst) => {
    for (let j = 0; j < H; j++) for (let n = 0; n < N; n++) out[(src * H + j) * N + n] = K.data[n * GH + dst * H + j];
  });
  return { shape: [GH, N], data: out };
}

/**
 * Keras-layout gradients (same nesting as kerasWeights) → PyTorch names. The Keras bias is
 * b_ih + b_hh, so ∂L/∂b_ih = ∂L/∂b_hh = ∂L/∂bias (exact for LSTM/RNN; for the reset-before GRU
 * it is the gradient of that other function).
 */
export function pytorchGrads(w: Workload, layers: KerasArray[][]): StateDict {
  const H = w.hidden;
  const sd: StateDict = {};
  for (let k = 0; k < w.layers; k++) {
    const [K, U, b] = layers[k];
    sd[`rnn.weight_ih_l${k}`] = fromKernel(w.cell, H, K);
    sd[`rnn.weight_hh_l${k}`] = fromKernel(w.cell, H, U);
    const bias = new Float32Array(b.data.length);
    BLOCK_ORDER[w.cell].forEach((src, dst) => bias.set(b.data.subarray(dst * H, (dst + 1) * H), src * H));
    sd[`rnn.bias_ih_l${k}`] = { shape: [bias.length], data: bias };
    sd[`rnn.bias_hh_l${k}`] = { shape: [bias.length], data: bias.slice() };
  }
  const [Kd, bd] = layers[w.layers];
  const [, V] = Kd.shape;
  const fw = new Float32Array(V * H);
  for (let v = 0; v < V; v++) for (let j = 0; j < H; j++) fw[v * H + j] = Kd.data[j * V + v];
  sd['fc.weight'] = { shape: [V, H], data: fw };
  sd['fc.bias'] = { shape: [V], data: bd.data.slice() };
  return sd;
}
