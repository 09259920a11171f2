import { DType, Tensor, TensorError, isDType, zeros } from '@unfold/tensor';
import { checkPositiveInt } from './check';
import { checkOptions, keysOf } from '../options';

export interface PadOptions {
  /** Value written into padded positions (default 0). */
  padValue?: number;
  /** T; longer sequences are truncated (default: the longest length). */
  maxLen?: number;
  /** Which end of a too-long sequence to drop (default 'post': keep the beginning). Keras' default is 'pre'. */
  truncating?: 'pre' | 'post';
  /** Lay out as [B,T] instead of the time-major [T,B] (default false). */
  batchFirst?: boolean;
}

/**
 * Padding is always at the end: step t of sequence b is real iff t < lengths[b]. That is the
 * layout length-masked RNNs and packed sequences assume (the final state of sequence b is the
 * state at step lengths[b] − 1), so pre-padding is not offered.
 */
export interface PaddedIds {
  /** Row-major ids: element (t, b) at t·B + b, or (b, t) at b·T + t with batchFirst. */
  ids: Int32Array;
  /** [T,B], or [B,T] with batchFirst. */
  shape: [number, number];
  lengths: Int32Array;
  /** 1 where a real element is, 0 on padding; same layout and shape as `ids`. */
  mask: Tensor;
}

export interface PaddedFeatures {
  /** [T,B,F], or [B,T,F] with batchFirst. */
  x: Tensor;
  lengths: Int32Array;
  /** [T,B] (or [B,T]): 1 on real steps. */
  mask: Tensor;
}

const PAD_KEYS = keysOf<PadOptions & { dtype?: DType }>({ padValue: 1, maxLen: 1, truncating: 1, batchFirst: 1, dtype: 1 });

interface Plan {
  T: number;
  B: number;
  lengths: Int32Array;
  /** Index of each kept sequence's first element (truncating 'pre' skips the head). */
  starts: Int32Array;
  batchFirst: boolean;
}

function plan(op: string, rawLengths: number[], opts: PadOptions): Plan {
  const B = rawLengths.length;
  if (B === 0) throw new TensorError(op, 'no sequences to pad');
  rawLengths.forEach((n, b) => {
    if (n === 0) throw new TensorError(op, `sequence ${b} is empty; every sequence needs at least one step (its final state is read at step length − 1)`);
  });
  const T = opts.maxLen === undefined ? Math.max(...rawLengths) : checkPositiveInt(op, 'maxLen', opts.maxLen);
  const truncating = opts.truncating ?? 'post';
  if (truncating !== 'pre' && truncating !== 'post') throw new TensorError(op, `truncating must be 'pre' or 'post', got ${String(truncating)}`);
  const lengths = new Int32Array(B);
  const starts = new Int32Array(B);
  rawLengths.forEach((n, b) => {
    lengths[b] = Math.min(n, T);
    starts[b] = truncating === 'pre' ? n - lengths[b] : 0;
  });
  return { T, B, lengths, starts, batchFirst: opts.batchFirst ?? false };
}

/** 0/1 mask in the dtype of the values it will multiply (a float64 model gets a float64 mask). */
function lengthMask(p: Plan, dtype: DType = 'float32'): Tensor {
  const { T, B, lengths } = p;
  const mask = zeros(p.batchFirst ? [B, T] : [T, B], dtype);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < lengths[b]; t++) mask.data[p.batchFirst ? b * T + t : t * B + b] = 1;
  }
  return mask;
}

/** Pads integer-id sequences into one [T,B] (or [B,T]) block with lengths and a 0/1 mask. */
export function padSequences(seqs: readonly (readonly number[] | Int32Array)[], opts: PadOptions & { dtype?: DType } = {}): PaddedIds {
  const op = 'padSequences';
  checkOptions(op, opts, PAD_KEYS);
  if (!Array.isArray(seqs)) throw new TensorError(op, `expected an array of sequences, got ${typeof seqs}`);
  seqs.forEach((s, b) => {
    if (!(s instanceof Int32Array) && !Array.isArray(s)) throw new TensorError(op, `sequence ${b} must be an array of ids or an Int32Array, got ${typeof s}`);
  });
  const padValue = opts.padValue ?? 0;
  if (!Number.isInteger(padValue)) throw new TensorError(op, `padValue must be an integer id, got ${padValue}`);
  const p = plan(op, seqs.map((s) => s.length), opts);
  const { T, B } = p;
  const ids = new Int32Array(T * B).fill(padValue);
  for (let b = 0; b < B; b++) {
    const s = seqs[b];
    for (let t = 0; t < p.lengths[b]; t++) {
      const v = s[p.starts[b] + t];
      if (!Number.isInteger(v) || v < 0) throw new TensorError(op, `sequence ${b}, step ${p.starts[b] + t}: ${v} is not a non-negative integer id`);
      ids[p.batchFirst ? b * T + t : t * B + b] = v;
    }
  }
  const dtype = opts.dtype ?? 'float32';
  if (!isDType(dtype)) throw new TensorError(op, `unknown dtype ${String(dtype)}`);
  return { ids, shape: p.batchFirst ? [B, T] : [T, B], lengths: p.lengths, mask: lengthMask(p, dtype) };
}

/** Pads float feature sequences, each [len, F] (nested arrays or a Tensor), into [T,B,F] (or [B,T,F]). */
export function padFeatureSequences(
  seqs: readonly (readonly (readonly number[])[] | Tensor)[],
  opts: PadOptions & { dtype?: DType } = {},
): PaddedFeatures {
  const op = 'padFeatureSequences';
  checkOptions(op, opts, PAD_KEYS);
  if (!Array.isArray(seqs)) throw new TensorError(op, `expected an array of sequences, got ${typeof seqs}`);
  const dtype = opts.dtype ?? 'float32';
  if (!isDType(dtype)) throw new TensorError(op, `unknown dtype ${String(dtype)}`);
  const padValue = opts.padValue ?? 0;
  if (typeof padValue !== 'number') throw new TensorError(op, `padValue must be a number, got ${typeof padValue}`);
  // Every sequence as a function (t, f) → value, with its [len, F].
  let F = -1;
  const views = seqs.map((s, b) => {
    let len: number, nf: number, at: (t: number, f: number) => number;
    if (s instanceof Tensor) {
      if (s.rank !== 2) throw new TensorError(op, `sequence ${b} must be a [len, F] tensor, got shape [${s.shape.join(',')}]`);
      [len, nf] = s.shape;
      at = (t, f) => s.get(t, f);
    } else if (Array.isArray(s)) {
      len = s.length;
      if (len > 0 && !Array.isArray(s[0])) throw new TensorError(op, `sequence ${b}, step 0 must be an array of F features, got ${typeof s[0]}`);
      nf = len > 0 ? s[0].length : 0;
      s.forEach((row, t) => {
        if (!Array.isArray(row) || row.length !== nf) {
          throw new TensorError(op, `sequence ${b}, step ${t} has ${Array.isArray(row) ? row.length : typeof row} features, step 0 has ${nf}`);
        }
      });
      at = (t, f) => s[t][f];
    } else throw new TensorError(op, `sequence ${b} must be a [len, F] nested array or tensor, got ${typeof s}`);
    if (len > 0) {
      if (nf < 1) throw new TensorError(op, `sequence ${b} has no features (F = 0)`);
      if (F === -1) F = nf;
      else if (nf !== F) throw new TensorError(op, `sequence ${b} has ${nf} features, earlier sequences have ${F}`);
    }
    return { len, at };
  });
  const p = plan(op, views.map((v) => v.len), opts);
  const { T, B } = p;
  const x = zeros(p.batchFirst ? [B, T, F] : [T, B, F], dtype);
  const d = x.data;
  if (padValue !== 0) d.fill(padValue);
  for (let b = 0; b < B; b++) {
    const v = views[b];
    for (let t = 0; t < p.lengths[b]; t++) {
      const base = (p.batchFirst ? b * T + t : t * B + b) * F;
      for (let f = 0; f < F; f++) {
        const val = v.at(p.starts[b] + t, f);
        if (typeof val !== 'number') throw new TensorError(op, `sequence ${b}, step ${p.starts[b] + t}, feature ${f} is ${typeof val}, not a number`);
        d[base + f] = val;
      }
    }
  }
  return { x, lengths: p.lengths, mask: lengthMask(p, dtype) };
}
