/**
 * Truncated BPTT cannot learn dependencies longer than its window. A stream of random symbols
 * x_t ∈ {0…K−1}; the target at t is the input d steps earlier, y_t = x_{t−d}. Trained with
 * autodiff's bptt(k1, k2): every k1 steps, the losses of those k1 steps are backpropagated
 * through the last k2 steps, with the state carried forward (never reset). The loss at step s
 * of a window reaches back to step tEnd − k2 + 1, so at most k2 − 1 steps: the input x_{t−d}
 * gets a gradient only when k2 ≥ d + 1. With k2 ≤ d nothing links y_t to x_{t−d}: chance.
 *
 *   node examples/dist/experiments/truncation.js [--d 8] [--k1 4] [--k2s 4,8,12,16] [--updates 400] …
 */
import { Rng, Tensor, zeros } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { bptt, noGrad } from '@unfold/autodiff';
import { clipGradNorm, linePlot } from '@unfold/rnn';
import { CELL_LABEL, ExpCell, FIGURES, SeqNet, adam, parseArgs, saveFigure, seconds, table } from './common';

/** A stream of N steps × B lanes of random symbols: one-hot inputs [B, K] per step and the ids. */
export function symbolStream(N: number, B: number, K: number, rng: Rng): { xs: Tensor[]; ids: Int32Array[] } {
  const ids = Array.from({ length: N }, () => Int32Array.from({ length: B }, () => rng.int(0, K)));
  const xs = ids.map((row) => {
    const x = zeros([B, K]);
    row.forEach((id, b) => (x.data[b * K + id] = 1));
    return x;
  });
  return { xs, ids };
}

export interface TruncOptions { cell: ExpCell; d: number; k1: number; k2: number; K: number; hidden: number; batch: number; updates: number; lr: number; seed: number; evalEvery: number }
export interface TruncResult { k1: number; k2: number; accuracy: number; curve: { update: number; accuracy: number }[]; seconds: number }

/** Accuracy of predicting x_{t−d} at t on a fresh stream (state carried from t = 1, no tape). */
function accuracy(model: SeqNet, d: number, K: number, seed: number): number {
  const B = 64;
  const N = 4 * d + 40;
  const { xs, ids } = symbolStream(N, B, K, new Rng(seed));
  return noGrad(() => {
    let right = 0, n = 0;
    let s = model.initialState(B);
    for (let t = 0; t < N; t++) {
      s = model.cell(s, xs[t]);
      if (t < d + 10) continue; // warm-up: the first d targets do not exist
      const z = model.fc.forward(s[0]);
      for (let b = 0; b < B; b++) {
        let best = 0;
        for (let k = 1; k < K; k++) if (z.get(b, k) > z.get(b, best)) best = k;
        if (best === ids[t - d][b]) right++;
        n++;
      }
    }
    return right / n;
  });
}

export function runTruncation(o: TruncOptions): TruncResult {
  const t0 = Date.now();
  const model = new SeqNet({ cell: o.cell, inputSize: o.K, hiddenSize: o.hidden, outputSize: o.K, seed: o.seed });
  const params = model.parameters();
  const opt = adam(model, o.lr);
  const N = o.updates * o.k1; // exactly `updates` windows of k1 steps
  const { xs, ids } = symbolStream(N, o.batch, o.K, new Rng(o.seed + 100));
  const curve = [{ update: 0, accuracy: accuracy(model, o.d, o.K, o.seed + 999) }];
  let updates = 0;
  bptt({
    params: params.map((p) => p.value),
    state0: model.initialState(o.batch),
    xs,
    k1: o.k1,
    k2: o.k2,
    step: (state, x, t) => {
      const next = model.cell(state, x);
      if (t <= o.d) return next; // y_t = x_{t−d} exists from t = d + 1
      return { state: next, loss: ad.crossEntropy(model.fc.forward(next[0]), ids[t - 1 - o.d]) };
    },
    onUpdate: (grads) => {
      params.forEach((p, i) => (p.grad = grads[i]));
      clipGradNorm(params, 1);
      opt.step();
      updates++;
      if (updates % o.evalEvery === 0) curve.push({ update: updates, accuracy: accuracy(model, o.d, o.K, o.seed + 999) });
    },
  });
  if (curve[curve.length - 1].update !== updates) curve.push({ update: updates, accuracy: accuracy(model, o.d, o.K, o.seed + 999) });
  return { k1: o.k1, k2: o.k2, accuracy: curve[curve.length - 1].accuracy, curve, seconds: seconds(t0) };
}

export const TRUNC_DEFAULTS = { cell: 'gru', d: 8, k1: 4, k2s: '4,8,12,16', K: 4, hidden: 32, batch: 32, updates: 800, lr: 0.01, seed: 0, evalEvery: 50, figures: FIGURES };

export function main(argv: readonly string[]): void {
  const a = parseArgs(argv, TRUNC_DEFAULTS);
  const cell = String(a.cell) as ExpCell;
  const k2s = String(a.k2s).split(',').map(Number);
  console.log(`truncated BPTT: y_t = x_{t−${a.d}}, K = ${a.K} symbols, ${CELL_LABEL[cell]} hidden ${a.hidden}, batch ${a.batch}, ${a.updates} updates of k1 = ${a.k1} steps (Adam lr ${a.lr}, clip 1), seed ${a.seed}; chance = ${(1 / a.K).toFixed(3)}`);
  const results: TruncResult[] = [];
  const rows: (string | number)[][] = [];
  for (const k2 of k2s) {
    const r = runTruncation({ cell, d: a.d, k1: a.k1, k2, K: a.K, hidden: a.hidden, batch: a.batch, updates: a.updates, lr: a.lr, seed: a.seed, evalEvery: a.evalEvery });
    results.push(r);
    const reach = k2 >= a.d + 1;
    rows.push([a.k1, k2, a.d, reach ? 'yes' : 'no', `${(100 * r.accuracy).toFixed(1)}%`, `${(100 / a.K).toFixed(0)}%`, r.seconds.toFixed(0)]);
    console.log(`  k1=${a.k1} k2=${k2}: accuracy ${(100 * r.accuracy).toFixed(1)}% in ${r.seconds.toFixed(0)} s`);
  }
  const file = saveFigure(String(a.figures), 'truncation.svg', linePlot({
    title: `Truncated BPTT: y_t = x_{t−${a.d}}, accuracy vs the window k2`, xLabel: 'update', yLabel: 'accuracy (fresh stream)',
    series: results.map((r) => ({ name: `k1 = ${r.k1}, k2 = ${r.k2}${r.k2 >= a.d + 1 ? '' : ' (k2 ≤ d)'}`, x: r.curve.map((c) => c.update), y: r.curve.map((c) => c.accuracy) })),
    hLines: [{ y: 1 / a.K, label: `chance (1/${a.K})` }],
  }));
  if (file) console.log(`  figure: ${file}`);
  console.log(`\n${table(['k1', 'k2', 'delay d', 'gradient reaches x_{t−d}?', 'accuracy', 'chance', 'seconds'], rows)}`);
}

if (require.main === module) main(process.argv.slice(2));
