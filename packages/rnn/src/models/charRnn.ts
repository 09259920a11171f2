import { DType, Rng, Tensor, TensorError, shapeStr } from '@unfold/tensor';

import * as ad from '@unfold/autodiff';
import { detach, noGrad } from '@unfold/autodiff';
import { Module } from '../nn/module';
import { Linear } from '../nn/linear';
import { Embedding } from '../nn/embedding';
import { GRU, LSTM, RecurrentLayer, SimpleRNN } from '../layers/recurrent';
import { RecurrentInit } from '../layers/options';
import { withScratchOutputs } from '../layers/sequence-wasm';
import { Optimizer } from '../optim/optimizer';
import { clipGradNorm } from '../optim/clip';
import { computeGradients } from '../train/gradients';
import { checkOptions } from '../options';

export type CellName = 'lstm' | 'gru' | 'rnn' | 'rnn_relu';
export const CELL_NAMES: readonly CellName[] = ['lstm', 'gru', 'rnn', 'rnn_relu'];

export interface CharRNNOptions {
  cell: CellName;
  vocabSize: number;
  hiddenSize: number;
  numLayers?: number;
  /** 'onehot' (char-rnn; a dense [V] input per step) or 'embedding' (a learned [V, E] table). */
  input?: 'onehot' | 'embedding';
  embeddingDim?: number;
  dropout?: number;
  init?: RecurrentInit;
  fused?: boolean;
  seed?: number;
  dtype?: DType;
}

/** The recurrent state carried between calls (stateful training over a stream): h (and c). */
export interface CharState {
  h: Tensor;
  c?: Tensor;
}

/**
 * A character language model, many-to-many: ids [T, B] → input (one-hot or embedding) →
 * stacked RNN/LSTM/GRU → Linear → logits [T, B, V] at every step, cross-entropy against the
 * next character. Parameter names as a PyTorch module with children `embedding`, `rnn`, `fc`.
 */
export class CharRNN extends Module {
  readonly rnn: RecurrentLayer;
  readonly fc: Linear;
  readonly embedding: Embedding | null;
  readonly opts: Required<Pick<CharRNNOptions, 'cell' | 'vocabSize' | 'hiddenSize' | 'numLayers' | 'input' | 'dropout'>> & CharRNNOptions;

  constructor(o: CharRNNOptions) {
    super();
    const known = ['cell', 'vocabSize', 'hiddenSize', 'numLayers', 'input', 'embeddingDim', 'dropout', 'init', 'fused', 'seed', 'dtype'];
    checkOptions('CharRNN', o, known, { required: true });
    if (!CELL_NAMES.includes(o.cell)) throw new TensorError('CharRNN', `unknown cell '${String(o.cell)}' (valid: ${CELL_NAMES.join(', ')})`);
    if (!Number.isInteger(o.vocabSize) || o.vocabSize < 2) throw new TensorError('CharRNN', `vocabSize must be an integer ≥ 2, got ${o.vocabSize}`);
    const input = o.input ?? 'onehot';
    if (input !== 'onehot' && input !== 'embedding') throw new TensorError('CharRNN', `input must be 'onehot' or 'embedding', got '${String(input)}'`);
    this.opts = { numLayers: 1, dropout: 0, ...o, input };
    const rng = new Rng(o.seed ?? 0);
    const dtype = o.dtype ?? 'float32';
    const inSize = input === 'embedding' ? (o.embeddingDim ?? 64) : o.vocabSize;
    this.embedding = input === 'embedding' ? this.registerModule('embedding', new Embedding(o.vocabSize, inSize, { rng, dtype })) : null;
    const common = { inputSize: inSize, hiddenSize: o.hiddenSize, numLayers: o.numLayers ?? 1, dropout: o.dropout ?? 0, init: o.init, fused: o.fused, rng, dtype };
    const rnn =
      o.cell === 'lstm' ? new LSTM(common) : o.cell === 'gru' ? new GRU(common) : new SimpleRNN({ ...common, nonlinearity: o.cell === 'rnn_relu' ? 'relu' : 'tanh' });
    this.rnn = this.registerModule('rnn', rnn);
    this.fc = this.registerModule('fc', new Linear(o.hiddenSize, o.vocabSize, { rng, dtype }));
  }

  private checkIds(what: string, ids: ArrayLike<number>, shape: readonly number[]): void {
    if (shape.length !== 2 || !shape.every((d) => Number.isInteger(d) && d > 0)) throw new TensorError('CharRNN', `${what} shape must be [T, B] with positive integers, got ${shapeStr(shape)}`);
    if (ids.length !== shape[0] * shape[1]) throw new TensorError('CharRNN', `${what} has ${ids.length} ids for shape ${shapeStr(shape)}`);
    const V = this.opts.vocabSize;
    for (let i = 0; i < ids.length; i++) {
      if (!Number.isInteger(ids[i]) || ids[i] < 0 || ids[i] >= V) throw new TensorError('CharRNN', `${what}[${i}] = ${ids[i]} is not a character id in [0, ${V})`);
    }
  }

  /** ids [T, B] → logits [T, B, V] and the final state. */
  forward(ids: ArrayLike<number>, shape: readonly number[], state?: CharState): { logits: Tensor; state: CharState } {
    const r = this.hiddenStates(ids, shape, state);
    return { logits: this.fc.forward(r.hidden), state: r.state }; // [T, B, H] → [T, B, V]
  }

  /** ids [T, B] → the top layer's outputs [T, B, H] (what `fc` turns into logits) and the final state. */
  hiddenStates(ids: ArrayLike<number>, shape: readonly number[], state?: CharState): { hidden: Tensor; state: CharState } {
    this.checkIds('input', ids, shape);
    const [T, B] = shape;
    // one-hot input: the layer looks up rows of W_ihᵀ instead of multiplying by a one-hot [T, B, V]
    const r = this.embedding
      ? this.rnn.forward(ad.reshape(this.embedding.forward(ids), [T, B, this.embedding.embeddingDim]), { h0: state?.h, c0: state?.c }) // x: [T, B, E]
      : this.rnn.forwardIds(ids, [T, B], { h0: state?.h, c0: state?.c });
    return { hidden: r.output, state: { h: r.hN, c: r.cN } };
  }

  /** Mean cross-entropy (nats per character) of predicting y from x; y [T, B] ids. */
  loss(x: ArrayLike<number>, y: ArrayLike<number>, shape: readonly number[], state?: CharState): { loss: Tensor; state: CharState } {
    this.checkIds('target', y, shape);
    const { hidden, state: next } = this.hiddenStates(x, shape, state);
    return { loss: this.headLoss(hidden, y), state: next };
  }

  /**
   * The output head's loss: cross-entropy of fc(hidden) against y, hidden [..., H] with one
   * target per row, in one record (linearCrossEntropy: the logits are never kept).
   */
  headLoss(hidden: Tensor, y: ArrayLike<number>, opts: { weights?: ArrayLike<number>; reduction?: 'mean' | 'sum' } = {}): Tensor {
    const H = this.fc.inFeatures;
    if (hidden.rank < 1 || hidden.shape[hidden.rank - 1] !== H) throw new TensorError('CharRNN', `hidden ${shapeStr(hidden.shape)} does not end in ${H} features`);
    const h2 = hidden.rank === 2 ? hidden : ad.reshape(hidden, [-1, H]); // [N, H]
    return ad.linearCrossEntropy(h2, this.fc.weight, this.fc.bias, y, opts);
  }

  /**
   * forward + backward + (clip) + optimizer step. Returns the loss, the pre-clip gradient norm
   * and the next state, detached (carry it into the next window of a stream: truncated BPTT
   * with k1 = k2 = T, as char-rnn).
   */
  trainStep(
    x: ArrayLike<number>, y: ArrayLike<number>, shape: readonly number[], opt: Optimizer,
    o: { clip?: number; state?: CharState } = {},
  ): number {
    return this.trainStepFull(x, y, shape, opt, o).loss;
  }

  /** trainStep with everything it measured: loss, pre-clip gradient norm, next state (detached). */
  trainStepFull(x: ArrayLike<number>, y: ArrayLike<number>, shape: readonly number[], opt: Optimizer, o: { clip?: number; state?: CharState } = {}) {
    checkOptions('CharRNN.trainStepFull', o, ['clip', 'state']);
    this.train(true);
    // the hidden states are consumed by the head inside loss(): their buffers go back after backward;
    // the gradients are written into last step's .grad buffers
    const r = computeGradients(this, () => this.loss(x, y, shape, o.state), { releaseIntermediates: true, reuseGradBuffers: true });
    const params = this.parameters();
    const gradNorm = clipGradNorm(params, o.clip ?? Infinity);
    opt.step();
    return { loss: r.loss.item(), gradNorm, state: detachState(r.state) };
  }

  /** Loss without recording a tape (eval mode: no dropout). */
  evaluate(x: ArrayLike<number>, y: ArrayLike<number>, shape: readonly number[], state?: CharState): number {
    return this.evaluateFull(x, y, shape, state).loss;
  }

  evaluateFull(x: ArrayLike<number>, y: ArrayLike<number>, shape: readonly number[], state?: CharState): { loss: number; state: CharState } {
    const was = this.training;
    this.eval();
    try {
      // the hidden states stay in the recurrence's workspace: the head reads them in place
      return noGrad(() =>
        withScratchOutputs(() => {
          const r = this.loss(x, y, shape, state);
          return { loss: r.loss.item(), state: detachState(r.state) };
        }),
      );
    } finally {
      this.train(was);
    }
  }

  /** Inference pass: logits for ids [T, B] (no tape). */
  predict(ids: ArrayLike<number>, shape: readonly number[], state?: CharState): { logits: Tensor; state: CharState } {
    const was = this.training;
    this.eval();
    try {
      return noGrad(() => this.forward(ids, shape, state));
    } finally {
      this.train(was);
    }
  }
}

export function detachState(s: CharState): CharState {
  return { h: detach(s.h), c: s.c ? detach(s.c) : undefined };
}
