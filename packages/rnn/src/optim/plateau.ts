import { TensorError } from '@unfold/tensor';
import { checkOptions, keysOf } from '../options';

export interface ReduceLROnPlateauOptions {
  /** 'min': lower metric is better (a loss); 'max': higher is better (accuracy). */
  mode?: 'min' | 'max';
  /** new lr = max(lr·factor, minLr), factor < 1 (default 0.1). */
  factor?: number;
  /** Bad evaluations tolerated before a reduction (default 10). */
  patience?: number;
  /** Improvement needed to count as better (default 1e-4). */
  threshold?: number;
  /** 'rel': better than best·(1 ∓ threshold); 'abs': better than best ∓ threshold. */
  thresholdMode?: 'rel' | 'abs';
  /** Evaluations to wait after a reduction before counting bad ones again (default 0). */
  cooldown?: number;
  minLr?: number;
  /** A reduction smaller than eps is skipped (default 1e-8). */
  eps?: number;
}

/** The serializable state, to resume a run where it left off. */
export interface PlateauState {
  lr: number;
  best: number;
  numBad: number;
  cooldownCounter: number;
  lastEpoch: number;
}

/**
 * torch.optim.lr_scheduler.ReduceLROnPlateau: not a function of the step but of the
 * validation metric, so a small stateful object. `step(metric)` after each evaluation returns
 * the (possibly reduced) lr and writes it to the target (an optimizer, or anything with `lr`).
 */
export class ReduceLROnPlateau {
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLr: number;
  readonly eps: number;
  best: number;
  numBad = 0;
  cooldownCounter = 0;
  lastEpoch = 0;

  constructor(readonly target: { lr: number }, o: ReduceLROnPlateauOptions = {}) {
    const op = 'ReduceLROnPlateau';
    checkOptions(op, o, keysOf<ReduceLROnPlateauOptions>({ mode: 1, factor: 1, patience: 1, threshold: 1, thresholdMode: 1, cooldown: 1, minLr: 1, eps: 1 }));
    if (target === null || typeof target !== 'object' || typeof target.lr !== 'number') throw new TensorError(op, 'target must be an optimizer (an object with a numeric lr)');
    this.mode = o.mode ?? 'min';
    if (this.mode !== 'min' && this.mode !== 'max') throw new TensorError(op, `mode must be 'min' or 'max', got '${String(this.mode)}'`);
    this.thresholdMode = o.thresholdMode ?? 'rel';
    if (this.thresholdMode !== 'rel' && this.thresholdMode !== 'abs') throw new TensorError(op, `thresholdMode must be 'rel' or 'abs', got '${String(this.thresholdMode)}'`);
    this.factor = o.factor ?? 0.1;
    if (!(this.factor > 0 && this.factor < 1)) throw new TensorError(op, `factor must be in (0, 1), got ${this.factor}`);
    const count = (k: 'patience' | 'cooldown', d: number) => {
      const v = o[k] ?? d;
      if (!Number.isInteger(v) || v < 0) throw new TensorError(op, `${k} must be a non-negative integer, got ${v}`);
      return v;
    };
    this.patience = count('patience', 10);
    this.cooldown = count('cooldown', 0);
    const nonNeg = (k: 'threshold' | 'minLr' | 'eps', d: number) => {
      const v = o[k] ?? d;
      if (!(v >= 0 && Number.isFinite(v))) throw new TensorError(op, `${k} must be a finite number >= 0, got ${v}`);
      return v;
    };
    this.threshold = nonNeg('threshold', 1e-4);
    this.minLr = nonNeg('minLr', 0);
    this.eps = nonNeg('eps', 1e-8);
    this.best = this.mode === 'min' ? Infinity : -Infinity;
  }

  private isBetter(a: number): boolean {
    const { best, threshold: th } = this;
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? a < best * (1 - th) : a < best - th;
    return this.thresholdMode === 'rel' ? a > best * (th + 1) : a > best + th;
  }

  /** One evaluation's metric → the lr to use from now on. */
  step(metric: number): number {
    if (typeof metric !== 'number' || Number.isNaN(metric)) throw new TensorError('ReduceLROnPlateau', `metric must be a number, got ${String(metric)}`);
    this.lastEpoch++;
    if (this.isBetter(metric)) {
      this.best = metric;
      this.numBad = 0;
    } else this.numBad++;
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.numBad = 0; // bad evaluations during cooldown do not count
    }
    if (this.numBad > this.patience) {
      const old = this.target.lr;
      const next = Math.max(old * this.factor, this.minLr);
      if (old - next > this.eps) this.target.lr = next;
      this.cooldownCounter = this.cooldown;
      this.numBad = 0;
    }
    return this.target.lr;
  }

  stateDict(): PlateauState {
    return { lr: this.target.lr, best: this.best, numBad: this.numBad, cooldownCounter: this.cooldownCounter, lastEpoch: this.lastEpoch };
  }

  loadStateDict(s: PlateauState): void {
    checkOptions('ReduceLROnPlateau.loadStateDict', s, keysOf<PlateauState>({ lr: 1, best: 1, numBad: 1, cooldownCounter: 1, lastEpoch: 1 }), { required: true, what: 'field' });
    for (const k of ['numBad', 'cooldownCounter', 'lastEpoch'] as const) {
      if (!Number.isInteger(s[k]) || s[k] < 0) throw new TensorError('ReduceLROnPlateau.loadStateDict', `${k} must be a non-negative integer, got ${s[k]}`);
    }
    if (typeof s.best !== 'number' || Number.isNaN(s.best)) throw new TensorError('ReduceLROnPlateau.loadStateDict', `best must be a number, got ${String(s.best)}`);
    if (!(s.lr >= 0)) throw new TensorError('ReduceLROnPlateau.loadStateDict', `lr must be >= 0, got ${s.lr}`);
    this.target.lr = s.lr;
    this.best = s.best;
    this.numBad = s.numBad;
    this.cooldownCounter = s.cooldownCounter;
    this.lastEpoch = s.lastEpoch;
  }
}
