import { DType, Rng, Tensor, TensorError, shapeStr, tensor } from '@unfold/tensor';
import { padFeatureSequences, padSequences } from '../data/padding';
import { checkOptions, keysOf } from '../options';

/**
 * Inputs, batch-first as Keras takes them:
 *  - a Tensor [N, …] (a fixed-length float series [N, T, F], or plain features [N, F]);
 *  - float sequences of different lengths, each [len, F] (nested arrays or Tensors): padded to
 *    [N, T, F] with per-example lengths;
 *  - id sequences (arrays of integer ids, e.g. words): padded to [N, T] (ids as numbers) with lengths.
 */
export type XInput = Tensor | readonly (readonly (readonly number[])[] | Tensor)[] | readonly (readonly number[] | Int32Array)[];
/**
 * Targets: a Tensor [N, …] (regression), class labels [N] (many-to-one classification), or one
 * tag per step of each sequence (tagging; each as long as its input sequence).
 */
export type YInput = Tensor | ArrayLike<number> | readonly (readonly number[])[];

export type BatchTargets =
  | { kind: 'dense'; t: Tensor } // [B, …]
  | { kind: 'labels'; ids: Int32Array } // [B]
  | { kind: 'tags'; ids: Int32Array; mask: Float64Array; T: number }; // [B·T], 1 on real steps

export interface Batch {
  x: Tensor; // [B, …]
  y: BatchTargets | null;
  lengths?: Int32Array;
  indices: number[];
}

export interface DataLoaderOptions {
  batchSize?: number;
  /** A new order every pass (default false). */
  shuffle?: boolean;
  rng?: Rng;
  dtype?: DType;
}

/** Rows `idx` of t [N, …] as a new contiguous [idx.length, …] tensor (data, not differentiated). */
function takeRows(t: Tensor, idx: readonly number[]): Tensor {
  const row = t.size / t.shape[0];
  const src = t.toTypedArray(); // contiguous copy or view, from element 0
  const out = new (t.dtype === 'float64' ? Float64Array : Float32Array)(idx.length * row);
  idx.forEach((i, k) => out.set(src.subarray(i * row, (i + 1) * row), k * row));
  return Tensor.fromArray(out, [idx.length, ...t.shape.slice(1)]);
}

const isIdSeqs = (x: readonly unknown[]) => x.length > 0 && x.every((s) => s instanceof Int32Array || (Array.isArray(s) && (s.length === 0 || typeof s[0] === 'number')));

/**
 * Batches of (x, y) from whole arrays, as Keras' fit slices them (and torch's DataLoader over a
 * TensorDataset): variable-length sequences are padded once to the longest, with lengths kept,
 * so a batch is [B, T, F] (or ids [B, T]) plus `lengths` for the recurrent layers and masks.
 */
export class DataLoader {
  readonly x: Tensor;
  readonly lengths: Int32Array | null;
  readonly n: number;
  readonly batchSize: number;
  readonly shuffle: boolean;
  private readonly y: { kind: 'dense'; t: Tensor } | { kind: 'labels'; ids: Int32Array } | { kind: 'tags'; ids: Int32Array; mask: Float64Array; T: number } | null;
  private readonly rng: Rng;

  constructor(x: XInput, y: YInput | null = null, o: DataLoaderOptions = {}) {
    const op = 'DataLoader';
    checkOptions(op, o, keysOf<DataLoaderOptions>({ batchSize: 1, shuffle: 1, rng: 1, dtype: 1 }));
    const dtype = o.dtype ?? 'float32';
    this.batchSize = o.batchSize ?? 32;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new TensorError(op, `batchSize must be a positive integer, got ${o.batchSize}`);
    this.shuffle = o.shuffle ?? false;
    this.rng = o.rng ?? new Rng(0);
    if (x instanceof Tensor) {
      if (x.rank < 1 || x.shape[0] < 1) throw new TensorError(op, `x must be [N, …] with N ≥ 1, got ${shapeStr(x.shape)}`);
      this.x = x;
      this.lengths = null;
    } else if (Array.isArray(x)) {
      if (x.length === 0) throw new TensorError(op, 'x is empty');
      if (isIdSeqs(x)) {
        const p = padSequences(x as readonly number[][], { batchFirst: true });
        this.x = tensor(Array.from(p.ids), p.shape, dtype); // ids as numbers, [N, T]
        this.lengths = p.lengths;
      } else {
        const p = padFeatureSequences(x as readonly (readonly (readonly number[])[])[], { batchFirst: true, dtype });
        this.x = p.x; // [N, T, F]
        this.lengths = p.lengths;
      }
    } else throw new TensorError(op, `x must be a Tensor or an array of sequences, got ${x === null ? 'null' : typeof x}`);
    this.n = this.x.shape[0];
    this.y = y === null ? null : this.targets(y);
  }

  private targets(y: YInput): NonNullable<DataLoader['y']> {
    const op = 'DataLoader';
    if (y instanceof Tensor) {
      if (y.rank < 1 || y.shape[0] !== this.n) throw new TensorError(op, `y ${shapeStr(y.shape)} must have N = ${this.n} rows, as x`);
      return { kind: 'dense', t: y };
    }
    if (y === null || typeof y !== 'object' || typeof (y as ArrayLike<number>).length !== 'number') throw new TensorError(op, `y must be a Tensor, labels or tag sequences, got ${typeof y}`);
    if ((y as ArrayLike<unknown>).length !== this.n) throw new TensorError(op, `y has ${(y as ArrayLike<unknown>).length} entries for ${this.n} examples`);
    const arr = Array.from(y as ArrayLike<unknown>);
    const classId = (v: unknown, where: string) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new TensorError(op, `${where}: ${String(v)} is not a class index`);
      return v;
    };
    if (arr.every((v) => typeof v === 'number')) return { kind: 'labels', ids: Int32Array.from(arr.map((v, i) => classId(v, `y[${i}]`))) };
    if (!this.lengths) throw new TensorError(op, 'tag sequences as y need sequences as x (with lengths)');
    const T = this.x.shape[1];
    const ids = new Int32Array(this.n * T);
    const mask = new Float64Array(this.n * T);
    arr.forEach((tags, i) => {
      if (!Array.isArray(tags) || tags.length !== this.lengths![i]) throw new TensorError(op, `y[${i}] must hold one tag per step (${this.lengths![i]}), got ${Array.isArray(tags) ? tags.length : typeof tags}`);
      tags.forEach((v, t) => {
        ids[i * T + t] = classId(v, `y[${i}][${t}]`);
        mask[i * T + t] = 1;
      });
    });
    return { kind: 'tags', ids, mask, T };
  }

  /** A loader over some examples (validationSplit). */
  subset(indices: readonly number[], o: { shuffle?: boolean } = {}): DataLoader {
    const sub = Object.create(DataLoader.prototype) as DataLoader;
    const y = this.y;
    const sel = <A extends Int32Array | Float64Array>(a: A, per: number): A => {
      const out = new (a.constructor as new (n: number) => A)(indices.length * per);
      indices.forEach((i, k) => out.set(a.subarray(i * per, (i + 1) * per), k * per));
      return out;
    };
    Object.assign(sub, {
      x: takeRows(this.x, indices),
      lengths: this.lengths ? Int32Array.from(indices, (i) => this.lengths![i]) : null,
      n: indices.length,
      batchSize: this.batchSize,
      shuffle: o.shuffle ?? this.shuffle,
      rng: this.rng,
      y: y === null ? null : y.kind === 'dense' ? { kind: 'dense', t: takeRows(y.t, indices) } : y.kind === 'labels' ? { kind: 'labels', ids: sel(y.ids, 1) } : { kind: 'tags', ids: sel(y.ids, y.T), mask: sel(y.mask, y.T), T: y.T },
    });
    return sub;
  }

  get numBatches(): number {
    return Math.ceil(this.n / this.batchSize);
  }

  /** One pass: batches in order, or in a fresh random order when shuffling. */
  *batches(): Generator<Batch> {
    const order = Array.from({ length: this.n }, (_, i) => i);
    if (this.shuffle) {
      for (let i = this.n - 1; i > 0; i--) {
        const j = this.rng.int(0, i + 1);
        [order[i], order[j]] = [order[j], order[i]];
      }
    }
    for (let s = 0; s < this.n; s += this.batchSize) {
      const idx = order.slice(s, s + this.batchSize);
      yield this.batch(idx);
    }
  }

  private batch(idx: number[]): Batch {
    const y = this.y;
    let targets: BatchTargets | null = null;
    if (y?.kind === 'dense') targets = { kind: 'dense', t: takeRows(y.t, idx) };
    else if (y?.kind === 'labels') targets = { kind: 'labels', ids: Int32Array.from(idx, (i) => y.ids[i]) };
    else if (y?.kind === 'tags') {
      const ids = new Int32Array(idx.length * y.T);
      const mask = new Float64Array(idx.length * y.T);
      idx.forEach((i, k) => {
        ids.set(y.ids.subarray(i * y.T, (i + 1) * y.T), k * y.T);
        mask.set(y.mask.subarray(i * y.T, (i + 1) * y.T), k * y.T);
      });
      targets = { kind: 'tags', ids, mask, T: y.T };
    }
    const b: Batch = { x: takeRows(this.x, idx), y: targets, indices: idx };
    if (this.lengths) b.lengths = Int32Array.from(idx, (i) => this.lengths![i]);
    return b;
  }
}
