// Panel 5's second experiment: the copy (memory) task (Hochreiter & Schmidhuber 1997; Arjovsky,
// Shah & Bengio 2016), as docs/experiments.md §4 runs it: read S symbols from an alphabet of K,
// wait through D blanks, see a "go" marker, then output the S symbols in order. Only those last
// S steps are scored (cross-entropy over K); guessing scores 1/K. The first symbol must survive
// D + S steps, so its gradient crosses that many. Each run is the library's fitAsync on a Task.
//
//   inputs   a c b _ _ … _ ▶ _ _        (ids over K symbols + blank (K) + go (K+1))
//   targets  · · · · · … · a c b
import { Rng, Tensor } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { noGrad } from '@unfold/autodiff';
import { GRU, JsonObject, LSTM, Linear, Module, RecurrentLayer, SimpleRNN, Task, fitAsync } from '@unfold/rnn';

export interface CopyBatch {
  /** Input ids [T, B] time-major (row t·B + b), T = 2S + D: symbols, blanks (K), go (K + 1). */
  ids: Int32Array;
  /** Targets [S·B] (row k·B + b = symbol k of example b). */
  targets: Int32Array;
  T: number;
  B: number;
}

/**
 * One batch. The random draws are those of examples/src/experiments/copy.ts's copyBatch, in
 * the same order (a test checks the one-hot of these ids equals its inputs), so a seed gives
 * the sequences docs/experiments.md reports on. That copyBatch cannot be bundled for a page:
 * its module imports node:fs at load (the experiments' figure writer).
 */
export function copyBatch(S: number, D: number, K: number, B: number, rng: Rng): CopyBatch {
  for (const [k, v, lo] of [['S', S, 1], ['D', D, 0], ['K', K, 2], ['B', B, 1]] as const) {
    if (!Number.isInteger(v) || v < lo) throw new Error(`copy: ${k} must be an integer ≥ ${lo}, got ${v}`);
  }
  const T = 2 * S + D;
  const ids = new Int32Array(T * B).fill(K); // blank
  const targets = new Int32Array(S * B);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      if (t < S) {
        ids[t * B + b] = targets[t * B + b] = rng.int(0, K);
      } else if (t === S + D) ids[t * B + b] = K + 1; // go
    }
  }
  return { ids, targets, T, B };
}

export type CopyCell = 'rnn' | 'lstm' | 'gru';

/** One recurrent layer over one-hot ids (PyTorch's init; the LSTM's forget bias 1) and a linear readout of the last S states. */
export class CopyNet extends Module {
  readonly rnn: RecurrentLayer;
  readonly fc: Linear;
  constructor(readonly cell: CopyCell, readonly K: number, readonly hidden: number, seed: number) {
    super();
    const base = { inputSize: K + 2, hiddenSize: hidden, seed };
    this.rnn = this.registerModule('rnn', cell === 'lstm' ? new LSTM({ ...base, init: { forgetBias: 1 } }) : cell === 'gru' ? new GRU(base) : new SimpleRNN(base));
    this.fc = this.registerModule('fc', new Linear(hidden, K, { rng: new Rng(seed + 1) }));
  }

  /** Logits of the last S steps, stacked: [S·B, K] (row k·B + b, as the targets). */
  logits(b: CopyBatch, S: number): Tensor {
    const { output } = this.rnn.forwardIds(b.ids, [b.T, b.B]); // [T, B, H]
    const last = ad.slice(output, { start: b.T - S }); // [S, B, H]
    return this.fc.forward(ad.reshape(last, [S * b.B, this.hidden])); // [S·B, H] → [S·B, K]
  }
}

export interface CopySettings { S: number; K: number; hidden: number; batch: number; steps: number; lr: number; seed: number; testSize: number }
/** docs/experiments.md §4's setup (S 3, K 4, hidden 32, batch 32, Adam lr 0.01, clip 1, 256 test sequences), with fewer steps for a tab. */
export const COPY_DEFAULTS: CopySettings = { S: 3, K: 4, hidden: 32, batch: 32, steps: 300, lr: 0.01, seed: 0, testSize: 256 };

/** Accuracy on the recalled symbols (argmax of each row against its target) and the mean cross-entropy. */
export function copyScore(z: Tensor, targets: Int32Array): { accuracy: number; loss: number } {
  const [n, K] = z.shape;
  const d = z.toFlatArray();
  let right = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (d[i * K + k] > d[i * K + best]) best = k;
    if (best === targets[i]) right++;
  }
  return { accuracy: right / n, loss: ad.crossEntropy(z, targets).item() };
}

class CopyTask implements Task<CopyBatch, never> {
  readonly name = 'copy';
  readonly unit = 'CE';
  private rng: Rng;
  readonly test: CopyBatch;
  constructor(private net: CopyNet, private D: number, private s: CopySettings) {
    this.rng = new Rng(s.seed + 100);
    this.test = copyBatch(s.S, D, s.K, s.testSize, new Rng(s.seed + 999));
  }
  next(): { batch: CopyBatch; resetState: boolean; epoch: number } {
    return { batch: copyBatch(this.s.S, this.D, this.s.K, this.s.batch, this.rng), resetState: true, epoch: 0 };
  }
  loss(b: CopyBatch): { loss: Tensor } {
    return { loss: ad.crossEntropy(this.net.logits(b, this.s.S), b.targets) };
  }
  validate(): number {
    return this.score().loss;
  }
  score(): { accuracy: number; loss: number } {
    return noGrad(() => copyScore(this.net.logits(this.test, this.s.S), this.test.targets));
  }
  getState(): JsonObject {
    return {};
  }
  setState(): void {}
}

export interface CopyResult { cell: CopyCell; D: number; T: number; accuracy: number; testLoss: number; steps: number }

/** Trains one cell at one delay D (fitAsync: Adam, clip 1); accuracy on `testSize` fixed sequences at the end. */
export async function runCopy(cell: CopyCell, D: number, s: CopySettings, signal?: { readonly aborted: boolean }): Promise<CopyResult> {
  const net = new CopyNet(cell, s.K, s.hidden, s.seed);
  const task = new CopyTask(net, D, s);
  const r = await fitAsync(net, task, { steps: s.steps, optimizer: { name: 'adam', lr: s.lr }, clipNorm: 1, log: 'none', signal });
  const { accuracy, loss } = task.score();
  return { cell, D, T: 2 * s.S + D, accuracy, testLoss: loss, steps: r.steps };
}
