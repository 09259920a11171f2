import { Tensor, TensorError } from '@unfold/tensor';
import { Module } from '../nn/module';
import { Optimizer } from '../optim/optimizer';
import { ReduceLROnPlateau, ReduceLROnPlateauOptions } from '../optim/plateau';
import { Schedule } from '../optim/schedules';
import { checkOptions } from '../options';

/** Epoch results: loss, metrics, and val_ prefixed ones when there is validation data. */
export type Logs = Record<string, number>;

export interface CallbackContext {
  model: Module;
  optimizer: Optimizer;
  /** Set to true to end training after this epoch (early stopping). */
  stopTraining: boolean;
  /** Optimizer steps taken so far. */
  step: number;
}

/** Keras' callback hooks; every one is optional. */
export interface Callback {
  onTrainBegin?(ctx: CallbackContext): void;
  onEpochBegin?(epoch: number, ctx: CallbackContext): void;
  onBatchBegin?(step: number, ctx: CallbackContext): void;
  onBatchEnd?(step: number, logs: Logs, ctx: CallbackContext): void;
  onEpochEnd?(epoch: number, logs: Logs, ctx: CallbackContext): void;
  onTrainEnd?(logs: Logs, ctx: CallbackContext): void;
}

function monitored(op: string, logs: Logs, monitor: string): number {
  const v = logs[monitor];
  if (v === undefined) throw new TensorError(op, `monitor '${monitor}' is not in the epoch logs (have: ${Object.keys(logs).join(', ')})`);
  return v;
}
const better = (mode: 'min' | 'max', a: number, b: number, delta: number) => (mode === 'min' ? a < b - delta : a > b + delta);
const modeOf = (monitor: string, mode: 'auto' | 'min' | 'max' | undefined): 'min' | 'max' => (mode && mode !== 'auto' ? mode : /acc/.test(monitor) ? 'max' : 'min');

const cloneState = (m: Module): Record<string, Tensor> => Object.fromEntries(Object.entries(m.stateDict()).map(([k, v]) => [k, v.clone()]));

/** keras.callbacks.EarlyStopping: stop after `patience` epochs without improvement; optionally restore the best weights. */
export function earlyStopping(o: { monitor?: string; patience?: number; minDelta?: number; mode?: 'auto' | 'min' | 'max'; restoreBestWeights?: boolean } = {}): Callback & { stoppedEpoch: number | null; bestEpoch: number | null } {
  checkOptions('earlyStopping', o, ['monitor', 'patience', 'minDelta', 'mode', 'restoreBestWeights']);
  const monitor = o.monitor ?? 'val_loss';
  const patience = o.patience ?? 0;
  if (!Number.isInteger(patience) || patience < 0) throw new TensorError('earlyStopping', `patience must be a non-negative integer, got ${patience}`);
  const mode = modeOf(monitor, o.mode);
  let best = mode === 'min' ? Infinity : -Infinity;
  let wait = 0;
  let weights: Record<string, Tensor> | null = null;
  const cb = {
    stoppedEpoch: null as number | null,
    bestEpoch: null as number | null,
    onTrainBegin() {
      best = mode === 'min' ? Infinity : -Infinity;
      wait = 0;
      weights = null;
    },
    onEpochEnd(epoch: number, logs: Logs, ctx: CallbackContext) {
      // Keras' rule: an improving epoch never stops; otherwise stop once `patience` epochs in a row did not improve
      const v = monitored('earlyStopping', logs, monitor);
      wait++;
      if (better(mode, v, best, o.minDelta ?? 0)) {
        best = v;
        wait = 0;
        cb.bestEpoch = epoch;
        if (o.restoreBestWeights) weights = cloneState(ctx.model);
        return;
      }
      if (wait >= patience && epoch > 0) {
        ctx.stopTraining = true;
        cb.stoppedEpoch = epoch;
      }
    },
    onTrainEnd(_: Logs, ctx: CallbackContext) {
      if (o.restoreBestWeights && weights && cb.stoppedEpoch !== null) ctx.model.loadStateDict(weights);
    },
  };
  return cb;
}

/** keras.callbacks.LearningRateScheduler: lr = fn(epoch, lr) at the start of each epoch. */
export function learningRateScheduler(fn: (epoch: number, lr: number) => number): Callback {
  if (typeof fn !== 'function') throw new TensorError('learningRateScheduler', `expects (epoch, lr) => lr, got ${typeof fn}`);
  return { onEpochBegin: (epoch, ctx) => void (ctx.optimizer.lr = fn(epoch, ctx.optimizer.lr)) };
}

/** A per-step Schedule (stepLR, oneCycleLR, cosine, …): lr = schedule(step) before each step. */
export function stepSchedule(schedule: Schedule): Callback {
  if (typeof schedule !== 'function') throw new TensorError('stepSchedule', `expects a schedule (step => lr), got ${typeof schedule}`);
  return { onBatchBegin: (step, ctx) => void (ctx.optimizer.lr = schedule(step)) };
}

/** keras.callbacks.ReduceLROnPlateau on an epoch log (PyTorch's rule, optim/plateau.ts). */
export function reduceLROnPlateau(o: ReduceLROnPlateauOptions & { monitor?: string } = {}): Callback {
  const { monitor = 'val_loss', ...rest } = o;
  let r: ReduceLROnPlateau | null = null;
  return {
    onTrainBegin: (ctx) => void (r = new ReduceLROnPlateau(ctx.optimizer, rest)),
    onEpochEnd: (_, logs) => void r!.step(monitored('reduceLROnPlateau', logs, monitor)),
  };
}

/**
 * keras.callbacks.ModelCheckpoint with an injected `save` (the library writes no files): called
 * with a copy of the weights after each epoch, or only when `monitor` improved (saveBestOnly).
 */
export function modelCheckpoint(save: (weights: Record<string, Tensor>, info: { epoch: number; logs: Logs }) => void, o: { monitor?: string; saveBestOnly?: boolean; mode?: 'auto' | 'min' | 'max' } = {}): Callback {
  checkOptions('modelCheckpoint', o, ['monitor', 'saveBestOnly', 'mode']);
  if (typeof save !== 'function') throw new TensorError('modelCheckpoint', `save must be a function, got ${typeof save}`);
  const monitor = o.monitor ?? 'val_loss';
  const mode = modeOf(monitor, o.mode);
  let best = mode === 'min' ? Infinity : -Infinity;
  return {
    onEpochEnd(epoch, logs, ctx) {
      if (o.saveBestOnly) {
        const v = monitored('modelCheckpoint', logs, monitor);
        if (!better(mode, v, best, 0)) return;
        best = v;
      }
      save(cloneState(ctx.model), { epoch, logs: { ...logs } });
    },
  };
}

/** keras.callbacks.CSVLogger to an injected writer: a header line, then one row per epoch. */
export function csvLogger(write: (text: string) => void, o: { separator?: string } = {}): Callback {
  checkOptions('csvLogger', o, ['separator']);
  const sep = o.separator ?? ',';
  let keys: string[] | null = null;
  return {
    onTrainBegin: () => void (keys = null),
    onEpochEnd(epoch, logs) {
      if (!keys) {
        keys = Object.keys(logs);
        write(['epoch', ...keys].join(sep) + '\n');
      }
      write([String(epoch), ...keys.map((k) => String(logs[k] ?? ''))].join(sep) + '\n');
    },
  };
}

/** One JSON object per epoch per line ({"epoch":0,"loss":…}) to an injected writer. */
export function jsonLogger(write: (text: string) => void): Callback {
  return { onEpochEnd: (epoch, logs) => write(JSON.stringify({ epoch, ...logs }) + '\n') };
}
