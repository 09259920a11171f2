import { DType, Rng, Tensor, TensorError, argmax, shapeStr, zeros } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { noGrad } from '@unfold/autodiff';
import { Module } from '../nn/module';
import { Linear } from '../nn/linear';
import { Embedding } from '../nn/embedding';
import { uniformRange } from '../nn/init';
import { Param } from '../optim/param';
import { GRU, LSTM, RecurrentLayer } from '../layers/recurrent';
import { CellState, GATES, cellStep } from '../cells';
import { Attention, AttentionMemory, BahdanauAttention, LuongAttention } from '../attention';
import { PaddedIds, padSequences } from '../data/padding';
import { EOS_ID, PAD_ID, SOS_ID } from '../data/seq2seq';
import { BeamHypothesis, BeamOptions, beamDecode } from './beam';
import { checkOptions } from '../options';

export type Seq2SeqAttention = 'dot' | 'general' | 'bahdanau';

export interface Seq2SeqOptions {
  vocabSize: number;
  embeddingDim?: number;
  /** Decoder state size H; a bidirectional encoder has H/2 per direction, so its outputs are H wide too. */
  hiddenSize?: number;
  cell?: 'gru' | 'lstm';
  bidirectional?: boolean;
  attention?: Seq2SeqAttention;
  /** Bahdanau's inner width A (default hiddenSize). */
  attentionSize?: number;
  seed?: number;
  dtype?: DType;
}

/** One padded batch, time-major: src [S,B], tgtIn / tgtOut [T,B] (tgtIn = SOS z…, tgtOut = z… EOS). */
export interface Seq2SeqBatch {
  src: PaddedIds;
  tgtIn: PaddedIds;
  tgtOut: PaddedIds;
}

/** Pads examples `idx` (default all) of a { src, tgtIn, tgtOut } data set into a batch. */
export function makeSeq2SeqBatch(ds: { src: number[][]; tgtIn: number[][]; tgtOut: number[][] }, idx?: ArrayLike<number>): Seq2SeqBatch {
  const pick = (a: number[][]): number[][] => (idx ? Array.from(idx, (i) => a[i]) : a);
  return { src: padSequences(pick(ds.src), { padValue: PAD_ID }), tgtIn: padSequences(pick(ds.tgtIn), { padValue: PAD_ID }), tgtOut: padSequences(pick(ds.tgtOut), { padValue: PAD_ID }) };
}

/** A single recurrent cell with torch.nn.GRUCell/LSTMCell names: weight_ih [G·H, I], weight_hh [G·H, H], bias_ih, bias_hh. */
class DecoderCell extends Module {
  readonly wih: Param;
  readonly whh: Param;
  readonly bih: Param;
  readonly bhh: Param;
  constructor(readonly kind: 'gru' | 'lstm', readonly inputSize: number, readonly hiddenSize: number, rng: Rng, dtype: DType) {
    super();
    const GH = GATES[kind] * hiddenSize;
    const k = 1 / Math.sqrt(hiddenSize); // PyTorch: U(±1/√H)
    this.wih = this.registerParam('weight_ih', uniformRange([GH, inputSize], k, rng, dtype));
    this.whh = this.registerParam('weight_hh', uniformRange([GH, hiddenSize], k, rng, dtype));
    this.bih = this.registerParam('bias_ih', uniformRange([GH], k, rng, dtype));
    this.bhh = this.registerParam('bias_hh', uniformRange([GH], k, rng, dtype));
  }
}

/** Decoder state between steps: the cell state and h̃, the attentional vector fed back in. */
export interface DecoderState {
  cell: CellState; // [h] or [h, c], each [B, H]
  feed: Tensor; // h̃_{t−1}: [B, H]
}

/**
 * Encoder–decoder with attention (Luong, Pham & Manning 2015, with input feeding):
 *
 *   encoder:  k_{1…S} = RNN(E_src x_{1…S})                  // keys [S,B,H] (fwd ‖ bwd if bidirectional)
 *   decoder:  s_t = cell([E_tgt y_{t−1} ; h̃_{t−1}], s_{t−1})   // s_0 = encoder final state, h̃_0 = 0
 *             c_t, α_t = attention(s_t, k)                  // α_t: [B,S]
 *             h̃_t = tanh(W_c [c_t ; s_t] + b_c)             // 'attn_combine'
 *             p(y_t | …) = softmax(W_s h̃_t + b_s)           // 'out'
 *
 * Training uses teacher forcing (y_{t−1} = tgtIn[t]) and cross-entropy against tgtOut with
 * weight 0 on padding; the logits of all T steps come from one [T·B,H] × [H,V] product.
 */
export class Seq2Seq extends Module {
  readonly srcEmbedding: Embedding;
  readonly tgtEmbedding: Embedding;
  readonly encoder: RecurrentLayer;
  readonly decoder: DecoderCell;
  readonly attention: Attention;
  readonly combine: Linear;
  readonly out: Linear;
  readonly opts: Required<Omit<Seq2SeqOptions, 'seed'>>;

  constructor(o: Seq2SeqOptions) {
    super();
    const lbl = 'Seq2Seq';
    if (o === null || typeof o !== 'object') throw new TensorError(lbl, 'options { vocabSize, … } required');
    const known = ['vocabSize', 'embeddingDim', 'hiddenSize', 'cell', 'bidirectional', 'attention', 'attentionSize', 'seed', 'dtype'];
    checkOptions(lbl, o, known);
    const H = o.hiddenSize ?? 64;
    this.opts = {
      vocabSize: o.vocabSize, embeddingDim: o.embeddingDim ?? 32, hiddenSize: H, cell: o.cell ?? 'gru', bidirectional: o.bidirectional ?? false,
      attention: o.attention ?? 'general', attentionSize: o.attentionSize ?? H, dtype: o.dtype ?? 'float32',
    };
    const { vocabSize: V, embeddingDim: E, cell, bidirectional, attention, dtype } = this.opts;
    for (const [k, v] of [['vocabSize', V], ['embeddingDim', E], ['hiddenSize', H]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new TensorError(lbl, `${k} must be a positive integer, got ${v}`);
    }
    if (V <= Math.max(PAD_ID, SOS_ID, EOS_ID)) throw new TensorError(lbl, `vocabSize ${V} must include the pad, start and end ids (0, 1, 2)`);
    if (cell !== 'gru' && cell !== 'lstm') throw new TensorError(lbl, `cell must be 'gru' or 'lstm', got '${String(cell)}'`);
    if (bidirectional && H % 2 !== 0) throw new TensorError(lbl, `hiddenSize ${H} must be even with a bidirectional encoder (H/2 per direction)`);
    const rng = new Rng(o.seed ?? 0);
    this.srcEmbedding = this.registerModule('src_embedding', new Embedding(V, E, { rng, dtype }));
    this.tgtEmbedding = this.registerModule('tgt_embedding', new Embedding(V, E, { rng, dtype }));
    const enc = { inputSize: E, hiddenSize: bidirectional ? H / 2 : H, bidirectional, rng, dtype };
    this.encoder = this.registerModule('encoder', cell === 'lstm' ? new LSTM(enc) : new GRU(enc));
    this.decoder = this.registerModule('decoder', new DecoderCell(cell, E + H, H, rng, dtype));
    let att: Attention;
    if (attention === 'bahdanau') att = new BahdanauAttention({ querySize: H, keySize: H, attentionSize: this.opts.attentionSize, rng, dtype });
    else if (attention === 'dot' || attention === 'general') att = new LuongAttention({ score: attention, querySize: H, keySize: H, rng, dtype });
    else throw new TensorError(lbl, `attention must be 'dot', 'general' or 'bahdanau', got '${String(attention)}'`);
    this.attention = this.registerModule('attention', att);
    this.combine = this.registerModule('attn_combine', new Linear(2 * H, H, { rng, dtype }));
    this.out = this.registerModule('out', new Linear(H, V, { rng, dtype }));
  }

  private checkIds(what: string, p: PaddedIds): void {
    const V = this.opts.vocabSize;
    if (!p || !(p.ids instanceof Int32Array) || !Array.isArray(p.shape) || p.shape.length !== 2) throw new TensorError('Seq2Seq', `${what} must be padded ids { ids, shape [T, B], lengths } (padSequences)`);
    if (p.ids.length !== p.shape[0] * p.shape[1]) throw new TensorError('Seq2Seq', `${what} has ${p.ids.length} ids for shape ${shapeStr(p.shape)}`);
    for (let i = 0; i < p.ids.length; i++) {
      if (p.ids[i] < 0 || p.ids[i] >= V) throw new TensorError('Seq2Seq', `${what} id ${p.ids[i]} at flat index ${i} is not in [0, vocabSize ${V})`);
    }
  }

  /** src [S,B] → attention memory over the encoder outputs and the decoder's first state. */
  encode(src: PaddedIds): { memory: AttentionMemory; state: DecoderState } {
    this.checkIds('src', src);
    const [S, B] = src.shape;
    const H = this.opts.hiddenSize;
    const x = ad.reshape(this.srcEmbedding.forward(src.ids), [S, B, this.opts.embeddingDim]); // [S,B,E]
    const r = this.encoder.forward(x, { lengths: src.lengths }); // output [S,B,H]; hN [D,B,H/D]
    // the final state of each direction, side by side: [D,B,H/D] → [B,H]
    const join = (s: Tensor): Tensor => (this.encoder.directions === 2 ? ad.concat([ad.slice(s, 0), ad.slice(s, 1)], 1) : ad.slice(s, 0));
    const cell = this.opts.cell === 'lstm' ? [join(r.hN), join(r.cN as Tensor)] : [join(r.hN)];
    return { memory: this.attention.prepare(r.output, src.lengths), state: { cell, feed: zeros([B, H], this.opts.dtype) } };
  }

  /**
   * One decoder step: previous tokens y_{t−1} [B] → h̃_t [B,H] (what 'out' reads), the attention
   * weights α_t [B,S] and the next state. The input [E y_{t−1} ; h̃_{t−1}] goes through W_ih in
   * one product; slicing a precomputed projection of all T steps instead would cost a
   * full-size adjoint per step in backward (a slice's VJP is as big as what it slices).
   */
  step(prev: ArrayLike<number>, st: DecoderState, mem: AttentionMemory): { hTilde: Tensor; weights: Tensor; state: DecoderState } {
    const x = ad.concat([this.tgtEmbedding.forward(prev), st.feed], 1); // [B, E+H]
    const xp = ad.add(ad.matmul(x, this.decoder.wih.value, { transB: true }), this.decoder.bih.value); // [B,E+H] × [G·H,E+H]ᵀ → [B,G·H]
    const cell = cellStep(this.opts.cell, true)(xp, st.cell, this.decoder.whh.value, this.decoder.bhh.value);
    const { context, weights } = this.attention.attend(cell[0], mem); // query s_t: [B,H]
    const hTilde = ad.tanh(this.combine.forward(ad.concat([context, cell[0]], 1))); // [B,2H] → [B,H]
    return { hTilde, weights, state: { cell, feed: hTilde } };
  }

  /** Teacher-forced pass: logits [T,B,V] and the attention weights of every step ([T] × [B,S]). */
  forward(batch: Seq2SeqBatch): { logits: Tensor; weights: Tensor[] } {
    const { hidden, weights } = this.decodeStates(batch);
    return { logits: this.out.forward(hidden), weights }; // [T,B,H] → [T,B,V]
  }

  /** Teacher-forced pass up to the output layer: h̃ [T,B,H] and the attention weights. */
  private decodeStates(batch: Seq2SeqBatch): { hidden: Tensor; weights: Tensor[] } {
    const { src, tgtIn } = this.checkBatch(batch);
    this.checkIds('tgtIn', tgtIn);
    const [T, B] = tgtIn.shape;
    const { memory, state } = this.encode(src);
    let st = state;
    const hs: Tensor[] = [];
    const weights: Tensor[] = [];
    for (let t = 0; t < T; t++) {
      const r = this.step(tgtIn.ids.subarray(t * B, (t + 1) * B), st, memory);
      hs.push(r.hTilde);
      weights.push(r.weights);
      st = r.state;
    }
    return { hidden: ad.stack(hs, 0), weights };
  }

  /** Mean cross-entropy per real target token (padding weighs 0) and the number of such tokens. */
  loss(batch: Seq2SeqBatch): { loss: Tensor; tokens: number } {
    const { tgtOut } = this.checkBatch(batch);
    this.checkIds('tgtOut', tgtOut);
    const { hidden } = this.decodeStates(batch);
    const w = tgtOut.mask.toFlatArray(); // [T,B] in the same t·B + b order as the logits' rows
    const tokens = w.reduce((a, v) => a + v, 0);
    const h = ad.reshape(hidden, [-1, this.out.inFeatures]); // [T·B, H]
    return { loss: ad.linearCrossEntropy(h, this.out.weight, this.out.bias, tgtOut.ids, { weights: w }), tokens }; // out + loss in one record
  }

  /**
   * Greedy decoding of a list of source sequences (no tape, eval mode): from SOS, feed back the
   * argmax until EOS or maxLen tokens. Returns per example the tokens (EOS not included) and
   * the attention weights of each returned token over that example's own source positions.
   */
  greedyDecode(src: number[][], maxLen: number): { tokens: number[][]; weights: number[][][] } {
    if (!Number.isInteger(maxLen) || maxLen < 1) throw new TensorError('Seq2Seq.greedyDecode', `maxLen must be a positive integer, got ${maxLen}`);
    if (!Array.isArray(src) || src.length === 0) throw new TensorError('Seq2Seq.greedyDecode', 'src must be a non-empty array of id sequences');
    const was = this.training;
    this.eval();
    try {
      return noGrad(() => {
        const p = padSequences(src, { padValue: PAD_ID });
        const B = src.length;
        const { memory, state } = this.encode(p);
        const tokens: number[][] = src.map(() => []);
        const weights: number[][][] = src.map(() => []);
        const done = new Array<boolean>(B).fill(false);
        let prev = new Int32Array(B).fill(SOS_ID);
        let st = state;
        for (let t = 0; t < maxLen && done.includes(false); t++) {
          const r = this.step(prev, st, memory);
          st = r.state;
          const next = argmax(this.out.forward(r.hTilde), -1).toFlatArray(); // [B]
          const w = r.weights.contiguous(); // [B,S]
          const S = w.shape[1];
          prev = new Int32Array(B);
          for (let b = 0; b < B; b++) {
            prev[b] = next[b];
            if (done[b]) continue;
            if (next[b] === EOS_ID) {
              done[b] = true;
              continue;
            }
            tokens[b].push(next[b]);
            weights[b].push(Array.from(w.data.subarray(w.offset + b * S, w.offset + b * S + p.lengths[b])));
          }
        }
        return { tokens, weights };
      });
    } finally {
      this.train(was);
    }
  }

  /**
   * Beam search over one or more sources (no tape, eval mode): see `beamDecode` in ./beam.ts.
   * Returns per source its `n` best hypotheses, best first, each with its tokens (EOS not
   * included) and log-probability.
   */
  beamDecode(src: number[][], opts: BeamOptions): BeamHypothesis[][] {
    return beamDecode(this, src, opts);
  }

  private checkBatch(batch: Seq2SeqBatch): Seq2SeqBatch {
    if (batch === null || typeof batch !== 'object' || !batch.src || !batch.tgtIn || !batch.tgtOut) {
      throw new TensorError('Seq2Seq', 'batch must be { src, tgtIn, tgtOut } of padded ids (makeSeq2SeqBatch)');
    }
    const [, B] = batch.src.shape;
    const [T, Bi] = batch.tgtIn.shape;
    const [To, Bo] = batch.tgtOut.shape;
    if (Bi !== B || Bo !== B || To !== T) {
      throw new TensorError('Seq2Seq', `batch shapes disagree: src ${shapeStr(batch.src.shape)}, tgtIn ${shapeStr(batch.tgtIn.shape)}, tgtOut ${shapeStr(batch.tgtOut.shape)} (need the same B, and tgtIn and tgtOut the same T)`);
    }
    return batch;
  }
}
