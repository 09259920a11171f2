import { Tensor, TensorError, zeros } from '@unfold/tensor';
import { SeriesInput, toSeriesMatrix } from './series';

export interface NormalizerJSON {
  type: 'Normalizer';
  version: 1;
  mean: number[];
  std: number[];
}

/** Which features' statistics apply to the last axis of a tensor (default: all, in order). */
export interface FeatureSelect {
  features?: number[];
}

/**
 * Per-feature standardisation z = (x − mean_f)/std_f. `fit` is meant for the training part
 * only (fitting on all data leaks the future into the scale). Statistics skip NaN (missing)
 * values, and NaN stays NaN through transform/inverse, so masks can be made afterwards.
 * std is the population std (divide by the count), computed in float64 with two passes;
 * a feature with std < 1e-8 (constant) gets std = 1, as scikit-learn does, so it maps to 0.
 */
export class Normalizer {
  readonly mean: Float64Array;
  readonly std: Float64Array;

  constructor(mean: ArrayLike<number>, std: ArrayLike<number>) {
    if (mean.length !== std.length || mean.length === 0) {
      throw new TensorError('Normalizer', `mean and std need the same non-zero length, got ${mean.length} and ${std.length}`);
    }
    for (let j = 0; j < mean.length; j++) {
      if (!Number.isFinite(mean[j]) || !(std[j] > 0) || !Number.isFinite(std[j])) {
        throw new TensorError('Normalizer', `feature ${j}: mean ${mean[j]} must be finite and std ${std[j]} finite and > 0`);
      }
    }
    this.mean = Float64Array.from(mean);
    this.std = Float64Array.from(std);
  }

  static fit(series: SeriesInput): Normalizer {
    const op = 'Normalizer.fit';
    const { data, n, f } = toSeriesMatrix(op, series);
    const mean = new Float64Array(f);
    const std = new Float64Array(f);
    for (let j = 0; j < f; j++) {
      let sum = 0;
      let count = 0;
      for (let i = 0; i < n; i++) {
        const v = data[i * f + j];
        if (v === v) {
          sum += v;
          count++;
        }
      }
      if (count === 0) throw new TensorError(op, `feature ${j} has no observed values (all ${n} are NaN or the series is empty)`);
      const m = sum / count;
      let ss = 0;
      for (let i = 0; i < n; i++) {
        const v = data[i * f + j];
        if (v === v) ss += (v - m) * (v - m);
      }
      const s = Math.sqrt(ss / count);
      mean[j] = m;
      std[j] = s < 1e-8 ? 1 : s;
    }
    return new Normalizer(mean, std);
  }

  get numFeatures(): number {
    return this.mean.length;
  }

  /** (x − mean)/std. Arrays give a float32 tensor [N] or [N,F]; a tensor keeps its dtype and shape (last axis = features). */
  transform(series: SeriesInput, sel: FeatureSelect = {}): Tensor {
    return this.apply('Normalizer.transform', series, sel, (v, m, s) => (v - m) / s);
  }

  /** x·std + mean: model outputs back in the data's units. */
  inverse(series: SeriesInput, sel: FeatureSelect = {}): Tensor {
    return this.apply('Normalizer.inverse', series, sel, (v, m, s) => v * s + m);
  }

  toJSON(): NormalizerJSON {
    return { type: 'Normalizer', version: 1, mean: Array.from(this.mean), std: Array.from(this.std) };
  }

  static fromJSON(json: unknown): Normalizer {
    const j = json as Partial<NormalizerJSON> | null;
    if (j === null || typeof j !== 'object' || j.type !== 'Normalizer' || j.version !== 1 || !Array.isArray(j.mean) || !Array.isArray(j.std)) {
      throw new TensorError('Normalizer.fromJSON', `expected { type: "Normalizer", version: 1, mean: number[], std: number[] }, got ${JSON.stringify(json)?.slice(0, 80)}`);
    }
    return new Normalizer(j.mean, j.std);
  }

  private apply(op: string, series: SeriesInput, sel: FeatureSelect, fn: (v: number, m: number, s: number) => number): Tensor {
    const feats = sel.features ?? Array.from(this.mean, (_, j) => j);
    feats.forEach((j) => {
      if (!Number.isInteger(j) || j < 0 || j >= this.numFeatures) throw new TensorError(op, `feature ${j} is out of range [0, ${this.numFeatures})`);
    });
    const F = feats.length;
    let shape: number[];
    let src: ArrayLike<number>;
    let out: Tensor;
    if (series instanceof Tensor) {
      // The last axis holds the features; with one feature any shape works (e.g. a 1-D [N] series).
      const last = series.rank === 0 ? 1 : series.shape[series.rank - 1];
      if (last !== F && F !== 1) {
        throw new TensorError(op, `last axis of [${series.shape.join(',')}] has ${last} entries, the normalizer applies ${F} features`);
      }
      shape = series.shape.slice();
      src = series.toTypedArray();
      out = zeros(shape, series.dtype);
    } else {
      const m = toSeriesMatrix(op, series);
      if (m.f !== F) throw new TensorError(op, `the series has ${m.f} features, the normalizer applies ${F}`);
      const nested = Array.isArray(series) && series.length > 0 && Array.isArray(series[0]);
      shape = nested ? [m.n, m.f] : [m.n];
      src = m.data;
      out = zeros(shape);
    }
    const d = out.data;
    for (let k = 0; k < src.length; k++) {
      const j = feats[F === 1 ? 0 : k % F];
      d[k] = fn(src[k], this.mean[j], this.std[j]);
    }
    return out;
  }
}
