import { DType, Rng, Tensor, TensorError, zeros } from '@unfold/tensor';
import { checkNonNegInt, checkPositiveInt, checkRng } from './check';
import { SeriesInput, toSeriesMatrix } from './series';
import { checkOptions, keysOf } from '../options';

export interface WindowOptions {
  /** Steps fed to the model per window. */
  inputLen: number;
  /** Steps to predict after the input. */
  horizon: number;
  /** Steps between consecutive window starts (default 1). */
  stride?: number;
  /** Features to predict (default: all F). */
  targetFeatures?: number[];
  dtype?: DType;
}

/**
 * Batch-first windows; NaN (missing) entries are replaced by 0 and flagged in the masks, so a
 * model can be given `xMask` as extra input and the loss can be multiplied by `yMask`.
 */
export interface Windows {
  /** [Nw, inputLen, F] */
  x: Tensor;
  /** [Nw, horizon, Fy] */
  y: Tensor;
  /** [Nw, inputLen, F]: 1 where x was observed, 0 where it was NaN. */
  xMask: Tensor;
  /** [Nw, horizon, Fy]: 1 where the target was observed; a loss must ignore the 0s. */
  yMask: Tensor;
  /** Index in the series of each window's first input step. */
  starts: Int32Array;
}

/**
 * Sliding windows over a series s:[N,F] (a 1-D series has F = 1):
 *   x[w] = s[w·stride … w·stride + inputLen),   y[w] = s[w·stride + inputLen … + horizon)
 * for Nw = ⌊(N − inputLen − horizon)/stride⌋ + 1 windows.
 */
export function makeWindows(series: SeriesInput, opts: WindowOptions): Windows {
  const op = 'makeWindows';
  if (opts === null || typeof opts !== 'object') throw new TensorError(op, 'options { inputLen, horizon } are required');
  checkOptions(op, opts, keysOf<WindowOptions>({ inputLen: 1, horizon: 1, stride: 1, targetFeatures: 1, dtype: 1 }));
  const inputLen = checkPositiveInt(op, 'inputLen', opts.inputLen);
  const horizon = checkPositiveInt(op, 'horizon', opts.horizon);
  const stride = checkPositiveInt(op, 'stride', opts.stride ?? 1);
  const { data, n, f } = toSeriesMatrix(op, series);
  const targets = opts.targetFeatures ?? Array.from({ length: f }, (_, j) => j);
  if (!Array.isArray(targets) || targets.length === 0) throw new TensorError(op, 'targetFeatures must be a non-empty array of feature indices');
  targets.forEach((j) => {
    if (!Number.isInteger(j) || j < 0 || j >= f) throw new TensorError(op, `target feature ${j} is out of range [0, ${f})`);
  });
  if (n < inputLen + horizon) {
    throw new TensorError(op, `a series of ${n} steps is too short for inputLen ${inputLen} + horizon ${horizon} = ${inputLen + horizon}`);
  }
  const nw = Math.floor((n - inputLen - horizon) / stride) + 1;
  const fy = targets.length;
  const dtype = opts.dtype ?? 'float32';
  const x = zeros([nw, inputLen, f], dtype);
  const xMask = zeros([nw, inputLen, f], dtype);
  const y = zeros([nw, horizon, fy], dtype);
  const yMask = zeros([nw, horizon, fy], dtype);
  const starts = new Int32Array(nw);
  for (let w = 0; w < nw; w++) {
    const s0 = w * stride;
    starts[w] = s0;
    for (let t = 0; t < inputLen; t++) {
      for (let j = 0; j < f; j++) {
        const v = data[(s0 + t) * f + j];
        const k = (w * inputLen + t) * f + j;
        if (v === v) {
          x.data[k] = v;
          xMask.data[k] = 1;
        } // NaN: x stays 0, mask stays 0
      }
    }
    for (let t = 0; t < horizon; t++) {
      targets.forEach((j, jj) => {
        const v = data[(s0 + inputLen + t) * f + j];
        const k = (w * horizon + t) * fy + jj;
        if (v === v) {
          y.data[k] = v;
          yMask.data[k] = 1;
        }
      });
    }
  }
  return { x, y, xMask, yMask, starts };
}

export interface SyntheticSeriesOptions {
  /** Steps per seasonal cycle (default 24, e.g. hourly data with a daily cycle). */
  period?: number;
  /** Slope per step (default 0.01). */
  trend?: number;
  /** Standard deviation of the Gaussian noise (default 0.1). */
  noise?: number;
  /** Probability that a step is missing (NaN); default 0.01. */
  missingRate?: number;
}

/**
 * s(t) = trend·t + sin(2πt/P) + 0.5·sin(4πt/P + 1) + noise·ε_t, ε_t ~ N(0,1), with each step
 * NaN with probability missingRate (at least one NaN when n ≥ 10 and missingRate > 0, so the
 * missing-value paths are always exercised). The same rng state gives the same series.
 */
export function syntheticSeries(n: number, rng: Rng, opts: SyntheticSeriesOptions = {}): Float32Array {
  const op = 'syntheticSeries';
  checkOptions(op, opts, keysOf<SyntheticSeriesOptions>({ period: 1, trend: 1, noise: 1, missingRate: 1 }));
  checkNonNegInt(op, 'n', n);
  checkRng(op, rng);
  const period = opts.period ?? 24;
  const trend = opts.trend ?? 0.01;
  const noise = opts.noise ?? 0.1;
  const missingRate = opts.missingRate ?? 0.01;
  if (!(period > 0) || !Number.isFinite(period)) throw new TensorError(op, `period must be a positive number, got ${period}`);
  if (!Number.isFinite(trend)) throw new TensorError(op, `trend must be finite, got ${trend}`);
  if (!(noise >= 0) || !Number.isFinite(noise)) throw new TensorError(op, `noise must be ≥ 0, got ${noise}`);
  if (!(missingRate >= 0 && missingRate < 1)) throw new TensorError(op, `missingRate must be in [0, 1), got ${missingRate}`);
  const out = new Float32Array(n);
  let missing = 0;
  for (let t = 0; t < n; t++) {
    const w = (2 * Math.PI * t) / period;
    const eps = rng.normal();
    const drop = rng.next() < missingRate;
    out[t] = drop ? NaN : trend * t + Math.sin(w) + 0.5 * Math.sin(2 * w + 1) + noise * eps;
    if (drop) missing++;
  }
  if (missing === 0 && missingRate > 0 && n >= 10) out[rng.int(1, n - 1)] = NaN;
  return out;
}
