import { Tensor, TensorError } from '@unfold/tensor';
import { Checkpoint, CheckpointStore, JsonObject, packOptimizerState, unpackOptimizerState } from '../checkpoint';
import { Module } from '../nn/module';
import { Optimizer } from '../optim/optimizer';
import { clipGradNorm, clipGradValue } from '../optim/clip';
import { createOptimizer } from '../optim/create';
import { Schedule } from '../optim/schedules';
import { computeGradients } from './gradients';
import { LogMode, Progress, ProgressReporter } from './progress';
import { Task } from './task';
import { checkOptions } from '../options';

export interface StepRecord { step: number; loss: number; gradNorm: number; lr: number }
export interface ValRecord { step: number; loss: number }

export interface FitOptions {
  /** Stop after this many optimizer steps … */
  steps?: number;
  /** … or this many epochs of the task's data … */
  epochs?: number;
  /** … or after this many seconds (whichever comes first). */
  timeBudgetSec?: number;
  /** An optimizer, or a name + options for createOptimizer (default Adam, lr 2e-3). */
  optimizer?: Optimizer | { name: string; [k: string]: unknown };
  /** Learning rate per step (overrides the optimizer's lr every step). */
  schedule?: Schedule;
  /** Clip gradients to this global L2 norm (the pre-clip norm is recorded every step). */
  clipNorm?: number;
  /** Clip every gradient element to [−v, v]. */
  clipValue?: number;
  /** Validate every N steps (and at the end) when the task can. */
  valEvery?: number;
  /** Stop when validation loss has not improved by minDelta for `patience` validations; restore the best weights. */
  earlyStopping?: { patience: number; minDelta?: number; restoreBest?: boolean };
  /**
   * Save a checkpoint to this store every `checkpointEvery` steps and at the end; with
   * `resume`, continue from the one it holds. In Node: `directoryStore(dir)` from
   * '@unfold/rnn/node'; in a page: `memoryStore()` or your own (see CheckpointStore).
   */
  checkpoint?: CheckpointStore;
  /** Removed from the portable library: use `checkpoint: directoryStore(dir)` from '@unfold/rnn/node'. */
  checkpointDir?: never;
  checkpointEvery?: number;
  resume?: boolean;
  /** Stored in the checkpoint's meta as `config` (model config etc.); `unfold sample` rebuilds the model from it. */
  config?: JsonObject;
  /** Progress display: a mode of the built-in reporter (on stderr in Node, the console elsewhere) or your own reporter. */
  log?: LogMode | ProgressReporter;
  logEvery?: number;
  checkNumerics?: boolean;
  /**
   * At most this many step records (and as many validation records) are kept in memory, in the
   * result and in every checkpoint (default 2000): when the list is full every other record is
   * dropped and from then on every 2nd (4th, …) step is recorded, so a million-step run has flat
   * memory and a constant checkpoint size. onStep still sees every step.
   */
  historyLimit?: number;
  onStep?: (r: StepRecord) => void;
  onValidation?: (r: ValRecord) => void;
  /** Stop at the next step boundary once this signal is aborted (an AbortSignal or anything with `aborted`); the run ends with stopReason 'aborted' and still saves. */
  signal?: { readonly aborted: boolean };
}

export interface FitAsyncOptions extends FitOptions {
  /** Yield to the event loop after every this many steps (default 1), so a page stays responsive and callbacks can draw. */
  yieldEvery?: number;
}

export interface FitResult {
  steps: number;
  history: StepRecord[];
  validation: ValRecord[];
  bestValLoss: number | null;
  bestStep: number | null;
  stoppedEarly: boolean;
  stopReason: 'steps' | 'epochs' | 'time' | 'early-stopping' | 'aborted';
  seconds: number;
}

const KNOWN = ['steps', 'epochs', 'timeBudgetSec', 'optimizer', 'schedule', 'clipNorm', 'clipValue', 'valEvery', 'earlyStopping', 'checkpoint', 'checkpointEvery', 'resume', 'config', 'log', 'logEvery', 'checkNumerics', 'historyLimit', 'onStep', 'onValidation', 'signal'];

/**
 * The training loop, as Keras' fit: for each step, take the task's next batch, record the
 * forward pass on a fresh tape, backpropagate (BPTT happens inside, through the recorded time
 * steps), clip, step the optimizer, carry the detached state to the next batch; validate,
 * stop early, checkpoint. A run resumed from a checkpoint continues bit-identically.
 */
export function fit<B, S>(model: Module, task: Task<B, S>, o: FitOptions = {}): FitResult {
  const run = steps(model, task, o, 'fit', KNOWN);
  for (;;) {
    const r = run.next();
    if (r.done) return r.value;
  }
}

/**
 * fit for a page (or any event loop): the same loop, the same numbers, but it yields to the
 * event loop every `yieldEvery` steps, so input events, drawing and `onStep` callbacks run
 * while it trains, and `signal` can stop it. Resolves with fit's FitResult.
 */
export async function fitAsync<B, S>(model: Module, task: Task<B, S>, o: FitAsyncOptions = {}): Promise<FitResult> {
  const { yieldEvery = 1, ...rest } = o;
  if (!Number.isInteger(yieldEvery) || yieldEvery < 1) throw new TensorError('fitAsync', `yieldEvery must be a positive integer, got ${yieldEvery}`);
  const run = steps(model, task, rest, 'fitAsync', [...KNOWN, 'yieldEvery']);
  for (let k = 1; ; k++) {
    const r = run.next();
    if (r.done) return r.value;
    if (k % yieldEvery === 0) await yieldToEventLoop();
  }
}

/** A macrotask turn (MessageChannel: no 4 ms timer clamp; setTimeout where there is none). */
function yieldToEventLoop(): Promise<void> {
  const MC = (globalThis as unknown as { MessageChannel?: new () => { port1: { onmessage: (() => void) | null; close(): void }; port2: { postMessage(v: unknown): void; close(): void } } }).MessageChannel;
  if (MC === undefined) return new Promise((r) => setTimeout(r, 0));
  return new Promise((resolve) => {
    const ch = new MC();
    ch.port1.onmessage = () => {
      ch.port1.close();
      ch.port2.close();
      resolve();
    };
    ch.port2.postMessage(0);
  });
}

/** The loop itself, one `yield` after each optimizer step: fit drives it straight through, fitAsync with event-loop turns between. */
function* steps<B, S>(model: Module, task: Task<B, S>, o: FitOptions, op: string, known: string[]): Generator<void, FitResult> {
  if ('checkpointDir' in o) {
    throw new TensorError(op, "checkpointDir is Node-only and lives outside the portable library: pass checkpoint: directoryStore(dir), with directoryStore from '@unfold/rnn/node'");
  }
  checkOptions(op, o, known);
  if (o.steps === undefined && o.epochs === undefined && o.timeBudgetSec === undefined) throw new TensorError(op, 'give steps, epochs or timeBudgetSec');
  for (const k of ['steps', 'epochs', 'valEvery', 'checkpointEvery', 'logEvery', 'historyLimit'] as const) {
    const v = o[k];
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new TensorError(op, `${k} must be a positive integer, got ${v}`);
  }
  for (const k of ['clipNorm', 'clipValue', 'timeBudgetSec'] as const) {
    const v = o[k];
    if (v !== undefined && !(v > 0)) throw new TensorError(op, `${k} must be positive, got ${v}`);
  }
  if (o.earlyStopping && !task.validate) throw new TensorError(op, `earlyStopping needs validation data, and task '${task.name}' has none`);
  if (o.earlyStopping && !o.valEvery) throw new TensorError(op, 'earlyStopping needs valEvery (validation is what it watches; without it the run would never stop early)');
  if (o.earlyStopping) checkOptions(op, o.earlyStopping, ['patience', 'minDelta', 'restoreBest'], { what: 'earlyStopping option' });
  if (o.earlyStopping && !(Number.isInteger(o.earlyStopping.patience) && o.earlyStopping.patience >= 1)) throw new TensorError(op, 'earlyStopping.patience must be a positive integer');

  const params = model.parameters();
  const opt = o.optimizer instanceof Optimizer ? o.optimizer : createOptimizer(String(o.optimizer?.name ?? 'adam'), params, optimizerOpts(o.optimizer));
  const store = o.checkpoint;
  if (store !== undefined && (store === null || typeof store.save !== 'function' || typeof store.load !== 'function')) {
    throw new TensorError(op, 'checkpoint must be a CheckpointStore { save(ckpt), load() } (directoryStore(dir) from \'@unfold/rnn/node\', or memoryStore())');
  }
  if (o.resume && store === undefined) throw new TensorError(op, 'resume needs a checkpoint store to resume from (checkpoint: ...)');
  store?.check?.();

  const history: StepRecord[] = [];
  const validation: ValRecord[] = [];
  const limit = Math.max(2, o.historyLimit ?? 2000);
  // history holds the steps that are multiples of h.stride; validation the validations whose ordinal is a multiple of h.valStride
  const h: HistoryState = { stride: 1, valStride: 1, valCount: 0, bestVal: null };
  let step = 0;
  let best: { loss: number; step: number; weights: Record<string, Tensor> } | null = null;
  let sinceBest = 0;
  let state: S | undefined;
  const saved = o.resume && store ? store.load() : null;
  if (saved !== null) {
    const r = restore(saved, store?.describe ?? 'the checkpoint', model, opt, task);
    step = r.step;
    history.push(...r.history);
    validation.push(...r.validation);
    Object.assign(h, r.h);
    state = r.state as S | undefined;
  }

  const progress: ProgressReporter = typeof o.log === 'object' && o.log !== null ? o.log : new Progress(o.log ?? 'auto', o.logEvery ?? 50);
  const t0 = Date.now();
  const startStep = step;
  let stopReason: FitResult['stopReason'] = 'steps';
  const save = () => store?.save(trainingCheckpoint(model, opt, task, step, history, validation, state, o.config ?? {}, h));

  for (;;) {
    if (o.steps !== undefined && step >= o.steps) { stopReason = 'steps'; break; }
    if (o.timeBudgetSec !== undefined && (Date.now() - t0) / 1000 >= o.timeBudgetSec) { stopReason = 'time'; break; }
    if (o.signal?.aborted) { stopReason = 'aborted'; break; }
    const { batch, resetState, epoch } = task.next(step);
    if (o.epochs !== undefined && epoch >= o.epochs) { stopReason = 'epochs'; break; }
    if (resetState) state = undefined;

    if (o.schedule) opt.lr = o.schedule(step);
    // each step's gradients go into the last step's .grad buffers (as PyTorch's .grad persists)
    const r = computeGradients(model, () => task.loss(batch, state), {
      checkNumerics: o.checkNumerics, releaseIntermediates: task.releasesIntermediates === true, reuseGradBuffers: true,
    });
    const loss = r.loss.item();
    if (!Number.isFinite(loss)) throw new TensorError(op, `loss is ${loss} at step ${step}; lower the learning rate, clip gradients, or run with checkNumerics to find the op`);
    const gradNorm = clipGradNorm(params, o.clipNorm ?? Infinity);
    if (o.clipValue !== undefined) clipGradValue(params, o.clipValue);
    opt.step();
    state = r.state === undefined ? undefined : task.detachState ? task.detachState(r.state) : r.state;
    step++;
    const rec = { step, loss, gradNorm, lr: opt.lr };
    if (step % h.stride === 0) history.push(rec);
    if (history.length > limit) h.stride = thin(history, h.stride * 2, (r) => r.step);
    o.onStep?.(rec);
    const elapsed = (Date.now() - t0) / 1000;
    const rate = (step - startStep) / Math.max(elapsed, 1e-9);
    progress.update({
      step, total: o.timeBudgetSec && o.steps && o.steps / rate > o.timeBudgetSec ? undefined : o.steps, loss, bits: task.unit === 'nats/char' ? loss / Math.LN2 : undefined, stepsPerSec: rate,
      etaSec: Math.min(o.steps ? (o.steps - step) / rate : Infinity, o.timeBudgetSec ? o.timeBudgetSec - elapsed : Infinity),
      extra: `|g| ${gradNorm.toFixed(2)}`,
    });

    const last = o.steps !== undefined && step >= o.steps;
    if (task.validate && o.valEvery && (step % o.valEvery === 0 || last)) {
      const vl = task.validate();
      if (h.valCount % h.valStride === 0) validation.push({ step, loss: vl });
      h.valCount++;
      if (validation.length > limit) h.valStride = thin(validation, h.valStride * 2, (_, i) => i * h.valStride);
      if (h.bestVal === null || vl < h.bestVal[1]) h.bestVal = [step, vl];
      o.onValidation?.({ step, loss: vl });
      progress.note(`validation at step ${step}: ${vl.toFixed(4)} ${task.unit}${task.unit === 'nats/char' ? ` (${(vl / Math.LN2).toFixed(3)} bpc)` : ''}`);
      if (o.earlyStopping) {
        if (!best || vl < best.loss - (o.earlyStopping.minDelta ?? 0)) {
          best = { loss: vl, step, weights: cloneWeights(model) };
          sinceBest = 0;
        } else if (++sinceBest >= o.earlyStopping.patience) {
          stopReason = 'early-stopping';
          progress.note(`early stopping at step ${step}: no improvement for ${sinceBest} validations; best ${best.loss.toFixed(4)} at step ${best.step}`);
          break;
        }
      }
    }
    if (o.checkpointEvery && step % o.checkpointEvery === 0) save();
    yield;
  }
  progress.done();
  if (best && o.earlyStopping?.restoreBest !== false) model.loadStateDict(best.weights);
  save();
  return {
    steps: step, history, validation, bestValLoss: h.bestVal?.[1] ?? null, bestStep: h.bestVal?.[0] ?? null,
    stoppedEarly: stopReason === 'early-stopping', stopReason, seconds: (Date.now() - t0) / 1000,
  };
}

/** How the bounded history was thinned, saved in the checkpoint so a resumed run keeps the same records. */
interface HistoryState {
  stride: number;
  valStride: number;
  valCount: number;
  bestVal: [number, number] | null;
}

/** Keeps the records whose key (step, or ordinal × old stride) is a multiple of `stride`, in place; returns the stride. */
function thin<T>(list: T[], stride: number, key: (r: T, i: number) => number): number {
  const kept = list.filter((r, i) => key(r, i) % stride === 0);
  list.length = 0;
  list.push(...kept);
  return stride;
}

function optimizerOpts(o: FitOptions['optimizer']): object {
  if (!o || o instanceof Optimizer) return { lr: 2e-3 };
  const { name: _n, ...rest } = o;
  return { lr: 2e-3, ...rest };
}

function cloneWeights(m: Module): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(m.stateDict())) out[k] = v.clone();
  return out;
}

/** Model weights, optimizer state, task (data position + RNG) state, step, history and carried state. */
export function trainingCheckpoint(model: Module, opt: Optimizer, task: Task<unknown, unknown>, step: number, history: StepRecord[], validation: ValRecord[], state: unknown, config: JsonObject, thinning?: HistoryState): Checkpoint {
  const tensors: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(model.stateDict())) tensors[`model.${k}`] = v;
  const st = state as Record<string, Tensor | undefined> | undefined;
  if (st) for (const [k, v] of Object.entries(st)) if (v instanceof Tensor) tensors[`state.${k}`] = v;
  let ckpt: Checkpoint = {
    tensors,
    meta: {
      kind: 'unfold-training', step, config, task: task.getState(), rngs: moduleRngStates(model),
      history: history.map((h) => [h.step, h.loss, h.gradNorm, h.lr]), validation: validation.map((v) => [v.step, v.loss]),
      ...(thinning ? { historyThinning: { ...thinning } } : {}),
    },
  };
  ckpt = packOptimizerState(ckpt, opt.stateDict());
  return ckpt;
}

function restore(ckpt: Checkpoint, dir: string, model: Module, opt: Optimizer, task: Task<unknown, unknown>) {
  const meta = ckpt.meta as JsonObject;
  if (meta.kind !== 'unfold-training') throw new TensorError('fit', `${dir} is not a training checkpoint (kind ${String(meta.kind)})`);
  const weights: Record<string, Tensor> = {};
  const state: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(ckpt.tensors)) {
    if (k.startsWith('model.')) weights[k.slice(6)] = v;
    else if (k.startsWith('state.')) state[k.slice(6)] = v;
  }
  model.loadStateDict(weights); // all-or-nothing: lists every mismatch
  opt.loadStateDict(unpackOptimizerState(ckpt));
  task.setState(meta.task as JsonObject);
  setModuleRngStates(model, meta.rngs as JsonObject);
  const history = (meta.history as number[][]).map(([s, l, g, lr]) => ({ step: s, loss: l, gradNorm: g, lr }));
  const validation = (meta.validation as number[][]).map(([s, l]) => ({ step: s, loss: l }));
  const best = validation.length ? validation.reduce((a, b) => (b.loss < a.loss ? b : a)) : null;
  const h: HistoryState = (meta.historyThinning as unknown as HistoryState | undefined) ?? { stride: 1, valStride: 1, valCount: validation.length, bestVal: best ? [best.step, best.loss] : null };
  return { step: meta.step as number, history, validation, h, state: Object.keys(state).length ? state : undefined };
}

function moduleRngStates(m: Module): JsonObject {
  return m.rngStates();
}

function setModuleRngStates(m: Module, s: JsonObject | undefined): void {
  if (s) m.setRngStates(s as Record<string, number[]>);
}
