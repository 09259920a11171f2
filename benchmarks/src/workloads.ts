// The four model workloads, the shared weights every contender is loaded with, and the
// analytic FLOP count the GFLOP/s figures are derived from.
import { Rng } from '@unfold/tensor';

export type Cell = 'lstm' | 'gru' | 'rnn';

export interface Workload {
  id: string; // 'W1' …
  label: string;
  cell: Cell;
  hidden: number; // H
  layers: number;
  vocab: number; // V (= input size I of layer 0: one-hot)
  batch: number; // B
  seq: number; // T
  lr: number;
}

const common = { vocab: 65, batch: 32, seq: 50, lr: 2e-3 };

export const WORKLOADS: Workload[] = [
  { id: 'W1', label: 'LSTM 1×128', cell: 'lstm', hidden: 128, layers: 1, ...common },
  { id: 'W2', label: 'LSTM 2×256', cell: 'lstm', hidden: 256, layers: 2, ...common },
  { id: 'W3', label: 'GRU 1×128', cell: 'gru', hidden: 128, layers: 1, ...common },
  { id: 'W4', label: 'RNN tanh 1×128', cell: 'rnn', hidden: 128, layers: 1, ...common },
];

/** Gates per cell: the G in the [G·H, I] weight shapes. */
export const GATES: Record<Cell, number> = { lstm: 4, gru: 3, rnn: 1 };

/**
 * Multiply-adds ×2 of the matmuls only (elementwise gate math is not counted):
 *   forward, per time step:  Σ_layers 2·B·(I·G·H + H·G·H)  +  2·B·H·V   (I = V for layer 0, H above)
 *   forward, whole sequence: T × the above
 *   training step ≈ 3 × forward (backward ≈ 2 × forward: dX = dY·Wᵀ and dW = Xᵀ·dY per matmul)
 */
export function forwardFlops(w: Workload): number {
  const G = GATES[w.cell];
  const H = w.hidden;
  let perStep = 2 * w.batch * H * w.vocab;
  for (let k = 0; k < w.layers; k++) {
    const I = k === 0 ? w.vocab : H;
    perStep += 2 * w.batch * (I * G * H + H * G * H);
  }
  return w.seq * perStep;
}

export const trainFlops = (w: Workload): number => 3 * forwardFlops(w);

/** A PyTorch-layout state dict, as exchanged between contenders. */
export type StateDict = Record<string, { shape: number[]; data: Float32Array }>;

/**
 * char-rnn's initialisation, uniform(−0.08, 0.08) for every parameter, drawn in a fixed name order
 * from a seeded generator, so every contender (and every run) starts from the same numbers.
 */
export function sharedWeights(w: Workload, seed = 1234): StateDict {
  const rng = new Rng(seed);
  const G = GATES[w.cell];
  const H = w.hidden;
  const sd: StateDict = {};
  const put = (name: string, shape: number[]): void => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = (rng.nextUint32() / 4294967296) * 0.16 - 0.08;
    sd[name] = { shape, data };
  };
  for (let k = 0; k < w.layers; k++) {
    const I = k === 0 ? w.vocab : H;
    put(`rnn.weight_ih_l${k}`, [G * H, I]);
    put(`rnn.weight_hh_l${k}`, [G * H, H]);
    put(`rnn.bias_ih_l${k}`, [G * H]);
    put(`rnn.bias_hh_l${k}`, [G * H]);
  }
  put('fc.weight', [w.vocab, H]);
  put('fc.bias', [w.vocab]);
  return sd;
}

/** A batch of character ids, time-major [T, B] (x[t·B + b]); y is x shifted by one (next character). */
export interface Batch {
  x: Int32Array;
  y: Int32Array;
  T: number;
  B: number;
}

export function makeBatch(w: Workload, seed = 99): Batch {
  const rng = new Rng(seed);
  const { seq: T, batch: B, vocab: V } = w;
  const stream = new Int32Array((T + 1) * B);
  for (let i = 0; i < stream.length; i++) stream[i] = rng.nextUint32() % V;
  return { x: stream.slice(0, T * B), y: stream.slice(B, (T + 1) * B), T, B };
}
