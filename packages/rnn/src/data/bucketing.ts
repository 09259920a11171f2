import { Rng, TensorError, defaultRng, shuffle as shuffleInPlace } from '@unfold/tensor';
import { checkPositiveInt, checkRng } from './check';
import { checkOptions, keysOf } from '../options';

export interface BucketOptions {
  batchSize: number;
  /** Buckets of equal width: lengths 1…w, w+1…2w, … (padding within a batch < w). */
  bucketWidth?: number;
  /** Strictly increasing bucket edges [b0, b1, …]: buckets are [1, b0), [b0, b1), …, [b_last, ∞), as tf.data's bucket_by_sequence_length. */
  boundaries?: number[];
  /** Shuffle within buckets and the order of the batches (default false). */
  shuffle?: boolean;
  /** Generator for the shuffles (default: the tensor package's defaultRng). */
  rng?: Rng;
}

/**
 * Groups sequence indices into batches of similar length, so that padding to the longest
 * sequence of a batch wastes little. Every index appears in exactly one batch; each bucket's
 * last batch may be smaller than batchSize.
 *
 * With neither bucketWidth nor boundaries, all indices are sorted by length and cut into
 * batches (the least padding possible); with shuffle, equal lengths are ordered randomly so
 * batch composition changes between epochs. With buckets and no shuffle, each bucket is sorted
 * by (length, index); with shuffle it is shuffled. Shuffle then also shuffles the batch order.
 */
export function bucketByLength(lengths: ArrayLike<number>, opts: BucketOptions): number[][] {
  const op = 'bucketByLength';
  if (opts === null || typeof opts !== 'object') throw new TensorError(op, 'options { batchSize } are required');
  checkOptions(op, opts, keysOf<BucketOptions>({ batchSize: 1, bucketWidth: 1, boundaries: 1, shuffle: 1, rng: 1 }));
  const batchSize = checkPositiveInt(op, 'batchSize', opts.batchSize);
  if (lengths === null || typeof lengths !== 'object' || typeof lengths.length !== 'number') {
    throw new TensorError(op, `lengths must be an array of integers, got ${lengths === null ? 'null' : typeof lengths}`);
  }
  const n = lengths.length;
  for (let i = 0; i < n; i++) {
    const v = lengths[i];
    if (!Number.isInteger(v) || v < 1) throw new TensorError(op, `lengths[${i}] = ${v} is not a positive integer`);
  }
  if (opts.bucketWidth !== undefined && opts.boundaries !== undefined) {
    throw new TensorError(op, 'give bucketWidth or boundaries, not both');
  }
  const rng = opts.rng === undefined ? defaultRng : checkRng(op, opts.rng);
  const shuffle = opts.shuffle ?? false;

  let bucketOf: (len: number) => number;
  if (opts.bucketWidth !== undefined) {
    const w = checkPositiveInt(op, 'bucketWidth', opts.bucketWidth);
    bucketOf = (len) => Math.floor((len - 1) / w);
  } else if (opts.boundaries !== undefined) {
    const bs = opts.boundaries;
    if (!Array.isArray(bs) || bs.length === 0) throw new TensorError(op, 'boundaries must be a non-empty array of increasing integers');
    bs.forEach((v, i) => {
      if (!Number.isInteger(v) || v < 2 || (i > 0 && v <= bs[i - 1])) {
        throw new TensorError(op, `boundaries must be strictly increasing integers ≥ 2, got [${bs.join(',')}]`);
      }
    });
    bucketOf = (len) => {
      let k = 0;
      while (k < bs.length && len >= bs[k]) k++;
      return k;
    };
  } else bucketOf = () => 0;
  const sortWithin = !shuffle || (opts.bucketWidth === undefined && opts.boundaries === undefined);

  const buckets = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const k = bucketOf(lengths[i]);
    let list = buckets.get(k);
    if (!list) buckets.set(k, (list = []));
    list.push(i);
  }
  const batches: number[][] = [];
  for (const k of Array.from(buckets.keys()).sort((a, b) => a - b)) {
    const list = buckets.get(k)!;
    if (shuffle) shuffleInPlace(list, rng);
    if (sortWithin) {
      // Stable sort: ties keep the (shuffled or index) order they already have.
      list.sort((a, b) => lengths[a] - lengths[b]);
    }
    for (let s = 0; s < list.length; s += batchSize) batches.push(list.slice(s, s + batchSize));
  }
  if (shuffle) shuffleInPlace(batches, rng);
  return batches;
}

/** Fraction of the padded cells Σ_batches B·maxLen that are padding (0 = no waste). */
export function paddingFraction(lengths: ArrayLike<number>, batches: readonly (readonly number[])[]): number {
  let cells = 0;
  let real = 0;
  batches.forEach((batch, k) => {
    let maxLen = 0;
    for (const i of batch) {
      if (!Number.isInteger(i) || i < 0 || i >= lengths.length) {
        throw new TensorError('paddingFraction', `batch ${k} holds index ${i}, outside [0, ${lengths.length})`);
      }
      maxLen = Math.max(maxLen, lengths[i]);
      real += lengths[i];
    }
    cells += batch.length * maxLen;
  });
  return cells === 0 ? 0 : (cells - real) / cells;
}
