/**
 * Exploding gradients and clipping (Pascanu, Mikolov & Bengio 2013). A vanilla tanh RNN whose
 * recurrent matrix is W_hh = ρ·Q (Q orthogonal, so every eigenvalue has |λ| = ρ and ‖W_hh‖₂ = ρ)
 * with ρ = 3: the backward recurrence multiplies by diag(1 − h²)·W_hhᵀ at every step, and with
 * ρ > 1 that product can grow geometrically wherever the units are not saturated.
 * The same model, data and SGD steps are trained twice, with and without clipGradNorm, on the
 * adding problem; the pre-clip global gradient norm and the loss are recorded at every step.
 *
 *   node examples/dist/experiments/exploding.js [--rho 3] [--T 50] [--steps 300] [--lr 0.05] [--clip 1] …
 */
import { Rng } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { SGD, linePlot } from '@unfold/rnn';
import { ADDING_BASELINE, addingBatch } from './adding';
import { FIGURES, SeqNet, parseArgs, saveFigure, seconds, table, trainStep } from './common';

export interface ExplodeOptions { rho: number; T: number; hidden: number; batch: number; steps: number; lr: number; clip: number; seed: number }
export interface ExplodeResult { clip: number; gradNorms: number[]; appliedNorms: number[]; losses: number[]; diverged: number | null; seconds: number }

/** W_hh ← ρ·Q for a fresh orthogonal Q (the layer's own 'orthogonal' initialiser). */
export function explodingModel(o: { rho: number; hidden: number; seed: number }): SeqNet {
  const model = new SeqNet({ cell: 'rnn', inputSize: 2, hiddenSize: o.hidden, outputSize: 1, seed: o.seed, orthogonalHh: true });
  const whh = model.rnn.weights(0).whh;
  for (let i = 0; i < whh.size; i++) whh.data[i] *= o.rho;
  return model;
}

/** Trains with clipGradNorm(clip) (clip = Infinity: none). Stops at the first non-finite loss. */
export function runExploding(o: ExplodeOptions): ExplodeResult {
  const t0 = Date.now();
  const model = explodingModel(o);
  const opt = new SGD(model.parameters(), { lr: o.lr });
  const rng = new Rng(o.seed + 100);
  const gradNorms: number[] = [];
  const appliedNorms: number[] = [];
  const losses: number[] = [];
  let diverged: number | null = null;
  for (let s = 1; s <= o.steps; s++) {
    const { xs, y } = addingBatch(o.T, o.batch, rng);
    const r = trainStep(model, opt, () => {
      const hs = model.hiddens(xs);
      return ad.mse(model.fc.forward(hs[hs.length - 1]), y);
    }, o.clip);
    gradNorms.push(r.gradNorm);
    appliedNorms.push(r.appliedNorm);
    losses.push(r.loss);
    if (!Number.isFinite(r.loss) || !Number.isFinite(r.gradNorm)) {
      diverged = s;
      break;
    }
  }
  return { clip: o.clip, gradNorms, appliedNorms, losses, diverged, seconds: seconds(t0) };
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const meanOf = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

export const EXPLODE_DEFAULTS = { rho: 3, T: 50, hidden: 32, batch: 32, steps: 300, lr: 0.05, clip: 1, seed: 0, figures: FIGURES };

export function main(argv: readonly string[]): void {
  const a = parseArgs(argv, EXPLODE_DEFAULTS);
  console.log(`exploding gradients: vanilla tanh RNN, W_hh = ${a.rho}·Q (orthogonal Q), hidden ${a.hidden}; adding problem T = ${a.T}, batch ${a.batch}, ${a.steps} SGD steps (lr ${a.lr}), seed ${a.seed}`);
  const runs = [Infinity, a.clip].map((clip) => runExploding({ rho: a.rho, T: a.T, hidden: a.hidden, batch: a.batch, steps: a.steps, lr: a.lr, clip, seed: a.seed }));
  const rows = runs.map((r) => {
    const tail = r.losses.slice(-50).filter(Number.isFinite);
    return [
      r.clip === Infinity ? 'none' : `clipGradNorm(${r.clip})`, median(r.gradNorms).toExponential(2), Math.max(...r.gradNorms.filter(Number.isFinite)).toExponential(2),
      r.gradNorms.filter((g) => g > 10 * median(r.gradNorms)).length, tail.length ? meanOf(tail).toPrecision(4) : 'NaN', r.diverged === null ? 'no' : `step ${r.diverged}`, r.seconds.toFixed(0),
    ];
  });
  const names = runs.map((r) => (r.clip === Infinity ? 'no clipping' : `clipped at ${r.clip}`));
  const steps = (r: ExplodeResult) => r.gradNorms.map((_, i) => i + 1);
  const f1 = saveFigure(String(a.figures), 'exploding-gradnorm.svg', linePlot({
    title: `Vanilla RNN, ρ(W_hh) = ${a.rho}: gradient norm before clipping`, xLabel: 'training step', yLabel: '‖∇L‖₂ (pre-clip)', logY: true,
    series: runs.map((r, i) => ({ name: names[i], x: steps(r), y: r.gradNorms })),
    hLines: [{ y: a.clip, label: `clip threshold ${a.clip}` }],
  }));
  const f2 = saveFigure(String(a.figures), 'exploding-loss.svg', linePlot({
    title: `Vanilla RNN, ρ(W_hh) = ${a.rho}: training loss (adding, T = ${a.T})`, xLabel: 'training step', yLabel: 'MSE (training batch)', logY: true,
    series: runs.map((r, i) => ({ name: names[i], x: steps(r), y: r.losses })),
    hLines: [{ y: ADDING_BASELINE, label: 'baseline 0.167' }],
  }));
  if (f1) console.log(`  figures: ${f1}, ${f2}`);
  console.log(`\n${table(['clipping', 'median ‖∇L‖', 'max ‖∇L‖', 'steps > 10× median', 'mean loss, last 50 steps', 'diverged', 'seconds'], rows)}`);
}

if (require.main === module) main(process.argv.slice(2));
