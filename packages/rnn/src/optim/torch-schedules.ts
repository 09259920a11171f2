import { TensorError } from '@unfold/tensor';
import { checkOptions } from '../options';
import { Schedule } from './schedules';

/**
 * torch.optim.lr_scheduler's schedules, number for number: `s(t)` is PyTorch's get_last_lr()
 * after t scheduler.step() calls, i.e. the lr of the (t+1)-th update (same convention as
 * schedules.ts: `opt.lr = s(step)` before each step, step 0 first).
 *
 * PyTorch computes most of them recursively (lr_t from lr_{t−1}), and its recursive cosine is
 * not its closed form past T_max, so these follow the recursion itself, in the same float
 * operations. A cursor keeps the last state, so calling with increasing steps (a training loop)
 * costs O(1) per call; a smaller step restarts the recursion from 0. Still a pure function of
 * the step: the same t gives the same lr, whatever was asked before.
 */

function num(op: string, name: string, v: unknown, ok: (x: number) => boolean, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new TensorError(op, `${name} must be ${what}, got ${String(v)}`);
  return v;
}
const nonNeg = (op: string, name: string, v: unknown) => num(op, name, v, (x) => x >= 0, 'a finite number >= 0');
const posInt = (op: string, name: string, v: unknown) => num(op, name, v, (x) => Number.isInteger(x) && x >= 1, 'an integer >= 1');
const positive = (op: string, name: string, v: unknown) => num(op, name, v, (x) => x > 0, 'a finite number > 0');

/** A schedule defined by state_0 and state_t = advance(state_{t−1}, t), read by lrOf. */
function recurrence<S>(op: string, init: () => S, advance: (s: S, t: number) => S, lrOf: (s: S) => number, maxStep = Infinity): Schedule {
  let t0 = 0;
  let s = init();
  return (step: number) => {
    if (typeof step !== 'number' || !Number.isInteger(step) || step < 0) throw new TensorError(op, `step must be a non-negative integer, got ${String(step)}`);
    if (step > maxStep) throw new TensorError(op, `step ${step} is past totalSteps ${maxStep} (PyTorch: "Tried to step ${step + 1} times")`);
    if (step < t0) {
      t0 = 0;
      s = init();
    }
    while (t0 < step) s = advance(s, ++t0);
    return lrOf(s);
  };
}

/** Python's a % m (the sign of m), which the cosine recursion relies on for negative a. */
const pyMod = (a: number, m: number) => ((a % m) + m) % m;

/** StepLR: lr·γ at every stepSize-th step (γ default 0.1). */
export function stepLR(lr: number, o: { stepSize: number; gamma?: number }): Schedule {
  const op = 'stepLR';
  checkOptions(op, o, ['stepSize', 'gamma'], { required: true });
  nonNeg(op, 'lr', lr);
  const size = posInt(op, 'stepSize', o.stepSize);
  const gamma = positive(op, 'gamma', o.gamma ?? 0.1);
  return recurrence(op, () => lr, (prev, t) => (t % size === 0 ? prev * gamma : prev), (x) => x);
}

/** MultiStepLR: lr·γ^k at a milestone listed k times (γ default 0.1). */
export function multiStepLR(lr: number, o: { milestones: readonly number[]; gamma?: number }): Schedule {
  const op = 'multiStepLR';
  checkOptions(op, o, ['milestones', 'gamma'], { required: true });
  nonNeg(op, 'lr', lr);
  if (!Array.isArray(o.milestones)) throw new TensorError(op, `milestones must be an array of steps, got ${typeof o.milestones}`);
  const count = new Map<number, number>();
  o.milestones.forEach((m, i) => count.set(posInt(op, `milestones[${i}]`, m), (count.get(m) ?? 0) + 1));
  const gamma = positive(op, 'gamma', o.gamma ?? 0.1);
  return recurrence(op, () => lr, (prev, t) => (count.has(t) ? prev * Math.pow(gamma, count.get(t)!) : prev), (x) => x);
}

/** ExponentialLR: lr·γ per step. */
export function exponentialLR(lr: number, o: { gamma: number }): Schedule {
  const op = 'exponentialLR';
  checkOptions(op, o, ['gamma'], { required: true });
  nonNeg(op, 'lr', lr);
  const gamma = positive(op, 'gamma', o.gamma);
  return recurrence(op, () => lr, (prev) => prev * gamma, (x) => x);
}

/**
 * CosineAnnealingLR, PyTorch's recursive form (SGDR without restarts):
 *   lr_t = (1 + cos(πt/T)) / (1 + cos(π(t−1)/T)) · (lr_{t−1} − ηmin) + ηmin,
 * and at t ≡ T + 1 (mod 2T), where that ratio is 0/0-prone, lr_t = lr_{t−1} + (lr − ηmin)(1 − cos(π/T))/2.
 * Up to T it equals the closed form; past T it rises again as a cosine of period 2T
 * (unlike schedules.ts' `cosine`, which holds at minLr).
 */
export function cosineAnnealingLR(lr: number, o: { tMax: number; etaMin?: number }): Schedule {
  const op = 'cosineAnnealingLR';
  checkOptions(op, o, ['tMax', 'etaMin'], { required: true });
  nonNeg(op, 'lr', lr);
  const T = posInt(op, 'tMax', o.tMax);
  const eta = nonNeg(op, 'etaMin', o.etaMin ?? 0);
  return recurrence(
    op,
    () => lr,
    (prev, t) =>
      pyMod(t - 1 - T, 2 * T) === 0
        ? prev + ((lr - eta) * (1 - Math.cos(Math.PI / T))) / 2
        : ((1 + Math.cos((Math.PI * t) / T)) / (1 + Math.cos((Math.PI * (t - 1)) / T))) * (prev - eta) + eta,
    (x) => x,
  );
}

/**
 * CosineAnnealingWarmRestarts (Loshchilov & Hutter's SGDR), stepped once per update:
 *   lr_t = ηmin + (lr − ηmin)(1 + cos(π·Tcur/Ti))/2, Tcur += 1 each step, and at Tcur = Ti
 *   a restart: Tcur −= Ti, Ti ·= tMult (first period t0).
 */
export function cosineAnnealingWarmRestarts(lr: number, o: { t0: number; tMult?: number; etaMin?: number }): Schedule {
  const op = 'cosineAnnealingWarmRestarts';
  checkOptions(op, o, ['t0', 'tMult', 'etaMin'], { required: true });
  nonNeg(op, 'lr', lr);
  const t0 = posInt(op, 't0', o.t0);
  const mult = posInt(op, 'tMult', o.tMult ?? 1);
  const eta = nonNeg(op, 'etaMin', o.etaMin ?? 0);
  return recurrence(
    op,
    () => ({ cur: 0, ti: t0 }),
    (s) => {
      let cur = s.cur + 1;
      let ti = s.ti;
      if (cur >= ti) {
        cur -= ti;
        ti *= mult;
      }
      return { cur, ti };
    },
    (s) => eta + ((lr - eta) * (1 + Math.cos((Math.PI * s.cur) / s.ti))) / 2,
  );
}

export interface OneCycleOptions {
  totalSteps: number;
  /** Fraction of the steps spent rising to maxLr (default 0.3). */
  pctStart?: number;
  annealStrategy?: 'cos' | 'linear';
  /** initial lr = maxLr / divFactor (default 25). */
  divFactor?: number;
  /** final lr = initial lr / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** Rise, fall back to the initial lr, then anneal to the final lr (fast.ai's form). */
  threePhase?: boolean;
}

/**
 * OneCycleLR (Smith & Topin, super-convergence), the learning rate only (PyTorch also cycles
 * momentum; set the optimizer's momentum yourself). Defined for steps 0 … totalSteps, as PyTorch.
 */
export function oneCycleLR(maxLr: number, o: OneCycleOptions): Schedule {
  const op = 'oneCycleLR';
  checkOptions(op, o, ['totalSteps', 'pctStart', 'annealStrategy', 'divFactor', 'finalDivFactor', 'threePhase'], { required: true });
  nonNeg(op, 'maxLr', maxLr);
  const total = posInt(op, 'totalSteps', o.totalSteps);
  const pct = num(op, 'pctStart', o.pctStart ?? 0.3, (x) => x >= 0 && x <= 1, 'in [0, 1]');
  const strategy = o.annealStrategy ?? 'cos';
  if (strategy !== 'cos' && strategy !== 'linear') throw new TensorError(op, `annealStrategy must be 'cos' or 'linear', got '${String(strategy)}'`);
  const initial = maxLr / positive(op, 'divFactor', o.divFactor ?? 25);
  const min = initial / positive(op, 'finalDivFactor', o.finalDivFactor ?? 1e4);
  const anneal = strategy === 'cos' ? (a: number, b: number, p: number) => b + ((a - b) / 2) * (Math.cos(Math.PI * p) + 1) : (a: number, b: number, p: number) => (b - a) * p + a;
  // [end step, start lr, end lr] per phase, as PyTorch's _schedule_phases
  const phases: [number, number, number][] = o.threePhase
    ? [[pct * total - 1, initial, maxLr], [2 * pct * total - 2, maxLr, initial], [total - 1, initial, min]]
    : [[pct * total - 1, initial, maxLr], [total - 1, maxLr, min]];
  return recurrence(op, () => 0, (_, t) => t, (t) => {
    let start = 0;
    for (let i = 0; i < phases.length; i++) {
      const [end, a, b] = phases[i];
      if (t <= end || i === phases.length - 1) return anneal(a, b, (t - start) / (end - start));
      start = end;
    }
    return min; // unreachable: the last phase always returns
  }, total);
}
