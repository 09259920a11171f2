// Small helpers shared by the examples: splits, argmax, baselines, printing.
import { Rng, Tensor, TensorError, permutation } from '@unfold/tensor';

/** Padded ids as SequenceTask and padSequences lay them out: [T, B] time-major, with lengths. */
export interface IdBatch {
  ids: Int32Array;
  shape: [number, number];
  lengths: Int32Array;
}

/** Writes a line to stdout unless `quiet`. */
export function sayer(quiet: boolean | undefined): (s?: string) => void {
  return quiet ? () => {} : (s = '') => void process.stdout.write(`${s}\n`);
}

/** Shuffles indices [0, n) with rng and cuts them into consecutive parts of the given sizes. */
export function splitIndices(n: number, sizes: readonly number[], rng: Rng): number[][] {
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total > n) throw new TensorError('splitIndices', `parts of ${sizes.join(' + ')} = ${total} need more than the ${n} items`);
  const p = permutation(n, rng);
  const out: number[][] = [];
  let at = 0;
  for (const s of sizes) {
    out.push(p.slice(at, at + s));
    at += s;
  }
  return out;
}

/** Row-wise argmax of logits [N, C]. */
export function argmaxRows(logits: Tensor): Int32Array {
  if (logits.rank !== 2) throw new TensorError('argmaxRows', `logits must be [N, C], got [${logits.shape.join(',')}]`);
  const [n, c] = logits.shape;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestV = -Infinity;
    for (let j = 0; j < c; j++) {
      const v = logits.get(i, j);
      if (v > bestV) {
        bestV = v;
        best = j;
      }
    }
    out[i] = best;
  }
  return out;
}

/** The most frequent value of `xs` (ties: the smallest). */
export function mostFrequent(xs: Iterable<number>): number {
  const counts = new Map<number, number>();
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
  let best = NaN;
  let bestN = -1;
  for (const [k, n] of [...counts.entries()].sort((a, b) => a[0] - b[0])) {
    if (n > bestN) {
      best = k;
      bestN = n;
    }
  }
  return best;
}

/** Fraction of positions where a and b agree. */
export function agreement(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new TensorError('agreement', `${a.length} predictions for ${b.length} targets`);
  let hit = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) hit++;
  return a.length === 0 ? NaN : hit / a.length;
}

export function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

/** Runs fn and returns its result with the wall time in seconds. */
export function timed<T>(fn: () => T): { result: T; seconds: number } {
  const t0 = Date.now();
  const result = fn();
  return { result, seconds: (Date.now() - t0) / 1000 };
}
