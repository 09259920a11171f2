import { Tensor, TensorError } from '@unfold/tensor';

/** A series of N steps: 1-D (one feature) as an array, typed array or [N] tensor; [N,F] as nested arrays or a tensor. */
export type SeriesInput = readonly number[] | Float32Array | Float64Array | readonly (readonly number[])[] | Tensor;

/** A series read into row-major float64: element (i, f) at i·F + f. NaN is kept (it marks a missing value). */
export interface SeriesMatrix {
  data: Float64Array;
  n: number;
  f: number;
}

export function toSeriesMatrix(op: string, series: SeriesInput): SeriesMatrix {
  if (series instanceof Tensor) {
    if (series.rank !== 1 && series.rank !== 2) {
      throw new TensorError(op, `a series tensor must be [N] or [N,F], got shape [${series.shape.join(',')}]`);
    }
    const n = series.shape[0];
    const f = series.rank === 2 ? series.shape[1] : 1;
    return checked(op, { data: Float64Array.from(series.toTypedArray()), n, f });
  }
  if (series instanceof Float32Array || series instanceof Float64Array) return checked(op, { data: Float64Array.from(series), n: series.length, f: 1 });
  if (!Array.isArray(series)) throw new TensorError(op, `expected a series (number[], number[][], Float32Array or Tensor), got ${typeof series}`);
  const n = series.length;
  if (n > 0 && Array.isArray(series[0])) {
    const rows = series as readonly (readonly number[])[];
    const f = rows[0].length;
    const data = new Float64Array(n * f);
    rows.forEach((row, i) => {
      if (!Array.isArray(row) || row.length !== f) {
        throw new TensorError(op, `row ${i} of the series has ${Array.isArray(row) ? row.length : typeof row} features, row 0 has ${f}`);
      }
      row.forEach((v, j) => {
        if (typeof v !== 'number') throw new TensorError(op, `series[${i}][${j}] is ${typeof v}, not a number`);
        data[i * f + j] = v;
      });
    });
    return checked(op, { data, n, f });
  }
  const data = new Float64Array(n);
  (series as readonly unknown[]).forEach((v, i) => {
    if (typeof v !== 'number') throw new TensorError(op, `series[${i}] is ${typeof v}, not a number`);
    data[i] = v;
  });
  return checked(op, { data, n, f: 1 });
}

/** NaN means "missing"; ±Infinity is almost always a bug upstream, so it is refused. */
function checked(op: string, m: SeriesMatrix): SeriesMatrix {
  if (m.f < 1) throw new TensorError(op, 'the series has no features (F = 0)');
  for (let k = 0; k < m.data.length; k++) {
    const v = m.data[k];
    if (v === Infinity || v === -Infinity) {
      const at = m.f === 1 ? `[${k}]` : `[${Math.floor(k / m.f)}][${k % m.f}]`;
      throw new TensorError(op, `series${at} is ${v}; only NaN may mark a missing value`);
    }
  }
  return m;
}
