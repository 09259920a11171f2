/**
 * The copy (memory) task (Hochreiter & Schmidhuber 1997; Arjovsky, Shah & Bengio 2016): read S
 * symbols from an alphabet of K, wait through D blanks, see a "go" marker, then output the S
 * symbols in order. The outputs are scored only at those last S steps; guessing scores 1/K.
 * The first symbol must be carried for D + S steps, so its gradient crosses that many steps.
 *
 *   inputs   a c b _ _ … _ ▶ _ _        (one-hot over K symbols + blank + go)
 *   targets  · · · · · … · a c b        (cross-entropy over K at the last S steps only)
 *
 *   node examples/dist/experiments/copy.js [--delays 20,50] [--cells rnn,lstm,gru] [--steps 600] …
 */
import { Rng, Tensor, zeros } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { noGrad } from '@unfold/autodiff';
import { linePlot } from '@unfold/rnn';
import { CELL_LABEL, ExpCell, FIGURES, SeqNet, adam, parseArgs, saveFigure, seconds, table, trainStep } from './common';

/** Inputs x_1 … x_T ([B, K+2] one-hot; T = 2S + D) and targets [S·B] (row k·B + b = symbol k of example b). */
export function copyBatch(S: number, D: number, K: number, B: number, rng: Rng): { xs: Tensor[]; targets: Int32Array } {
  const T = 2 * S + D;
  const blank = K;
  const go = K + 1;
  const xs = Array.from({ length: T }, () => zeros([B, K + 2]));
  const targets = new Int32Array(S * B);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      let id = blank;
      if (t < S) {
        id = rng.int(0, K);
        targets[t * B + b] = id;
      } else if (t === S + D) id = go;
      xs[t].data[b * (K + 2) + id] = 1;
    }
  }
  return { xs, targets };
}

export interface CopyOptions { cell: ExpCell; S: number; D: number; K: number; hidden: number; batch: number; steps: number; lr: number; clip: number; seed: number; evalEvery: number; testSize: number }
export interface CopyResult { cell: ExpCell; D: number; accuracy: number; curve: { step: number; accuracy: number; loss: number }[]; seconds: number }

export function runCopy(o: CopyOptions): CopyResult {
  const t0 = Date.now();
  const model = new SeqNet({ cell: o.cell, inputSize: o.K + 2, hiddenSize: o.hidden, outputSize: o.K, seed: o.seed });
  const opt = adam(model, o.lr);
  const rng = new Rng(o.seed + 100);
  const test = copyBatch(o.S, o.D, o.K, o.testSize, new Rng(o.seed + 999));
  // logits of the last S steps, stacked: [S·B, K]
  const logits = (xs: Tensor[]) => model.fc.forward(ad.concat(model.hiddens(xs).slice(-o.S), 0));
  const evaluate = () => noGrad(() => {
    const z = logits(test.xs);
    const loss = ad.crossEntropy(z, test.targets).item();
    const [n, K] = z.shape;
    let right = 0;
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (z.get(i, k) > z.get(i, best)) best = k;
      if (best === test.targets[i]) right++;
    }
    return { accuracy: right / n, loss };
  });
  const curve = [{ step: 0, ...evaluate() }];
  for (let s = 1; s <= o.steps; s++) {
    const { xs, targets } = copyBatch(o.S, o.D, o.K, o.batch, rng);
    trainStep(model, opt, () => ad.crossEntropy(logits(xs), targets), o.clip);
    if (s % o.evalEvery === 0 || s === o.steps) curve.push({ step: s, ...evaluate() });
  }
  return { cell: o.cell, D: o.D, accuracy: curve[curve.length - 1].accuracy, curve, seconds: seconds(t0) };
}

export const COPY_DEFAULTS = { delays: '20,50', cells: 'rnn,lstm,gru', S: 3, K: 4, hidden: 32, batch: 32, steps: 600, lr: 0.01, clip: 1, seed: 0, evalEvery: 50, testSize: 256, figures: FIGURES };

export function main(argv: readonly string[]): void {
  const a = parseArgs(argv, COPY_DEFAULTS);
  const delays = String(a.delays).split(',').map(Number);
  const cells = String(a.cells).split(',') as ExpCell[];
  console.log(`copy task: S = ${a.S} symbols of K = ${a.K}, delay D, hidden ${a.hidden}, batch ${a.batch}, ${a.steps} Adam steps (lr ${a.lr}, clip ${a.clip}), seed ${a.seed}; accuracy on ${a.testSize} fresh sequences; chance = ${(1 / a.K).toFixed(3)}`);
  const rows: (string | number)[][] = [];
  for (const D of delays) {
    const results: CopyResult[] = [];
    for (const cell of cells) {
      const r = runCopy({ cell, S: a.S, D, K: a.K, hidden: a.hidden, batch: a.batch, steps: a.steps, lr: a.lr, clip: a.clip, seed: a.seed, evalEvery: a.evalEvery, testSize: a.testSize });
      results.push(r);
      const verdict = r.accuracy > 0.95 ? 'solved (> 95%)' : r.accuracy > 1 / a.K + 0.1 ? 'partly' : 'fails (≈ chance)';
      rows.push([D, 2 * a.S + D, CELL_LABEL[cell], `${(100 * r.accuracy).toFixed(1)}%`, `${(100 / a.K).toFixed(0)}%`, verdict, r.seconds.toFixed(0)]);
      console.log(`  D=${D} ${CELL_LABEL[cell]}: accuracy ${(100 * r.accuracy).toFixed(1)}% in ${r.seconds.toFixed(0)} s`);
    }
    const file = saveFigure(String(a.figures), `copy-D${D}.svg`, linePlot({
      title: `Copy task, ${a.S} symbols after a delay of ${D}: test accuracy`, xLabel: 'training step', yLabel: 'accuracy on the recalled symbols',
      series: results.map((r) => ({ name: CELL_LABEL[r.cell], x: r.curve.map((c) => c.step), y: r.curve.map((c) => c.accuracy) })),
      hLines: [{ y: 1 / a.K, label: `chance (1/${a.K})` }],
    }));
    if (file) console.log(`  figure: ${file}`);
  }
  console.log(`\n${table(['delay D', 'T', 'cell', 'accuracy', 'chance', 'verdict', 'seconds'], rows)}`);
}

if (require.main === module) main(process.argv.slice(2));
