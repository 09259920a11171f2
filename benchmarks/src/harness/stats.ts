// Summaries of timing samples. The median is the headline figure: robust to the occasional
// GC pause or a neighbour process on a shared 2-core host; min/max show the spread.

export interface Summary {
  reps: number;
  median: number;
  min: number;
  max: number;
  /** Median absolute deviation, in the samples' unit. */
  mad: number;
}

/** Linear-interpolated quantile q ∈ [0, 1] of unsorted xs (the median for q = 0.5). */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) throw new Error('quantile: no samples');
  if (!(q >= 0 && q <= 1)) throw new Error(`quantile: q = ${q} is outside [0, 1]`);
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

export const median = (xs: readonly number[]): number => quantile(xs, 0.5);

export function summarize(xs: readonly number[]): Summary {
  const m = median(xs);
  return { reps: xs.length, median: m, min: Math.min(...xs), max: Math.max(...xs), mad: median(xs.map((x) => Math.abs(x - m))) };
}

/** |a − b| / max(|a|, |b|): the symmetric relative difference used by the loss checks. */
export function relDiff(a: number, b: number): number {
  const d = Math.max(Math.abs(a), Math.abs(b));
  return d === 0 ? 0 : Math.abs(a - b) / d;
}
