import { Rng, Tensor, TensorError } from '@unfold/tensor';
import { noGrad } from '@unfold/autodiff';
import { JsonObject } from '../checkpoint';
import { bucketByLength } from '../data/bucketing';
import { padSequences } from '../data/padding';
import { Module } from '../nn/module';
import { Task } from './task';
import { checkOptions, keysOf } from '../options';

/** One variable-length example: token ids, and a label (many-to-one) and/or one tag per step (many-to-many). */
export interface SequenceExample {
  ids: readonly number[];
  label?: number;
  tags?: readonly number[];
}

/**
 * A padded batch, time-major: step t of example b at t·B + b; step t is real iff
 * t < lengths[b] (padding only at the end, as RecurrentLayer's `lengths` expects).
 */
export interface SequenceBatch {
  /** [T, B] ids, padded with `padId`. */
  ids: Int32Array;
  shape: [number, number];
  lengths: Int32Array;
  /** [T, B]: 1 on real steps, 0 on padding (use as crossEntropy weights). */
  mask: Tensor;
  /** [B] labels, when the examples have them. */
  labels?: Int32Array;
  /** [T, B] per-step targets, padded with 0 (masked out by `mask`), when the examples have tags. */
  tags?: Int32Array;
  /** Indices of the batch's examples into `examples` (or `val`), in batch order. */
  indices: number[];
}

export interface SequenceTaskOptions {
  examples: readonly SequenceExample[];
  batchSize: number;
  /**
   * The scalar loss of a batch, recorded on the tape `fit` opened: a mean over `weight` items
   * (default: the batch's examples; give the number of real tokens for a per-token mean) —
   * validation weighs batches by it, so its mean is over items, not batches.
   */
  lossFn: (batch: SequenceBatch) => { loss: Tensor; weight?: number };
  val?: readonly SequenceExample[];
  /** Draws each epoch's batches (default new Rng(0)); part of the task's checkpointed state. */
  rng?: Rng;
  /** Lengths 1…w, w+1…2w, … share buckets, so a batch pads < w steps (default 4). */
  bucketWidth?: number;
  /** Id written into padded steps (default 0). */
  padId?: number;
  /** Switched to eval mode (no dropout) while validating. */
  model?: Module;
  name?: string;
  unit?: string;
}

/**
 * Variable-length sequences for `fit`, one epoch at a time: at the start of each epoch the
 * examples are grouped by length (bucketByLength with shuffle: random within each bucket,
 * then the batch order is shuffled), so every example is seen exactly once per epoch and a
 * batch pads little. Batches are independent (resetState every step: not a stream).
 *
 * Resuming: the state is (epoch, position, rng state *before* the epoch's batches were drawn);
 * setState redraws the same batches from that rng state, so a resumed run continues identically.
 */
export class SequenceTask implements Task<SequenceBatch, undefined> {
  readonly name: string;
  readonly unit: string;
  private readonly rng: Rng;
  private readonly lengths: Int32Array;
  private readonly bucketWidth: number;
  private epoch = 0;
  private pos = 0;
  private batches: number[][] | null = null;
  private epochRng: number[];
  private valBatches: SequenceBatch[] | null = null;

  constructor(readonly o: SequenceTaskOptions) {
    const op = 'SequenceTask';
    if (o === null || typeof o !== 'object') throw new TensorError(op, 'options { examples, batchSize, lossFn } are required');
    checkOptions(op, o, keysOf<SequenceTaskOptions>({ examples: 1, batchSize: 1, lossFn: 1, val: 1, rng: 1, bucketWidth: 1, padId: 1, model: 1, name: 1, unit: 1 }));
    if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new TensorError(op, `batchSize must be a positive integer, got ${o.batchSize}`);
    if (typeof o.lossFn !== 'function') throw new TensorError(op, `lossFn must be a function (batch) => { loss }, got ${typeof o.lossFn}`);
    this.bucketWidth = o.bucketWidth ?? 4;
    if (!Number.isInteger(this.bucketWidth) || this.bucketWidth < 1) throw new TensorError(op, `bucketWidth must be a positive integer, got ${o.bucketWidth}`);
    checkExamples(op, 'examples', o.examples);
    if (o.val !== undefined) checkExamples(op, 'val', o.val);
    this.lengths = Int32Array.from(o.examples, (e) => e.ids.length);
    this.rng = o.rng ?? new Rng(0);
    this.epochRng = this.rng.getState();
    this.name = o.name ?? 'sequence';
    this.unit = o.unit ?? 'nats';
  }

  /** Number of batches in one epoch (fixed: bucket sizes do not depend on the shuffle). */
  get batchesPerEpoch(): number {
    return this.drawBatches(new Rng(0)).length;
  }

  next(_step: number): { batch: SequenceBatch; resetState: boolean; epoch: number } {
    if (this.batches === null) this.startEpoch();
    else if (this.pos >= this.batches.length) {
      this.epoch++;
      this.startEpoch();
    }
    const idx = this.batches![this.pos++];
    return { batch: collate(this.o.examples, idx, this.o.padId ?? 0), resetState: true, epoch: this.epoch };
  }

  loss(batch: SequenceBatch): { loss: Tensor } {
    return { loss: this.o.lossFn(batch).loss };
  }

  /** Mean validation loss over items (Σ loss·weight / Σ weight), eval mode, no tape. */
  validate(): number {
    const val = this.o.val;
    if (!val || val.length === 0) throw new TensorError('SequenceTask', 'no validation examples (give `val`)');
    if (!this.valBatches) {
      const lengths = Int32Array.from(val, (e) => e.ids.length);
      this.valBatches = bucketByLength(lengths, { batchSize: this.o.batchSize, bucketWidth: this.bucketWidth }).map((idx) => collate(val, idx, this.o.padId ?? 0));
    }
    const m = this.o.model;
    const was = m?.training;
    m?.eval();
    try {
      let total = 0;
      let weight = 0;
      noGrad(() => {
        for (const b of this.valBatches!) {
          const r = this.o.lossFn(b);
          const w = r.weight ?? b.indices.length;
          total += r.loss.item() * w;
          weight += w;
        }
      });
      return total / Math.max(weight, 1e-300);
    } finally {
      if (m && was !== undefined) m.train(was);
    }
  }

  getState(): JsonObject {
    return { epoch: this.epoch, pos: this.pos, started: this.batches !== null, rng: this.epochRng };
  }

  setState(s: JsonObject): void {
    const op = 'SequenceTask.setState';
    for (const k of ['epoch', 'pos']) if (!Number.isInteger(s[k])) throw new TensorError(op, `state.${k} must be an integer, got ${JSON.stringify(s[k])}`);
    if (!Array.isArray(s.rng)) throw new TensorError(op, `state.rng must be an Rng state array, got ${JSON.stringify(s.rng)}`);
    this.epoch = s.epoch as number;
    this.rng.setState(s.rng as number[]);
    this.batches = null;
    this.pos = 0;
    if (s.started) {
      this.startEpoch(); // redraws the very batches of that epoch
      this.pos = s.pos as number;
      if (this.pos > this.batches!.length) throw new TensorError(op, `position ${this.pos} is past the ${this.batches!.length} batches of an epoch`);
    }
  }

  private startEpoch(): void {
    this.epochRng = this.rng.getState();
    this.batches = this.drawBatches(this.rng);
    this.pos = 0;
  }

  private drawBatches(rng: Rng): number[][] {
    return bucketByLength(this.lengths, { batchSize: this.o.batchSize, bucketWidth: this.bucketWidth, shuffle: true, rng });
  }
}

function checkExamples(op: string, what: string, xs: readonly SequenceExample[]): void {
  if (!Array.isArray(xs) || xs.length === 0) throw new TensorError(op, `${what} must be a non-empty array of { ids, label?, tags? }`);
  const hasLabel = xs[0].label !== undefined;
  const hasTags = xs[0].tags !== undefined;
  xs.forEach((e, i) => {
    if (!e || (!Array.isArray(e.ids) && !((e.ids as unknown) instanceof Int32Array))) throw new TensorError(op, `${what}[${i}].ids must be an array of ids`);
    if (e.ids.length === 0) throw new TensorError(op, `${what}[${i}] is empty; every sequence needs at least one step`);
    if ((e.label !== undefined) !== hasLabel || (e.tags !== undefined) !== hasTags) {
      throw new TensorError(op, `${what}[${i}] has ${e.label !== undefined ? 'a' : 'no'} label and ${e.tags !== undefined ? '' : 'no '}tags, ${what}[0] has ${hasLabel ? 'a' : 'no'} label and ${hasTags ? '' : 'no '}tags`);
    }
    if (e.label !== undefined && !(Number.isInteger(e.label) && e.label >= 0)) throw new TensorError(op, `${what}[${i}].label = ${e.label} is not a class index`);
    if (e.tags !== undefined && e.tags.length !== e.ids.length) throw new TensorError(op, `${what}[${i}] has ${e.ids.length} ids but ${e.tags.length} tags`);
  });
}

function collate(xs: readonly SequenceExample[], indices: number[], padId: number): SequenceBatch {
  const chosen = indices.map((i) => xs[i]);
  const p = padSequences(chosen.map((e) => e.ids as number[]), { padValue: padId }); // [T, B]
  const batch: SequenceBatch = { ids: p.ids, shape: p.shape, lengths: p.lengths, mask: p.mask, indices: indices.slice() };
  if (chosen[0].label !== undefined) batch.labels = Int32Array.from(chosen, (e) => e.label!);
  if (chosen[0].tags !== undefined) batch.tags = padSequences(chosen.map((e) => e.tags as number[]), { maxLen: p.shape[0] }).ids;
  return batch;
}
