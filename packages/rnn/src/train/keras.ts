import { Rng, Tensor, TensorError } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import type { Module } from '../nn/module';
import { Optimizer } from '../optim/optimizer';
import { createOptimizer } from '../optim/create';
import { clipGradNorm } from '../optim/clip';
import { checkOptions, keysOf } from '../options';
import { computeGradients } from './gradients';
import { Batch, DataLoader, XInput, YInput } from './dataloader';
import { LOSSES, LossName, METRICS, MetricName, MetricSums, batchLoss } from './metrics';
import { Callback, CallbackContext, Logs } from './callbacks';

/**
 * Training as Keras users write it: compile(model, { optimizer, loss, metrics }) once, then
 * fit(x, y, { batchSize, epochs, validationData | validationSplit, shuffle, callbacks }),
 * evaluate(x, y), predict(x) — on whole arrays (float tensors, float sequences, id sequences),
 * for regression, many-to-one classification and tagging. The model is any Module whose
 * `forward(x, { lengths })` returns the predictions (a Sequential, or your own).
 * Nothing is printed: fit returns the History, callbacks get every epoch's logs.
 */
export interface KerasModel extends Module {
  forward(x: Tensor, ctx?: { lengths?: ArrayLike<number> }): Tensor;
}

export interface CompileOptions {
  /** An Optimizer, a name ('adam', 'sgd', 'rmsprop', 'adagrad', 'adamw'), or { name, ...hyper } (default 'adam'). */
  optimizer?: Optimizer | string | ({ name: string } & Record<string, unknown>);
  loss: LossName;
  metrics?: MetricName[];
  /** Clip the global gradient norm before each step. */
  clipNorm?: number;
}

export interface Compiled {
  optimizer: Optimizer;
  loss: LossName;
  metrics: MetricName[];
  clipNorm?: number;
}

export interface KerasFitOptions {
  batchSize?: number;
  epochs?: number;
  validationData?: [XInput, YInput];
  /** The last fraction of the examples (before shuffling, as Keras) held out for validation. */
  validationSplit?: number;
  /** Shuffle the training examples every epoch (default true). */
  shuffle?: boolean;
  callbacks?: Callback[];
  /** Seed of the shuffling order (default 0): same seed, same run. */
  seed?: number;
}

export interface History {
  epochs: number[];
  /** Per name (loss, metrics, val_…), one value per epoch. */
  history: Record<string, number[]>;
}

const COMPILED = new WeakMap<Module, Compiled>();

export function compile(model: KerasModel, o: CompileOptions): Compiled {
  checkOptions('compile', o, keysOf<CompileOptions>({ optimizer: 1, loss: 1, metrics: 1, clipNorm: 1 }), { required: true });
  if (!LOSSES.includes(o.loss)) throw new TensorError('compile', `loss must be one of ${LOSSES.join(', ')}, got '${String(o.loss)}'`);
  const metrics = o.metrics ?? [];
  if (!Array.isArray(metrics)) throw new TensorError('compile', 'metrics must be an array of names');
  metrics.forEach((m) => {
    if (!METRICS.includes(m)) throw new TensorError('compile', `unknown metric '${String(m)}' (valid: ${METRICS.join(', ')})`);
  });
  if (o.clipNorm !== undefined && !(o.clipNorm > 0)) throw new TensorError('compile', `clipNorm must be positive, got ${o.clipNorm}`);
  const params = model.parameters();
  const spec = o.optimizer ?? 'adam';
  let optimizer: Optimizer;
  if (spec instanceof Optimizer) optimizer = spec;
  else if (typeof spec === 'string') optimizer = createOptimizer(spec, params);
  else {
    const { name, ...hyper } = spec;
    optimizer = createOptimizer(String(name), params, hyper);
  }
  const c: Compiled = { optimizer, loss: o.loss, metrics: [...metrics], clipNorm: o.clipNorm };
  COMPILED.set(model, c);
  return c;
}

function compiledOf(op: string, model: Module): Compiled {
  const c = COMPILED.get(model);
  if (!c) throw new TensorError(op, 'call compile(model, { optimizer, loss, metrics }) first');
  return c;
}

/** The penalties of every layer with regularizers (kernelRegularizer, …), or null. */
export function regularizationLoss(model: Module): Tensor | null {
  let total: Tensor | null = null;
  const visit = (m: Module) => {
    const r = (m as { regularizationLoss?: () => Tensor | null }).regularizationLoss;
    if (typeof r === 'function' && m !== model) {
      const t = r.call(m);
      if (t) total = total ? ad.add(total, t) : t;
    }
    for (const [, c] of m.namedChildren()) visit(c);
  };
  visit(model);
  return total;
}

const run = (model: KerasModel, b: Batch): Tensor => (b.lengths ? model.forward(b.x, { lengths: b.lengths }) : model.forward(b.x));

/** Loss and metrics over a loader, in eval mode, without a tape. */
function evaluateLoader(model: KerasModel, c: Compiled, data: DataLoader, prefix = ''): Logs {
  const was = model.training;
  model.eval();
  try {
    const sums = new MetricSums();
    ad.noGrad(() => {
      for (const b of data.batches()) {
        const pred = run(model, b);
        const { loss, count } = batchLoss(c.loss, pred, b.y!);
        sums.add('loss', loss.item() * count, count);
        sums.addBatch(c.metrics, pred, b.y!);
      }
    });
    return sums.result(prefix);
  } finally {
    model.train(was);
  }
}

export function fitXY(model: KerasModel, x: XInput, y: YInput, o: KerasFitOptions = {}): History {
  const op = 'fit';
  checkOptions(op, o, keysOf<KerasFitOptions>({ batchSize: 1, epochs: 1, validationData: 1, validationSplit: 1, shuffle: 1, callbacks: 1, seed: 1 }));
  const c = compiledOf(op, model);
  const epochs = o.epochs ?? 1;
  if (!Number.isInteger(epochs) || epochs < 1) throw new TensorError(op, `epochs must be a positive integer, got ${o.epochs}`);
  if (o.validationData !== undefined && o.validationSplit !== undefined) throw new TensorError(op, 'give validationData or validationSplit, not both');
  const rng = new Rng(o.seed ?? 0);
  const all = new DataLoader(x, y, { batchSize: o.batchSize ?? 32, shuffle: o.shuffle ?? true, rng, dtype: model.parameters()[0]?.value.dtype });
  let train = all;
  let val: DataLoader | null = null;
  if (o.validationSplit !== undefined) {
    const f = o.validationSplit;
    if (!(f > 0 && f < 1)) throw new TensorError(op, `validationSplit must be in (0, 1), got ${f}`);
    const nVal = Math.floor(all.n * f);
    if (nVal < 1 || nVal >= all.n) throw new TensorError(op, `validationSplit ${f} of ${all.n} examples leaves ${nVal} for validation and ${all.n - nVal} for training`);
    const cut = all.n - nVal; // Keras: the last examples, before any shuffling
    train = all.subset(Array.from({ length: cut }, (_, i) => i));
    val = all.subset(Array.from({ length: nVal }, (_, i) => cut + i), { shuffle: false });
  } else if (o.validationData !== undefined) {
    if (!Array.isArray(o.validationData) || o.validationData.length !== 2) throw new TensorError(op, 'validationData must be [x, y]');
    val = new DataLoader(o.validationData[0], o.validationData[1], { batchSize: all.batchSize, dtype: model.parameters()[0]?.value.dtype });
  }
  const callbacks = o.callbacks ?? [];
  if (!Array.isArray(callbacks)) throw new TensorError(op, 'callbacks must be an array');
  const ctx: CallbackContext = { model, optimizer: c.optimizer, stopTraining: false, step: 0 };
  const history: History = { epochs: [], history: {} };
  callbacks.forEach((cb) => cb.onTrainBegin?.(ctx));
  let logs: Logs = {};
  for (let epoch = 0; epoch < epochs && !ctx.stopTraining; epoch++) {
    callbacks.forEach((cb) => cb.onEpochBegin?.(epoch, ctx));
    model.train();
    const sums = new MetricSums();
    for (const b of train.batches()) {
      callbacks.forEach((cb) => cb.onBatchBegin?.(ctx.step, ctx));
      const r = computeGradients(model, () => {
        const pred = run(model, b);
        const { loss, count } = batchLoss(c.loss, pred, b.y!);
        const reg = regularizationLoss(model);
        return { loss: reg ? ad.add(loss, reg) : loss, pred, count };
      });
      const lossValue = r.loss.item();
      if (!Number.isFinite(lossValue)) throw new TensorError(op, `loss is ${lossValue} at epoch ${epoch}, step ${ctx.step}: training diverged (lower the learning rate, or set clipNorm)`);
      if (c.clipNorm) clipGradNorm(model.parameters(), c.clipNorm);
      c.optimizer.step();
      ctx.step++;
      sums.add('loss', lossValue * r.count, r.count);
      ad.noGrad(() => sums.addBatch(c.metrics, r.pred, b.y!));
      callbacks.forEach((cb) => cb.onBatchEnd?.(ctx.step, { loss: lossValue }, ctx));
    }
    logs = { ...sums.result(), ...(val ? evaluateLoader(model, c, val, 'val_') : {}) };
    history.epochs.push(epoch);
    for (const [k, v] of Object.entries(logs)) (history.history[k] ??= []).push(v);
    callbacks.forEach((cb) => cb.onEpochEnd?.(epoch, logs, ctx));
  }
  callbacks.forEach((cb) => cb.onTrainEnd?.(logs, ctx));
  return history;
}

/** { loss, ...metrics } over (x, y), in eval mode. */
export function evaluate(model: KerasModel, x: XInput, y: YInput, o: { batchSize?: number } = {}): Logs {
  checkOptions('evaluate', o, ['batchSize']);
  const c = compiledOf('evaluate', model);
  return evaluateLoader(model, c, new DataLoader(x, y, { batchSize: o.batchSize ?? 32, dtype: model.parameters()[0]?.value.dtype }));
}

/** The model's outputs for every example, in order, in eval mode: [N, …] (sequences padded to the longest). */
export function predict(model: KerasModel, x: XInput, o: { batchSize?: number } = {}): Tensor {
  checkOptions('predict', o, ['batchSize']);
  const data = new DataLoader(x, null, { batchSize: o.batchSize ?? 32, dtype: model.parameters()[0]?.value.dtype });
  const was = model.training;
  model.eval();
  try {
    return ad.noGrad(() => ad.concat([...data.batches()].map((b) => run(model, b)), 0));
  } finally {
    model.train(was);
  }
}
