// Windows over a multivariate series for one-model-per-data-set forecasting, the baselines
// computed from the same windows (persistence, seasonal naive, least-squares linear AR), and
// MAE/RMSE in the series' own units.
import { Rng, Tensor, TensorError, zeros } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { noGrad } from '@unfold/autodiff';
import { Adam, GRU, Linear, Module, clipGradNorm, computeGradients, cosine } from '@unfold/rnn';
import { takeRows } from '../forecast';

export interface SeriesSpec {
  /** [T][F] values in their own units; NaN = missing input. */
  values: number[][];
  /** Column names, F of them. */
  columns: string[];
  /** Columns forecast (indices into columns). */
  targets: number[];
  /** Window length L and steps ahead h: predict y_{t+h} from x_{t−L+1…t}. */
  inputLen: number;
  horizon: number;
  /** Season length for the seasonal-naive baseline (y_{t+h−period}). */
  period: number;
  /** Windows whose target index is ≥ testFrom are the test set; the rest (and the normaliser) are training. */
  testFrom: number;
  /** Inputs relative to the window's last value (trending series), else absolute (normalised). */
  relative: boolean;
  /** Give the model one 0/1 "observed" channel per column (else missing inputs are the training mean). */
  maskChannel?: boolean;
  /** Targets' true values where the inputs were removed (scoring always uses the truth). */
  truth?: number[][];
}

export interface Windows {
  /** [N, L, F·(1 + mask)] normalised inputs. */
  x: Tensor;
  /** [N, K] normalised change of each target from its last observed value. */
  y: Tensor;
  /** [N, K]: last observed value of each target (own units), the persistence forecast. */
  last: number[][];
  /** [N, K]: y_{t+h−period} (own units) or NaN when not available. */
  seasonal: number[][];
  /** [N, K]: the true y_{t+h} (own units). */
  truth: number[][];
  /** Target index t+h of each window. */
  at: number[];
  train: number[];
  test: number[];
  std: number[];
}

export function makeWindows(s: SeriesSpec): Windows {
  const T = s.values.length;
  const F = s.columns.length;
  const truthV = s.truth ?? s.values;
  for (const row of s.values) if (row.length !== F) throw new TensorError('makeWindows', `rows need ${F} values, got ${row.length}`);
  // normaliser from the training span only (observed values)
  const mean = new Array<number>(F).fill(0);
  const std = new Array<number>(F).fill(0);
  for (let f = 0; f < F; f++) {
    const v = s.values.slice(0, s.testFrom - s.horizon).map((r) => r[f]).filter((x) => !Number.isNaN(x));
    mean[f] = v.reduce((a, b) => a + b, 0) / v.length;
    std[f] = Math.sqrt(v.reduce((a, b) => a + (b - mean[f]) ** 2, 0) / v.length) || 1;
  }
  const z = s.values.map((r) => r.map((v, f) => (v - mean[f]) / std[f]));
  const lastObs = (f: number, t: number): number => {
    for (let u = t; u >= 0; u--) if (!Number.isNaN(z[u][f])) return z[u][f];
    return 0;
  };
  const L = s.inputLen;
  const C = F * (s.maskChannel ? 2 : 1);
  const starts: number[] = [];
  for (let t = L - 1; t + s.horizon < T; t++) starts.push(t);
  const N = starts.length;
  const K = s.targets.length;
  const x = zeros([N, L, C], 'float32');
  const y = zeros([N, K], 'float32');
  const w: Windows = { x, y, last: [], seasonal: [], truth: [], at: [], train: [], test: [], std: s.targets.map((f) => std[f]) };
  starts.forEach((t, n) => {
    const ref = Array.from({ length: F }, (_, f) => (s.relative ? lastObs(f, t) : 0));
    for (let l = 0; l < L; l++) {
      for (let f = 0; f < F; f++) {
        const v = z[t - L + 1 + l][f];
        const o = (n * L + l) * C;
        if (!Number.isNaN(v)) {
          x.data[o + f] = v - ref[f];
          if (s.maskChannel) x.data[o + F + f] = 1;
        } // missing: 0 (= the training mean, or the window's reference level), mask 0
      }
    }
    const at = t + s.horizon;
    w.at.push(at);
    w.last.push(s.targets.map((f) => lastObs(f, t) * std[f] + mean[f]));
    w.truth.push(s.targets.map((f) => truthV[at][f]));
    w.seasonal.push(s.targets.map((f) => (at - s.period >= 0 ? truthV[at - s.period][f] : NaN)));
    s.targets.forEach((f, k) => (y.data[n * K + k] = (truthV[at][f] - w.last[n][k]) / std[f]));
    (at >= s.testFrom ? w.test : w.train).push(n);
  });
  return w;
}

export interface Errors {
  mae: number;
  rmse: number;
}

/** MAE and RMSE of forecasts [n][K] against the windows' truth at `idx` (own units, all targets pooled). */
export function errors(w: Windows, idx: readonly number[], forecast: (n: number) => number[]): Errors {
  let a = 0;
  let s = 0;
  let c = 0;
  for (const n of idx) {
    const f = forecast(n);
    w.truth[n].forEach((v, k) => {
      if (Number.isNaN(f[k])) throw new TensorError('errors', `forecast of window ${n} is NaN`);
      a += Math.abs(f[k] - v);
      s += (f[k] - v) ** 2;
      c++;
    });
  }
  return { mae: a / c, rmse: Math.sqrt(s / c) };
}

/** Least-squares linear autoregression on the flattened windows: ridge λ, solved by Cholesky in float64. */
export function linearAR(w: Windows, lambda = 1e-3): (n: number) => number[] {
  const [, L, C] = w.x.shape;
  const D = L * C + 1;
  const K = w.y.shape[1];
  const X = w.x.data;
  const feat = (n: number): Float64Array => {
    const f = new Float64Array(D);
    for (let i = 0; i < L * C; i++) f[i] = X[n * L * C + i];
    f[D - 1] = 1;
    return f;
  };
  const A = new Float64Array(D * D);
  const B = new Float64Array(D * K);
  for (const n of w.train) {
    const f = feat(n);
    for (let i = 0; i < D; i++) {
      for (let j = 0; j < D; j++) A[i * D + j] += f[i] * f[j];
      for (let k = 0; k < K; k++) B[i * K + k] += f[i] * w.y.data[n * K + k];
    }
  }
  for (let i = 0; i < D - 1; i++) A[i * D + i] += lambda * w.train.length;
  // Cholesky A = G Gᵀ, then G u = B, Gᵀ β = u
  const G = new Float64Array(D * D);
  for (let i = 0; i < D; i++) {
    for (let j = 0; j <= i; j++) {
      let v = A[i * D + j];
      for (let k = 0; k < j; k++) v -= G[i * D + k] * G[j * D + k];
      G[i * D + j] = i === j ? Math.sqrt(Math.max(v, 1e-12)) : v / G[j * D + j];
    }
  }
  const beta = new Float64Array(D * K);
  for (let k = 0; k < K; k++) {
    const u = new Float64Array(D);
    for (let i = 0; i < D; i++) {
      let v = B[i * K + k];
      for (let j = 0; j < i; j++) v -= G[i * D + j] * u[j];
      u[i] = v / G[i * D + i];
    }
    for (let i = D - 1; i >= 0; i--) {
      let v = u[i];
      for (let j = i + 1; j < D; j++) v -= G[j * D + i] * beta[j * K + k];
      beta[i * K + k] = v / G[i * D + i];
    }
  }
  return (n) => {
    const f = feat(n);
    return w.last[n].map((v, k) => {
      let r = 0;
      for (let i = 0; i < D; i++) r += f[i] * beta[i * K + k];
      return v + r * w.std[k];
    });
  };
}

export class WindowGru extends Module {
  readonly rnn: GRU;
  readonly fc: Linear;
  constructor(inputSize: number, hiddenSize: number, outputs: number, seed: number) {
    super();
    const rng = new Rng(seed);
    this.rnn = this.registerModule('rnn', new GRU({ inputSize, hiddenSize, batchFirst: true, rng }));
    this.fc = this.registerModule('fc', new Linear(hiddenSize, outputs, { rng }));
  }
  /** x:[B, L, C] → normalised change of each target [B, K]. */
  forward(x: Tensor): Tensor {
    return this.fc.forward(ad.slice(this.rnn.forward(x).hN, 0));
  }
}

export interface GruFit {
  forecast: (n: number) => number[];
  steps: number;
  seconds: number;
}

/** Trains a GRU on the training windows (Adam, cosine-annealed lr, clip 1, mse) and returns its forecasts. */
export function fitGru(w: Windows, o: { hiddenSize?: number; steps?: number; batchSize?: number; lr?: number; seed?: number }): GruFit {
  const steps = o.steps ?? 1500;
  const B = Math.min(o.batchSize ?? 32, w.train.length);
  const model = new WindowGru(w.x.shape[2], o.hiddenSize ?? 32, w.y.shape[1], o.seed ?? 1);
  const params = model.parameters();
  const opt = new Adam(params, { lr: o.lr ?? 3e-3 });
  const sched = cosine(o.lr ?? 3e-3, steps, 1e-4);
  const rng = new Rng((o.seed ?? 1) + 7);
  const t0 = Date.now();
  for (let s = 0; s < steps; s++) {
    const idx = Array.from({ length: B }, () => w.train[Math.floor(rng.next() * w.train.length)]);
    const xb = takeRows(w.x, idx);
    const yb = takeRows(w.y, idx);
    model.train(true);
    computeGradients(model, () => ({ loss: ad.mse(model.forward(xb), yb) }));
    clipGradNorm(params, 1);
    opt.lr = sched(s);
    opt.step();
  }
  const seconds = (Date.now() - t0) / 1000;
  model.eval();
  const all = noGrad(() => model.forward(w.x)).contiguous(); // [N, K]
  const K = w.y.shape[1];
  return { forecast: (n) => w.last[n].map((v, k) => v + all.data[all.offset + n * K + k] * w.std[k]), steps, seconds };
}
