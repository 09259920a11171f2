// Forecasting: the next `horizon` steps of a seasonal series with missing values, from the last
// `inputLen`. Normalizer fitted on the training span only → sliding windows (NaN → 0, plus an
// "observed" feature) → GRU → Linear → mse masked where the target is missing; scored against
// the naive last-value forecast on the held-out, later part of the series.
//
//   npx tsc -b && node examples/dist/forecast.js
import { Rng, Tensor, TensorError, zeros } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { noGrad } from '@unfold/autodiff';
import { GRU, JsonObject, LSTM, Linear, LogMode, Module, Normalizer, RecurrentLayer, Task, fit, makeWindows, syntheticSeries } from '@unfold/rnn';
import { sayer } from './common';

/**
 * Windows made relative to their last observed input value v (the level the naive forecast
 * repeats): inputs x − v and targets y − v, so the model predicts the change from v and a
 * trend that carries the test span above the training range does not take inputs out of it.
 */
export interface ForecastWindows {
  /** [N, L, 2]: (value − v, 1) where observed, (0, 0) where missing. */
  x: Tensor;
  /** [N, horizon]: target − v, 0 where missing. */
  y: Tensor;
  /** [N, horizon]: 1 where the target was observed. */
  yMask: Tensor;
  /** [N]: v, the last observed input (normalised units). */
  last: Float64Array;
  /** [N, horizon]: the seasonal-naive forecast (value one period earlier) − v; 0 (= naive) where that value is not in the window or missing. */
  seasonal: Tensor;
}

export function forecastWindows(z: ArrayLike<number>, inputLen: number, horizon: number, period: number): ForecastWindows {
  const w = makeWindows(Float64Array.from(z), { inputLen, horizon }); // x:[N, L, 1] y:[N, H, 1], NaN → 0 + masks
  const N = w.x.shape[0];
  const L = inputLen;
  const x = zeros([N, L, 2]);
  const y = zeros([N, horizon]);
  const yMask = zeros([N, horizon]);
  const seasonal = zeros([N, horizon]);
  const last = new Float64Array(N);
  const xd = w.x.contiguous().data;
  const xm = w.xMask.contiguous().data;
  for (let n = 0; n < N; n++) {
    let t = L - 1;
    while (t >= 0 && xm[n * L + t] === 0) t--;
    const v = t >= 0 ? xd[n * L + t] : 0; // no observed input at all: forecast from the mean (0)
    last[n] = v;
    for (let s = 0; s < L; s++) {
      if (xm[n * L + s] === 0) continue;
      x.data[(n * L + s) * 2] = xd[n * L + s] - v;
      x.data[(n * L + s) * 2 + 1] = 1;
    }
    for (let h = 0; h < horizon; h++) {
      const k = n * horizon + h;
      if (w.yMask.data[k] === 1) {
        y.data[k] = w.y.data[k] - v;
        yMask.data[k] = 1;
      }
      const s = L + h - period; // same phase one period earlier, if inside the input window and observed
      if (s >= 0 && s < L && xm[n * L + s] === 1) seasonal.data[k] = xd[n * L + s] - v;
    }
  }
  return { x, y, yMask, last, seasonal };
}

export class Forecaster extends Module {
  readonly rnn: RecurrentLayer;
  readonly fc: Linear;

  constructor(readonly o: { cell: 'gru' | 'lstm'; hiddenSize: number; horizon: number; seed: number }) {
    super();
    const rng = new Rng(o.seed);
    const rnnOpts = { inputSize: 2, hiddenSize: o.hiddenSize, batchFirst: true, rng };
    this.rnn = this.registerModule('rnn', o.cell === 'gru' ? new GRU(rnnOpts) : new LSTM({ ...rnnOpts, init: { forgetBias: 1 } }));
    this.fc = this.registerModule('fc', new Linear(o.hiddenSize, o.horizon, { rng }));
  }

  /** x:[B, L, 2] → predicted change from the last observed value, [B, horizon]. */
  forward(x: Tensor): Tensor {
    const { hN } = this.rnn.forward(x); // hN:[1, B, H]
    return this.fc.forward(ad.slice(hN, 0)); // [B, H] → [B, horizon]
  }

  predict(x: Tensor): Tensor {
    const was = this.training;
    this.eval();
    try {
      return noGrad(() => this.forward(x));
    } finally {
      this.train(was);
    }
  }
}

/** Rows `idx` of t along axis 0, copied into a new contiguous tensor. */
export function takeRows(t: Tensor, idx: readonly number[]): Tensor {
  const c = t.contiguous();
  const row = c.size / c.shape[0];
  const out = zeros([idx.length, ...c.shape.slice(1)], c.dtype);
  idx.forEach((i, k) => out.data.set(c.data.subarray(c.offset + i * row, c.offset + (i + 1) * row), k * row));
  return out;
}

/** Masked mean squared error of pred against the windows' targets (no tape). */
export function maskedMse(pred: Tensor, w: ForecastWindows): number {
  return noGrad(() => ad.mse(pred, w.y, w.yMask).item());
}

interface WindowBatch {
  idx: number[];
}

/** Shuffled minibatches of windows, one epoch at a time, for `fit` (checkpointable). */
export class WindowTask implements Task<WindowBatch, undefined> {
  readonly name = 'forecast';
  readonly unit = 'mse';
  private epoch = 0;
  private order: number[] = [];
  private pos = Infinity;
  private epochRng: number[];

  constructor(readonly model: Forecaster, readonly train: ForecastWindows, readonly val: ForecastWindows, readonly batchSize: number, readonly rng: Rng) {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new TensorError('WindowTask', `batchSize must be a positive integer, got ${batchSize}`);
    this.epochRng = rng.getState();
  }

  get batchesPerEpoch(): number {
    return Math.ceil(this.train.x.shape[0] / this.batchSize);
  }

  next(): { batch: WindowBatch; resetState: boolean; epoch: number } {
    if (this.pos >= this.order.length) {
      if (this.order.length) this.epoch++;
      this.startEpoch();
    }
    const idx = this.order.slice(this.pos, this.pos + this.batchSize);
    this.pos += this.batchSize;
    return { batch: { idx }, resetState: true, epoch: this.epoch };
  }

  loss(b: WindowBatch): { loss: Tensor } {
    const pred = this.model.forward(takeRows(this.train.x, b.idx));
    return { loss: ad.mse(pred, takeRows(this.train.y, b.idx), takeRows(this.train.yMask, b.idx)) }; // NaN targets masked out
  }

  validate(): number {
    return maskedMse(this.model.predict(this.val.x), this.val);
  }

  getState(): JsonObject {
    return { epoch: this.epoch, pos: this.order.length ? this.pos : -1, rng: this.epochRng };
  }

  setState(s: JsonObject): void {
    this.epoch = s.epoch as number;
    this.rng.setState(s.rng as number[]);
    this.order = [];
    this.pos = Infinity;
    if ((s.pos as number) >= 0) {
      this.startEpoch();
      this.pos = s.pos as number;
    }
  }

  private startEpoch(): void {
    this.epochRng = this.rng.getState();
    const n = this.train.x.shape[0];
    this.order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.rng.next() * (i + 1));
      [this.order[i], this.order[j]] = [this.order[j], this.order[i]];
    }
    this.pos = 0;
  }
}

export interface ForecastRunOptions {
  cell?: 'gru' | 'lstm';
  length?: number;
  inputLen?: number;
  horizon?: number;
  period?: number;
  missingRate?: number;
  hiddenSize?: number;
  batchSize?: number;
  lr?: number;
  epochs?: number;
  steps?: number;
  timeBudgetSec?: number;
  seed?: number;
  log?: LogMode;
  quiet?: boolean;
}

export interface ForecastResult {
  /** Test MSE in normalised units (divide by nothing: the scale is the training span's std). */
  testMse: number;
  /** Same for repeating the last observed value. */
  naiveMse: number;
  /** Same for repeating the value one period earlier. */
  seasonalNaiveMse: number;
  /** Test MSE in the series' own units (normalised MSE × std²). */
  testMseRaw: number;
  naiveMseRaw: number;
  missingFraction: number;
  steps: number;
  trainSeconds: number;
  bestValMse: number | null;
}

export function runForecast(o: ForecastRunOptions = {}): ForecastResult {
  const say = sayer(o.quiet);
  const seed = o.seed ?? 0;
  const n = o.length ?? 2400;
  const period = o.period ?? 24;
  const inputLen = o.inputLen ?? 2 * period;
  const horizon = o.horizon ?? 12;
  const series = syntheticSeries(n, new Rng(seed), { period, missingRate: o.missingRate ?? 0.03 });
  // plus a few outages: runs of missing steps, which single dropouts do not exercise
  const gapRng = new Rng(seed + 7);
  for (let g = 0; g < Math.floor(n / 400); g++) {
    const at = gapRng.int(0, n - 8);
    series.fill(NaN, at, at + gapRng.int(3, 9));
  }
  const missing = series.reduce((c, v) => c + (Number.isNaN(v) ? 1 : 0), 0) / n;

  // chronological split: the model is scored on the future it never saw
  const nTrain = Math.floor(0.7 * n);
  const nVal = Math.floor(0.1 * n);
  const norm = Normalizer.fit(series.subarray(0, nTrain)); // statistics of the training span only
  const z = norm.transform(series).toFlatArray(); // NaN stays NaN
  const win = (a: number, b: number) => forecastWindows(z.slice(a, b), inputLen, horizon, period);
  const train = win(0, nTrain);
  const val = win(nTrain, nTrain + nVal);
  const test = win(nTrain + nVal, n);

  const model = new Forecaster({ cell: o.cell ?? 'gru', hiddenSize: o.hiddenSize ?? 32, horizon, seed: seed + 1 });
  const task = new WindowTask(model, train, val, o.batchSize ?? 32, new Rng(seed + 2));
  say(`forecast: ${n} steps (period ${period}, ${(100 * missing).toFixed(1)}% missing), windows ${inputLen} → ${horizon}; ` +
    `train/val/test windows ${train.x.shape[0]}/${val.x.shape[0]}/${test.x.shape[0]}; ${model.o.cell.toUpperCase()} ${model.o.hiddenSize} hidden, ${model.numParameters()} parameters`);
  const res = fit(model, task, {
    epochs: o.epochs ?? (o.steps === undefined && o.timeBudgetSec === undefined ? 15 : undefined),
    steps: o.steps, timeBudgetSec: o.timeBudgetSec, optimizer: { name: 'adam', lr: o.lr ?? 3e-3 }, clipNorm: 1,
    valEvery: task.batchesPerEpoch, earlyStopping: { patience: 4 }, log: o.log ?? (o.quiet ? 'none' : 'auto'),
  });

  const zero = zeros(test.y.shape);
  const std2 = norm.std[0] ** 2;
  const result: ForecastResult = {
    testMse: maskedMse(model.predict(test.x), test),
    naiveMse: maskedMse(zero, test), // the change from the last value is predicted to be 0
    seasonalNaiveMse: maskedMse(test.seasonal, test),
    testMseRaw: 0, naiveMseRaw: 0, missingFraction: missing,
    steps: res.steps, trainSeconds: res.seconds, bestValMse: res.bestValLoss,
  };
  result.testMseRaw = result.testMse * std2;
  result.naiveMseRaw = result.naiveMse * std2;
  say(`  trained ${res.steps} steps in ${res.seconds.toFixed(1)} s (${res.stopReason}); best validation MSE ${res.bestValLoss?.toFixed(4)}`);
  say(`  test MSE ${result.testMse.toFixed(4)} (normalised; ${result.testMseRaw.toFixed(4)} in series units)  vs  ` +
    `naive last value ${result.naiveMse.toFixed(4)} (${result.naiveMseRaw.toFixed(4)}), seasonal naive ${result.seasonalNaiveMse.toFixed(4)}`);
  say(`  ${(100 * (1 - result.testMse / result.naiveMse)).toFixed(1)}% lower error than the naive forecast`);
  return result;
}

if (require.main === module) {
  runForecast({ epochs: 30, timeBudgetSec: 80 });
}
