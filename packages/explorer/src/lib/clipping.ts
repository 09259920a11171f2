// Panel 2's second plot: exploding gradients and clipping (Pascanu, Mikolov & Bengio 2013), as
// docs/experiments.md §6 runs it. A vanilla tanh RNN with W_hh = ρ·Q (Q orthogonal: every
// |λ| = ρ, ‖W_hh‖₂ = ρ) on the adding problem, trained twice by fitAsync from the same seed
// (same weights, same batches), once without and once with clipGradNorm; per step the global
// gradient norm before clipping (fitAsync's StepRecord.gradNorm, from clipGradNorm) and the
// norm of the gradient actually applied (summed here, independently of clipGradNorm).
import { Rng } from '@unfold/tensor';
import { Optimizer, createOptimizer, fitAsync, orthogonal } from '@unfold/rnn';
import { AddingNet, AddingTask } from './adding';

export interface ClipSettings { radius: number; T: number; hidden: number; batch: number; steps: number; lr: number; clip: number; seed: number }
/** docs/experiments.md §6: ρ 3, T 50, hidden 32, batch 32, 300 SGD steps at lr 0.05, clip 1. */
export const CLIP_DEFAULTS: ClipSettings = { radius: 3, T: 50, hidden: 32, batch: 32, steps: 300, lr: 0.05, clip: 1, seed: 0 };

export interface ClipRun {
  /** The clipping threshold, or null for none. */
  clip: number | null;
  /** ‖∇L‖₂ before clipping, per step. */
  gradNorms: number[];
  /** ‖∇L‖₂ of the gradient the optimizer applied (after clipping), per step. */
  appliedNorms: number[];
  losses: number[];
  /** The step whose loss was no longer finite (fitAsync stops there, naming it), or null. */
  diverged: number | null;
  error?: string;
}

/** The RNN of the experiment: the adding problem's net with W_hh ← ρ·Q (the library's orthogonal initialiser with gain ρ). */
export function clipNet(s: ClipSettings): AddingNet {
  const net = new AddingNet('rnn', s.hidden, s.seed);
  net.rnn.weights(0).whh.data.set(orthogonal([s.hidden, s.hidden], new Rng(s.seed + 7), 'float32', s.radius).data);
  return net;
}

/** The global L2 norm of the parameters' gradients as they are now. */
function appliedNorm(opt: Optimizer): number {
  let sq = 0;
  for (const p of opt.params) if (p.grad) for (const v of p.grad.toFlatArray()) sq += v * v;
  return Math.sqrt(sq);
}

/** One training run (clip null: no clipping); stops at the first non-finite loss and says so. */
export async function runClipping(s: ClipSettings, clip: number | null, signal?: { readonly aborted: boolean }): Promise<ClipRun> {
  const net = clipNet(s);
  const task = new AddingTask(net, s.T, s.batch, s.seed);
  const opt = createOptimizer('sgd', net.parameters(), { lr: s.lr });
  const run: ClipRun = { clip, gradNorms: [], appliedNorms: [], losses: [], diverged: null };
  const step = opt.step.bind(opt);
  opt.step = () => { // after fitAsync's clipGradNorm, before the update: what is applied
    run.appliedNorms.push(appliedNorm(opt));
    step();
  };
  try {
    await fitAsync(net, task, {
      steps: s.steps, optimizer: opt, clipNorm: clip ?? undefined, log: 'none', signal,
      onStep: (r) => {
        run.gradNorms.push(r.gradNorm);
        run.losses.push(r.loss);
      },
    });
  } catch (e) {
    // Without clipping the weights blow up: fitAsync names the step whose loss is not finite.
    if (!/loss is (NaN|-?Infinity) at step/.test(String(e))) throw e;
    run.diverged = run.gradNorms.length + 1;
    run.error = String(e instanceof Error ? e.message : e);
  }
  return run;
}

const CLIP_KEYS: Record<keyof ClipSettings, { key: string; lo: number; hi: number; int: boolean }> = {
  radius: { key: 'clipRadius', lo: 0.1, hi: 5, int: false },
  T: { key: 'clipT', lo: 2, hi: 200, int: true },
  hidden: { key: 'clipHidden', lo: 2, hi: 128, int: true },
  batch: { key: 'clipBatch', lo: 1, hi: 256, int: true },
  steps: { key: 'clipSteps', lo: 1, hi: 5000, int: true },
  lr: { key: 'clipLr', lo: 1e-5, hi: 10, int: false },
  clip: { key: 'clip', lo: 1e-6, hi: 1e6, int: false },
  seed: { key: 'clipSeed', lo: 0, hi: 1e6, int: true },
};

/** Panel 2's clipping settings from the URL (`#flow?clipRadius=3&clipT=50&clip=1`), named errors for bad values. */
export function parseClipSettings(q: URLSearchParams): ClipSettings {
  const s = { ...CLIP_DEFAULTS };
  for (const [k, { key, lo, hi, int }] of Object.entries(CLIP_KEYS) as [keyof ClipSettings, (typeof CLIP_KEYS)[keyof ClipSettings]][]) {
    const v = q.get(key);
    if (v === null) continue;
    const x = Number(v);
    if (!Number.isFinite(x) || x < lo || x > hi || (int && !Number.isInteger(x))) throw new Error(`flow: ${key}=${v} is not ${int ? 'an integer' : 'a number'} in [${lo}, ${hi}]`);
    s[k] = x;
  }
  return s;
}

/** The URL keys of the settings that differ from the defaults (for links). */
export function clipQuery(s: ClipSettings): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, { key }] of Object.entries(CLIP_KEYS) as [keyof ClipSettings, { key: string }][]) if (s[k] !== CLIP_DEFAULTS[k]) out[key] = s[k];
  return out;
}
