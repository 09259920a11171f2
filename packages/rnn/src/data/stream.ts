import { Rng, TensorError } from '@unfold/tensor';
import { checkPositiveInt, checkRng, toIdArray } from './check';
import { checkOptions, keysOf } from '../options';

export interface StreamBatcherOptions {
  /** B: number of lanes, i.e. sequences processed side by side. */
  batchSize: number;
  /** T: time steps per window (the truncated-BPTT length). */
  seqLen: number;
  /** Start each epoch at a random offset in [0, T) so truncation points move between epochs. */
  randomOffset?: boolean;
  /** Generator for the offsets (required with randomOffset, so runs are reproducible). */
  rng?: Rng;
  /** When given, every id must be < vocabSize. */
  vocabSize?: number;
}

/** One window. Both arrays are time-major [T,B]: element (t, b) is at t·B + b. */
export interface StreamWindow {
  x: Int32Array;
  /** y(t, b) = x(t+1, b): the next id in lane b. */
  y: Int32Array;
  shape: [number, number];
  epoch: number;
  /** Window number k within the epoch. */
  index: number;
  /** k = 0: the carried hidden state must be reset (lanes jumped to new text). */
  first: boolean;
  last: boolean;
}

export interface StreamBatcherState {
  epoch: number;
  offset: number;
  position: number;
}

/** Throws unless `n` ids fill B lanes of at least T+1 ids each (T inputs plus one more target). */
export function checkStreamLength(op: string, n: number, batchSize: number, seqLen: number): void {
  const lane = Math.floor(n / batchSize);
  if (lane < seqLen + 1) {
    throw new TensorError(
      op,
      `${n} ids are too few for batchSize ${batchSize} and seqLen ${seqLen}: each of the ${batchSize} lanes would hold ${lane} ids, ` +
        `a window needs seqLen + 1 = ${seqLen + 1} (at least ${batchSize * (seqLen + 1)} ids); use a smaller batchSize/seqLen or a longer corpus`,
    );
  }
}

/**
 * char-rnn's batching of one long stream for stateful training. The N ids are cut into B
 * contiguous lanes of L = ⌊N/B⌋ ids (lane b = ids[b·L, (b+1)·L)); window k takes T steps of
 * every lane:
 *   x(t, b) = ids[b·L + o + k·T + t],   y(t, b) = ids[b·L + o + k·T + t + 1],   t ∈ [0, T)
 * so x of window k+1 starts where x of window k stopped, in every lane: the hidden state at
 * the end of window k is exactly the state the next window's first step needs (truncated
 * BPTT carries it forward without gradient). An epoch has W = ⌊(L − 1 − o)/T⌋ windows; the
 * tail of each lane that does not fill a window is skipped. o is 0, or with `randomOffset`
 * drawn per epoch from [0, min(T−1, L−1−T)], so W may be one less in some epochs.
 *
 * `next()` runs forever, moving to a new epoch after the last window; iterating with
 * `for … of` yields the rest of the current epoch (a second loop gives the next epoch).
 */
export class StreamBatcher {
  readonly ids: Int32Array;
  readonly batchSize: number;
  readonly seqLen: number;
  /** L: ids per lane. */
  readonly laneLength: number;
  private readonly rng?: Rng;
  private _epoch = 0;
  private _offset = 0;
  private _position = 0;

  constructor(ids: Int32Array | readonly number[], opts: StreamBatcherOptions) {
    const op = 'StreamBatcher';
    if (opts === null || typeof opts !== 'object') throw new TensorError(op, 'options { batchSize, seqLen } are required');
    checkOptions(op, opts, keysOf<StreamBatcherOptions>({ batchSize: 1, seqLen: 1, randomOffset: 1, rng: 1, vocabSize: 1 }));
    this.batchSize = checkPositiveInt(op, 'batchSize', opts.batchSize);
    this.seqLen = checkPositiveInt(op, 'seqLen', opts.seqLen);
    this.ids = toIdArray(op, ids);
    if (opts.vocabSize !== undefined) {
      const V = checkPositiveInt(op, 'vocabSize', opts.vocabSize);
      const bad = this.ids.findIndex((v) => v >= V);
      if (bad >= 0) throw new TensorError(op, `ids[${bad}] = ${this.ids[bad]} is out of range for vocabSize ${V}`);
    }
    checkStreamLength(op, this.ids.length, this.batchSize, this.seqLen);
    this.laneLength = Math.floor(this.ids.length / this.batchSize);
    if (opts.randomOffset) this.rng = checkRng(op, opts.rng);
    else if (opts.rng !== undefined) checkRng(op, opts.rng);
    this._offset = this.drawOffset();
  }

  get epoch(): number {
    return this._epoch;
  }
  /** o: where in each lane this epoch's first window starts. */
  get offset(): number {
    return this._offset;
  }
  /** Index of the window `next()` returns (numWindows once the epoch is used up). */
  get position(): number {
    return this._position;
  }
  /** W for the current epoch. */
  get numWindows(): number {
    return Math.floor((this.laneLength - 1 - this._offset) / this.seqLen);
  }

  /** The next window, starting a new epoch when the current one is used up. */
  next(): StreamWindow {
    if (this._position >= this.numWindows) this.startEpoch();
    return this.window(this._position++);
  }

  *[Symbol.iterator](): IterableIterator<StreamWindow> {
    if (this._position >= this.numWindows) this.startEpoch();
    while (this._position < this.numWindows) yield this.window(this._position++);
  }

  /** Moves on to the next epoch (drawing a new offset with randomOffset). */
  startEpoch(): void {
    this._epoch++;
    this._offset = this.drawOffset();
    this._position = 0;
  }

  /** Back to window 0 of the current epoch (same offset): e.g. to evaluate a stream from its start. */
  reset(): void {
    this._position = 0;
  }

  /** Window k of the current epoch, without moving the position. */
  window(k: number): StreamWindow {
    const W = this.numWindows;
    if (!Number.isInteger(k) || k < 0 || k >= W) {
      throw new TensorError('StreamBatcher.window', `window ${k} is out of range [0, ${W}) for epoch ${this._epoch}`);
    }
    const T = this.seqLen;
    const B = this.batchSize;
    const L = this.laneLength;
    const x = new Int32Array(T * B);
    const y = new Int32Array(T * B);
    const ids = this.ids;
    for (let b = 0; b < B; b++) {
      const start = b * L + this._offset + k * T;
      for (let t = 0; t < T; t++) {
        x[t * B + b] = ids[start + t];
        y[t * B + b] = ids[start + t + 1];
      }
    }
    return { x, y, shape: [T, B], epoch: this._epoch, index: k, first: k === 0, last: k === W - 1 };
  }

  /**
   * Where the batcher stands, for checkpoints. The rng's state is saved separately; to resume,
   * construct the batcher (which draws one offset), then restore the rng state and this state.
   */
  getState(): StreamBatcherState {
    return { epoch: this._epoch, offset: this._offset, position: this._position };
  }

  setState(s: StreamBatcherState): void {
    const maxOff = this.maxOffset();
    const ok = (v: unknown, hi: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= hi;
    if (s === null || typeof s !== 'object' || !ok(s.epoch, Number.MAX_SAFE_INTEGER) || !ok(s.offset, maxOff)) {
      throw new TensorError('StreamBatcher.setState', `invalid state ${JSON.stringify(s)} (offset must be in [0, ${maxOff}])`);
    }
    const W = Math.floor((this.laneLength - 1 - s.offset) / this.seqLen);
    if (!ok(s.position, W)) throw new TensorError('StreamBatcher.setState', `position ${s.position} is out of range [0, ${W}] for offset ${s.offset}`);
    this._epoch = s.epoch;
    this._offset = s.offset;
    this._position = s.position;
  }

  private maxOffset(): number {
    return Math.min(this.seqLen - 1, this.laneLength - 1 - this.seqLen);
  }

  private drawOffset(): number {
    return this.rng ? this.rng.int(0, this.maxOffset() + 1) : 0;
  }
}
