// Panel 5's experiment: the adding problem (Hochreiter & Schmidhuber 1997, §5.4; Le, Jaitly &
// Hinton 2015), RNN against LSTM over sequence lengths, each run by the library's fitAsync on a
// Task, so the tab stays responsive. Input per step (v_t, m_t): v_t ~ U(0, 1), exactly two
// markers m_t = 1 (one in each half); the target after the last step is the sum of the two
// marked values. Always answering 1 scores MSE = Var(v + v') = 2/12: learning the task means
// beating that, which needs gradient from step T to reach the first marker.
import { Rng, Tensor, zeros } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { noGrad } from '@unfold/autodiff';
import { JsonObject, LSTM, Linear, Module, RecurrentLayer, SimpleRNN, Task, fitAsync } from '@unfold/rnn';

export const ADDING_BASELINE = 1 / 6;

/** x [T, B, 2] = (value, marker) per step and y [B, 1]. */
export function addingBatch(T: number, B: number, rng: Rng): { x: Tensor; y: Tensor } {
  if (!Number.isInteger(T) || T < 2) throw new Error(`adding: T must be an integer ≥ 2, got ${T}`);
  const x = zeros([T, B, 2]);
  const y = zeros([B, 1]);
  const half = Math.floor(T / 2);
  for (let b = 0; b < B; b++) {
    const i = rng.int(0, half);
    const j = rng.int(half, T);
    for (let t = 0; t < T; t++) x.data[(t * B + b) * 2] = rng.next();
    x.data[(i * B + b) * 2 + 1] = 1;
    x.data[(j * B + b) * 2 + 1] = 1;
    y.data[b] = x.data[(i * B + b) * 2] + x.data[(j * B + b) * 2];
  }
  return { x, y };
}

export type AddingCell = 'rnn' | 'lstm';

/** One recurrent layer (PyTorch's init; the LSTM's forget bias 1) and a linear readout of h_T. */
export class AddingNet extends Module {
  readonly rnn: RecurrentLayer;
  readonly fc: Linear;
  constructor(readonly cell: AddingCell, readonly hidden: number, seed: number) {
    super();
    const base = { inputSize: 2, hiddenSize: hidden, seed };
    this.rnn = this.registerModule('rnn', cell === 'lstm' ? new LSTM({ ...base, init: { forgetBias: 1 } }) : new SimpleRNN(base));
    this.fc = this.registerModule('fc', new Linear(hidden, 1, { rng: new Rng(seed + 1) }));
  }

  predict(x: Tensor): Tensor {
    const { hN } = this.rnn.forward(x); // [1, B, H]
    return this.fc.forward(ad.reshape(hN, [hN.shape[1], this.hidden])); // [B, H] → [B, 1]
  }
}

export class AddingTask implements Task<{ x: Tensor; y: Tensor }, never> {
  readonly name = 'adding';
  readonly unit = 'MSE';
  private rng: Rng;
  private test: { x: Tensor; y: Tensor };
  constructor(private net: AddingNet, private T: number, private B: number, seed: number) {
    this.rng = new Rng(seed + 100);
    this.test = addingBatch(T, 256, new Rng(seed + 999));
  }
  next(): { batch: { x: Tensor; y: Tensor }; resetState: boolean; epoch: number } {
    return { batch: addingBatch(this.T, this.B, this.rng), resetState: true, epoch: 0 };
  }
  loss(b: { x: Tensor; y: Tensor }): { loss: Tensor } {
    return { loss: ad.mse(this.net.predict(b.x), b.y) };
  }
  validate(): number {
    return noGrad(() => ad.mse(this.net.predict(this.test.x), this.test.y).item());
  }
  getState(): JsonObject {
    return {};
  }
  setState(): void {}
}

export interface AddingSettings { hidden: number; batch: number; steps: number; lr: number; seed: number }
export const ADDING_DEFAULTS: AddingSettings = { hidden: 32, batch: 32, steps: 300, lr: 0.01, seed: 0 };

/** Trains one cell at one T; the test MSE (256 fixed sequences) at the end. */
export async function runAdding(cell: AddingCell, T: number, s: AddingSettings, signal?: { readonly aborted: boolean }): Promise<{ cell: AddingCell; T: number; testMse: number; steps: number }> {
  const net = new AddingNet(cell, s.hidden, s.seed);
  const task = new AddingTask(net, T, s.batch, s.seed);
  const r = await fitAsync(net, task, { steps: s.steps, optimizer: { name: 'adam', lr: s.lr }, clipNorm: 1, log: 'none', signal });
  return { cell, T, testMse: task.validate(), steps: r.steps };
}
