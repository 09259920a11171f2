import { TensorError } from '@unfold/tensor';

/**
 * Learning-rate schedules as pure functions of the step.
 *
 * Convention: `schedule(step)` is the learning rate itself (not a factor of some base lr)
 * for the 0-based step about to be taken, i.e. the training loop does
 *     opt.lr = schedule(step); …backward…; opt.step();
 * with step = 0 on the first update. Every constructor takes the lr values it needs.
 * A schedule built with lr 1 is a pure multiplier, which is how `compose` uses them:
 *     compose(cosine(3e-3, 10_000), cyclic(0.5, 1, 500))   // cosine envelope × [0.5, 1] wave
 * Schedules are stateless, so resuming from a checkpoint only needs the step number.
 * Calling one with a step that is not a non-negative integer throws.
 */
export type Schedule = (step: number) => number;

function schedule(op: string, f: (step: number) => number): Schedule {
  return (step: number) => {
    if (typeof step !== 'number' || !Number.isInteger(step) || step < 0) {
      throw new TensorError(op, `step must be a non-negative integer, got ${String(step)}`);
    }
    return f(step);
  };
}

function check(op: string, name: string, v: unknown, ok: (x: number) => boolean, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new TensorError(op, `${name} must be ${what}, got ${String(v)}`);
  return v;
}
const lrArg = (op: string, name: string, v: unknown) => check(op, name, v, (x) => x >= 0, 'a finite number >= 0');
const countArg = (op: string, name: string, v: unknown) => check(op, name, v, (x) => Number.isInteger(x) && x >= 1, 'an integer >= 1');
const gammaArg = (op: string, v: unknown) => check(op, 'gamma', v, (x) => x > 0, 'a finite number > 0');
function scheduleArg(op: string, name: string, s: unknown): Schedule {
  if (typeof s !== 'function') throw new TensorError(op, `${name} must be a schedule (step => lr), got ${typeof s}`);
  return s as Schedule;
}

/** lr at every step. */
export function constant(lr: number): Schedule {
  lrArg('constant', 'lr', lr);
  return schedule('constant', () => lr);
}

/** PyTorch StepLR: lr · γ^⌊step / stepSize⌋. */
export function stepDecay(lr: number, stepSize: number, gamma: number): Schedule {
  lrArg('stepDecay', 'lr', lr);
  countArg('stepDecay', 'stepSize', stepSize);
  gammaArg('stepDecay', gamma);
  return schedule('stepDecay', (t) => lr * Math.pow(gamma, Math.floor(t / stepSize)));
}

/** PyTorch ExponentialLR: lr · γ^step. */
export function exponential(lr: number, gamma: number): Schedule {
  lrArg('exponential', 'lr', lr);
  gammaArg('exponential', gamma);
  return schedule('exponential', (t) => lr * Math.pow(gamma, t));
}

/**
 * PyTorch CosineAnnealingLR's closed form, one half-period:
 *   minLr + (lr − minLr)·(1 + cos(π·step/totalSteps))/2   for step ≤ totalSteps,
 * then held at minLr (PyTorch's closed form would rise again; a decay should not).
 */
export function cosine(lr: number, totalSteps: number, minLr = 0): Schedule {
  lrArg('cosine', 'lr', lr);
  countArg('cosine', 'totalSteps', totalSteps);
  lrArg('cosine', 'minLr', minLr);
  return schedule('cosine', (t) => (t >= totalSteps ? minLr : minLr + ((lr - minLr) * (1 + Math.cos((Math.PI * t) / totalSteps))) / 2));
}

/**
 * PyTorch CyclicLR (Smith 2017), without its momentum cycling:
 *   cycle = ⌊1 + step/(2·stepSize)⌋,  x = |step/stepSize − 2·cycle + 1|
 *   lr = baseLr + (maxLr − baseLr)·max(0, 1 − x)·s(cycle)
 * s = 1 for 'triangular'; s = 1/2^(cycle−1) for 'triangular2' (the amplitude halves each cycle).
 * Starts at baseLr, reaches maxLr at step = stepSize, is back at baseLr at 2·stepSize.
 */
export function cyclic(baseLr: number, maxLr: number, stepSize: number, mode: 'triangular' | 'triangular2' = 'triangular'): Schedule {
  lrArg('cyclic', 'baseLr', baseLr);
  lrArg('cyclic', 'maxLr', maxLr);
  if (maxLr < baseLr) throw new TensorError('cyclic', `maxLr must be >= baseLr, got maxLr ${maxLr} < baseLr ${baseLr}`);
  countArg('cyclic', 'stepSize', stepSize);
  if (mode !== 'triangular' && mode !== 'triangular2') {
    throw new TensorError('cyclic', `mode must be 'triangular' or 'triangular2', got '${String(mode)}'`);
  }
  return schedule('cyclic', (t) => {
    const cycle = Math.floor(1 + t / (2 * stepSize));
    const x = Math.abs(t / stepSize - 2 * cycle + 1);
    const s = mode === 'triangular' ? 1 : 1 / Math.pow(2, cycle - 1);
    return baseLr + (maxLr - baseLr) * Math.max(0, 1 - x) * s;
  });
}

/**
 * Linear warm-up into `then`:
 *   step < warmupSteps:  then(0)·(step + 1)/warmupSteps     (never 0: step 0 already moves)
 *   afterwards:          then(step − warmupSteps)           (`then` starts its own clock at 0)
 */
export function linearWarmup(warmupSteps: number, then: Schedule): Schedule {
  countArg('linearWarmup', 'warmupSteps', warmupSteps);
  scheduleArg('linearWarmup', 'then', then);
  return schedule('linearWarmup', (t) => (t < warmupSteps ? (then(0) * (t + 1)) / warmupSteps : then(t - warmupSteps)));
}

/**
 * PyTorch SequentialLR: schedules[i] runs on [milestones[i−1], milestones[i]) with its own
 * clock starting at 0 there. milestones: strictly increasing integers ≥ 1, one fewer than schedules.
 */
export function sequential(schedules: readonly Schedule[], milestones: readonly number[]): Schedule {
  const op = 'sequential';
  if (!Array.isArray(schedules) || schedules.length === 0) throw new TensorError(op, 'needs at least one schedule');
  schedules.forEach((s, i) => scheduleArg(op, `schedules[${i}]`, s));
  if (!Array.isArray(milestones) || milestones.length !== schedules.length - 1) {
    throw new TensorError(op, `${schedules.length} schedules need ${schedules.length - 1} milestones, got ${Array.isArray(milestones) ? milestones.length : typeof milestones}`);
  }
  milestones.forEach((m, i) => {
    countArg(op, `milestones[${i}]`, m);
    if (i > 0 && m <= milestones[i - 1]) throw new TensorError(op, `milestones must increase strictly, got [${milestones.join(', ')}]`);
  });
  const ss = schedules.slice();
  const ms = milestones.slice();
  return schedule(op, (t) => {
    let i = 0;
    while (i < ms.length && t >= ms[i]) i++;
    return ss[i](i === 0 ? t : t - ms[i - 1]);
  });
}

/**
 * The pointwise product of schedules (PyTorch ChainedScheduler multiplies factors the same way):
 * give one the real lr and build the others with lr 1 so they act as multipliers.
 */
export function compose(...schedules: Schedule[]): Schedule {
  if (schedules.length === 0) throw new TensorError('compose', 'needs at least one schedule');
  schedules.forEach((s, i) => scheduleArg('compose', `schedules[${i}]`, s));
  const ss = schedules.slice();
  return schedule('compose', (t) => ss.reduce((acc, s) => acc * s(t), 1));
}
