import { Rng, Tensor, TensorError } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { noGrad } from '@unfold/autodiff';
import { CharRNN, CharState, detachState } from '../models/charRnn';
import { JsonObject } from '../checkpoint';
import { Task } from './task';
import { checkOptions, keysOf } from '../options';

export interface CharLMTaskOptions {
  train: Int32Array;
  val?: Int32Array;
  /** B lanes of the stream processed side by side. */
  batchSize: number;
  /** k2: steps each window backpropagates through. */
  seqLen: number;
  /** k1: steps between updates (the stride of the windows); default seqLen (k1 = k2, as char-rnn). */
  k1?: number;
  /** Carry the final state of a window into the next (stateful); default true. */
  stateful?: boolean;
  /** Start with short windows and double their length every `every` steps up to seqLen. */
  curriculum?: { start: number; every: number };
  /** Validation uses at most this many windows of each lane (default 50). */
  maxValWindows?: number;
  /** Random offset per epoch (truncation points move between epochs). */
  randomOffset?: boolean;
  rng?: Rng;
}

interface Window {
  x: Int32Array;
  y: Int32Array;
  T: number;
  /** The first `skip` steps were seen by the previous window: they carry gradient but no loss. */
  skip: number;
  /** The state after step `split` is where the next window starts (carried forward). */
  split: number;
}

/**
 * Character language modelling on a stream, as char-rnn: the text is cut into B lanes;
 * window n of lane b continues exactly where window n−1 stopped, and the hidden state is
 * carried across windows (stateful truncated BPTT).
 * With k1 < k2 (= seqLen), windows advance by k1 steps but span k2: the first k2 − k1 steps
 * repeat the end of the previous window and only the last k1 steps' losses count, so every
 * loss is backpropagated through between k2 − k1 + 1 and k2 steps (Williams & Peng's
 * BPTT(k2; k1)). The state carried forward is the one after the window's first k1 steps.
 */
export class CharLMTask implements Task<Window, CharState> {
  readonly name = 'char-lm';
  readonly unit = 'nats/char';
  /** loss() returns the loss and the carried state only (the hidden states go into the head inside it). */
  readonly releasesIntermediates = true;
  private readonly B: number;
  private readonly k2: number;
  private readonly k1: number;
  private readonly laneLen: number;
  private readonly rng: Rng;
  private epoch = 0;
  private pos = 0; // next position (in each lane) whose loss is not yet trained on
  private offset = 0;
  private lastT = 0;

  constructor(readonly model: CharRNN, readonly o: CharLMTaskOptions) {
    const op = 'CharLMTask';
    checkOptions(op, o, keysOf<CharLMTaskOptions>({ train: 1, val: 1, batchSize: 1, seqLen: 1, k1: 1, stateful: 1, curriculum: 1, maxValWindows: 1, randomOffset: 1, rng: 1 }), { required: true });
    if (o.curriculum !== undefined) checkOptions(op, o.curriculum, ['start', 'every'], { what: 'curriculum option' });
    for (const k of ['batchSize', 'seqLen'] as const) {
      if (!Number.isInteger(o[k]) || o[k] < 1) throw new TensorError(op, `${k} must be a positive integer, got ${o[k]}`);
    }
    this.B = o.batchSize;
    this.k2 = o.seqLen;
    this.k1 = o.k1 ?? o.seqLen;
    if (!Number.isInteger(this.k1) || this.k1 < 1 || this.k1 > this.k2) throw new TensorError(op, `k1 must be an integer in [1, seqLen = ${this.k2}], got ${o.k1}`);
    this.laneLen = Math.floor(o.train.length / this.B);
    if (this.laneLen < this.k2 + 2) {
      throw new TensorError(op, `the training text (${o.train.length} characters) is too short for ${this.B} lanes of windows of ${this.k2} steps: need at least ${this.B * (this.k2 + 2)}`);
    }
    if (o.curriculum && (!(o.curriculum.start >= 1) || !(o.curriculum.every >= 1))) throw new TensorError(op, 'curriculum needs start ≥ 1 and every ≥ 1');
    this.rng = o.rng ?? new Rng(0);
  }

  /** Window length at this step (curriculum: start, 2·start, 4·start, … up to seqLen). */
  seqLenAt(step: number): number {
    const c = this.o.curriculum;
    if (!c) return this.k2;
    return Math.min(this.k2, c.start * 2 ** Math.floor(step / c.every));
  }

  next(step: number): { batch: Window; resetState: boolean; epoch: number } {
    const k2 = this.seqLenAt(step);
    const k1 = Math.min(this.k1, k2);
    let reset = this.o.stateful === false || k2 !== this.lastT;
    if (this.offset + this.pos + k1 + 1 > this.laneLen) {
      this.epoch++;
      this.pos = 0;
      this.offset = this.o.randomOffset ? this.rng.int(0, Math.max(1, Math.min(k2, this.laneLen - k2 - 1))) : 0;
      reset = true;
    }
    this.lastT = k2;
    const skip = reset ? 0 : Math.min(k2 - k1, this.pos);
    const T = k1 + skip;
    const start = this.offset + this.pos - skip;
    const x = new Int32Array(T * this.B);
    const y = new Int32Array(T * this.B);
    const ids = this.o.train;
    for (let b = 0; b < this.B; b++) {
      const lane = b * this.laneLen;
      for (let t = 0; t < T; t++) {
        x[t * this.B + b] = ids[lane + start + t];
        y[t * this.B + b] = ids[lane + start + t + 1];
      }
    }
    this.pos += k1;
    // the next window repeats min(k2 − k1, pos) steps of this one: carry the state from before them
    const skipNext = Math.min(k2 - k1, this.pos);
    return { batch: { x, y, T, skip, split: T - skipNext }, resetState: reset, epoch: this.epoch };
  }

  loss(w: Window, state: CharState | undefined): { loss: Tensor; state?: CharState } {
    const { B } = this;
    const m = this.model;
    if (w.skip === 0 && w.split === w.T) return m.loss(w.x, w.y, [w.T, B], state);
    // steps [0, split) then [split, T): the state after `split` steps starts the next window
    const H = m.opts.hiddenSize;
    const parts: Tensor[] = [];
    let carried = state; // split = 0: the next window starts where this one did
    let s = state;
    for (const [from, to] of [[0, w.split], [w.split, w.T]]) {
      if (to === from) continue;
      const r = m.hiddenStates(w.x.subarray(from * B, to * B), [to - from, B], s);
      parts.push(ad.reshape(r.hidden, [-1, H]));
      s = r.state;
      if (to === w.split) carried = r.state;
    }
    const hidden = parts.length === 1 ? parts[0] : ad.concat(parts, 0); // [T·B, H]
    const weights = new Float64Array(w.T * B);
    weights.fill(1, w.skip * B); // only the steps this window adds count in its loss
    return { loss: m.headLoss(hidden, w.y, { weights }), state: carried };
  }

  detachState(s: CharState): CharState {
    return detachState(s);
  }

  /** Mean validation loss over the validation stream (stateful, eval mode, no tape). */
  validate(): number {
    const val = this.o.val;
    if (!val || val.length < 2) throw new TensorError('CharLMTask', 'no validation text');
    const B = Math.max(1, Math.min(this.B, Math.floor((val.length - 1) / (this.k2 + 1))));
    const L = Math.floor(val.length / B);
    const T = Math.min(this.k2, L - 1);
    const windows = Math.min(this.o.maxValWindows ?? 50, Math.floor((L - 1) / T));
    let total = 0;
    let state: CharState | undefined;
    noGrad(() => {
      for (let k = 0; k < windows; k++) {
        const x = new Int32Array(T * B);
        const y = new Int32Array(T * B);
        for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
          x[t * B + b] = val[b * L + k * T + t];
          y[t * B + b] = val[b * L + k * T + t + 1];
        }
        const r = this.model.evaluateFull(x, y, [T, B], state);
        total += r.loss;
        state = r.state;
      }
    });
    return total / windows;
  }

  getState(): JsonObject {
    return { epoch: this.epoch, pos: this.pos, offset: this.offset, lastT: this.lastT, rng: this.rng.getState() };
  }

  setState(s: JsonObject): void {
    this.epoch = s.epoch as number;
    this.pos = s.pos as number;
    this.offset = s.offset as number;
    this.lastT = s.lastT as number;
    this.rng.setState(s.rng as number[]);
  }
}
