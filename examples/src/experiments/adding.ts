/**
 * The adding problem (Hochreiter & Schmidhuber 1997, §5.4; as in Le, Jaitly & Hinton 2015):
 * each step's input is (v_t, m_t) with v_t ~ U(0, 1) and exactly two markers m_t = 1, one in the
 * first half of the sequence and one in the second; the target, read after the last step, is
 * the sum of the two marked values. Always answering 1 scores MSE = Var(v + v') = 2/12 ≈ 0.167:
 * a model has learned the task only when it beats that baseline, which needs gradients from the
 * last step to reach the first marker, up to T steps back.
 *
 *   node examples/dist/experiments/adding.js [--T 50,100] [--cells rnn,lstm,gru] [--steps 1000] …
 */
import { Rng, Tensor, zeros } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { noGrad } from '@unfold/autodiff';
import { linePlot } from '@unfold/rnn';
import { CELL_LABEL, ExpCell, FIGURES, SeqNet, adam, parseArgs, saveFigure, seconds, table, trainStep } from './common';

export const ADDING_BASELINE = 1 / 6; // MSE of always predicting 1 = Var(U + U') = 2/12

/** One batch: inputs x_1 … x_T, each [B, 2] = (value, marker), and targets [B, 1]. */
export function addingBatch(T: number, B: number, rng: Rng): { xs: Tensor[]; y: Tensor } {
  const xs = Array.from({ length: T }, () => zeros([B, 2]));
  const y = zeros([B, 1]);
  const half = Math.floor(T / 2);
  for (let b = 0; b < B; b++) {
    const i = rng.int(0, half);
    const j = rng.int(half, T);
    for (let t = 0; t < T; t++) xs[t].data[2 * b] = rng.next();
    xs[i].data[2 * b + 1] = 1;
    xs[j].data[2 * b + 1] = 1;
    y.data[b] = xs[i].data[2 * b] + xs[j].data[2 * b];
  }
  return { xs, y };
}

export interface AddingOptions {
  T: number;
  cell: ExpCell;
  hidden: number;
  batch: number;
  steps: number;
  lr: number;
  clip: number;
  seed: number;
  evalEvery: number;
  testSize: number;
}

export interface AddingResult {
  cell: ExpCell;
  T: number;
  testMse: number;
  curve: { step: number; mse: number }[];
  seconds: number;
}

export function runAdding(o: AddingOptions): AddingResult {
  const t0 = Date.now();
  const model = new SeqNet({ cell: o.cell, inputSize: 2, hiddenSize: o.hidden, outputSize: 1, seed: o.seed });
  const opt = adam(model, o.lr);
  const rng = new Rng(o.seed + 100);
  const test = addingBatch(o.T, o.testSize, new Rng(o.seed + 999));
  const predict = (xs: Tensor[]) => {
    const hs = model.hiddens(xs);
    return model.fc.forward(hs[hs.length - 1]); // read out after the last step only: [B, 1]
  };
  const evaluate = () => noGrad(() => ad.mse(predict(test.xs), test.y).item());
  const curve = [{ step: 0, mse: evaluate() }];
  for (let s = 1; s <= o.steps; s++) {
    const { xs, y } = addingBatch(o.T, o.batch, rng);
    trainStep(model, opt, () => ad.mse(predict(xs), y), o.clip);
    if (s % o.evalEvery === 0 || s === o.steps) curve.push({ step: s, mse: evaluate() });
  }
  return { cell: o.cell, T: o.T, testMse: curve[curve.length - 1].mse, curve, seconds: seconds(t0) };
}

export const ADDING_DEFAULTS = { T: '50,100', cells: 'rnn,lstm,gru', hidden: 32, batch: 32, steps: 1000, lr: 0.01, clip: 1, seed: 0, evalEvery: 50, testSize: 256, figures: FIGURES };

export function main(argv: readonly string[]): void {
  const a = parseArgs(argv, ADDING_DEFAULTS);
  const Ts = String(a.T).split(',').map(Number);
  const cells = String(a.cells).split(',') as ExpCell[];
  console.log(`adding problem: hidden ${a.hidden}, batch ${a.batch}, ${a.steps} Adam steps (lr ${a.lr}, clip ${a.clip}), seed ${a.seed}; test MSE on ${a.testSize} fresh sequences; baseline (always 1) = ${ADDING_BASELINE.toFixed(4)}`);
  const rows: (string | number)[][] = [];
  for (const T of Ts) {
    const results: AddingResult[] = [];
    for (const cell of cells) {
      const r = runAdding({ T, cell, hidden: a.hidden, batch: a.batch, steps: a.steps, lr: a.lr, clip: a.clip, seed: a.seed, evalEvery: a.evalEvery, testSize: a.testSize });
      results.push(r);
      const verdict = r.testMse < 0.1 * ADDING_BASELINE ? 'solved (< 10% of baseline)' : r.testMse < 0.9 * ADDING_BASELINE ? 'partly (below baseline)' : 'fails (≈ baseline)';
      rows.push([T, CELL_LABEL[cell], r.testMse.toFixed(4), (r.testMse / ADDING_BASELINE).toFixed(3), verdict, r.seconds.toFixed(0)]);
      console.log(`  T=${T} ${CELL_LABEL[cell]}: test MSE ${r.testMse.toFixed(4)} (${(r.testMse / ADDING_BASELINE).toFixed(3)} × baseline) in ${r.seconds.toFixed(0)} s`);
    }
    const file = saveFigure(String(a.figures), `adding-T${T}.svg`, linePlot({
      title: `Adding problem, T = ${T}: test MSE during training`, xLabel: 'training step', yLabel: 'test MSE', logY: true,
      series: results.map((r) => ({ name: CELL_LABEL[r.cell], x: r.curve.map((c) => c.step), y: r.curve.map((c) => c.mse) })),
      hLines: [{ y: ADDING_BASELINE, label: 'baseline: always 1 (0.167)' }],
    }));
    if (file) console.log(`  figure: ${file}`);
  }
  console.log(`\n${table(['T', 'cell', 'test MSE', 'MSE / baseline', 'verdict', 'seconds'], rows)}`);
}

if (require.main === module) main(process.argv.slice(2));
