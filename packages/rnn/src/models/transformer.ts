import { DType, Rng, Tensor, TensorError, full, normal, ones, shapeStr, zeros } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { noGrad } from '@unfold/autodiff';
import { Module } from '../nn/module';
import { Linear } from '../nn/linear';
import { Param } from '../optim/param';
import { checkOptions, keysOf } from '../options';

// A small GPT-style decoder built only from autodiff ops (no hand-written VJPs): LayerNorm,
// causal multi-head self-attention, pre-LN blocks, learned positions. A baseline for the
// character LMs; names follow PyTorch/nanoGPT conventions so stateDict() reads naturally.

/** torch.nn.LayerNorm over the last axis: (x − μ)/√(σ² + ε)·γ + β, σ² biased (÷D), ε = 1e-5. */
export class LayerNorm extends Module {
  private readonly w: Param;
  private readonly b: Param;

  constructor(readonly dim: number, readonly eps = 1e-5, opts: { dtype?: DType } = {}) {
    super();
    if (!Number.isInteger(dim) || dim < 1) throw new TensorError('LayerNorm', `dim must be a positive integer, got ${dim}`);
    checkOptions('LayerNorm', opts, ['dtype']);
    this.w = this.registerParam('weight', ones([dim], opts.dtype));
    this.b = this.registerParam('bias', zeros([dim], opts.dtype));
  }

  /** x: [..., D] → [..., D] */
  forward(x: Tensor): Tensor {
    if (x.rank < 1 || x.shape[x.rank - 1] !== this.dim) throw new TensorError('LayerNorm', `input ${shapeStr(x.shape)} does not end in ${this.dim} features`);
    const mu = ad.mean(x, -1, true); // [..., 1]
    const xc = ad.sub(x, mu);
    const v = ad.mean(ad.mul(xc, xc), -1, true); // biased variance, as PyTorch
    const y = ad.div(xc, ad.sqrt(ad.add(v, this.eps)));
    return ad.add(ad.mul(y, this.w.value), this.b.value);
  }
}

/** GELU, tanh form (Hendrycks & Gimpel 2016; GPT-2): ½x(1 + tanh(√(2/π)(x + 0.044715x³))). */
export function gelu(x: Tensor): Tensor {
  const inner = ad.mul(ad.add(x, ad.mul(ad.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
  return ad.mul(ad.mul(x, 0.5), ad.add(ad.tanh(inner), 1));
}

/** [T, T] with 1 where key j ≤ query i (allowed), 0 above the diagonal (the future). */
function causalMask(T: number, dtype: DType): Tensor {
  const m = zeros([T, T], dtype);
  for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) m.data[i * T + j] = 1;
  return m;
}

export interface AttentionOptions {
  dModel: number;
  nHeads: number;
  rng?: Rng;
  dtype?: DType;
}

/**
 * Causal multi-head self-attention: one Linear to q, k, v ([D] → [3D]), h heads of D/h,
 * softmax(q kᵀ/√(D/h) + mask) v, heads concatenated, output Linear [D] → [D].
 * Future keys get −1e9 (exp underflows to exactly 0 in float32 and float64).
 */
export class CausalSelfAttention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly headDim: number;
  private readonly masks = new Map<string, Tensor>();

  constructor(readonly o: AttentionOptions) {
    super();
    checkOptions('CausalSelfAttention', o, keysOf<BlockOptions>({ dModel: 1, nHeads: 1, rng: 1, dtype: 1, mlpRatio: 1, activation: 1 }), { required: true });
    if (!Number.isInteger(o.nHeads) || o.nHeads < 1 || o.dModel % o.nHeads !== 0) {
      throw new TensorError('CausalSelfAttention', `dModel ${o.dModel} must be a positive multiple of nHeads ${o.nHeads}`);
    }
    this.headDim = o.dModel / o.nHeads;
    const rng = o.rng ?? new Rng(0);
    this.qkv = this.registerModule('qkv', new Linear(o.dModel, 3 * o.dModel, { rng, dtype: o.dtype }));
    this.proj = this.registerModule('proj', new Linear(o.dModel, o.dModel, { rng, dtype: o.dtype }));
  }

  private mask(T: number, dtype: DType): Tensor {
    const key = `${T}:${dtype}`;
    let m = this.masks.get(key);
    if (!m) this.masks.set(key, (m = causalMask(T, dtype)));
    return m;
  }

  /** x: [B, T, D] → [B, T, D]; output t reads only positions ≤ t. Also returns weights [B, h, T, T]. */
  forwardFull(x: Tensor): { y: Tensor; weights: Tensor } {
    const D = this.o.dModel;
    if (x.rank !== 3 || x.shape[2] !== D) throw new TensorError('CausalSelfAttention', `input ${shapeStr(x.shape)} must be [B, T, ${D}]`);
    const [B, T] = x.shape;
    const h = this.o.nHeads;
    const hd = this.headDim;
    const heads = (t: Tensor) => ad.permute(ad.reshape(t, [B, T, h, hd]), [0, 2, 1, 3]); // [B,T,D] → [B,h,T,hd]
    const [q, k, v] = ad.split(this.qkv.forward(x), D, -1).map(heads);
    const scores = ad.mul(ad.matmul(q, k, { transB: true }), 1 / Math.sqrt(hd)); // [B,h,T,hd]·[B,h,T,hd]ᵀ → [B,h,T,T]
    const masked = ad.where(this.mask(T, x.dtype), scores, full([], -1e9, x.dtype));
    const weights = ad.softmax(masked, -1);
    const ctx = ad.matmul(weights, v); // [B,h,T,T]·[B,h,T,hd] → [B,h,T,hd]
    const merged = ad.reshape(ad.permute(ctx, [0, 2, 1, 3]), [B, T, D]);
    return { y: this.proj.forward(merged), weights };
  }

  forward(x: Tensor): Tensor {
    return this.forwardFull(x).y;
  }
}

export interface BlockOptions extends AttentionOptions {
  /** MLP hidden width = mlpRatio · dModel (default 4). */
  mlpRatio?: number;
  activation?: 'gelu' | 'relu';
}

/** Pre-LN block (GPT-2): x + attn(LN₁(x)), then x + W₂ act(W₁ LN₂(x)). */
export class TransformerBlock extends Module {
  readonly ln1: LayerNorm;
  readonly attn: CausalSelfAttention;
  readonly ln2: LayerNorm;
  readonly fc: Linear;
  readonly fcOut: Linear;

  constructor(readonly o: BlockOptions) {
    super();
    checkOptions('TransformerBlock', o, keysOf<BlockOptions>({ dModel: 1, nHeads: 1, rng: 1, dtype: 1, mlpRatio: 1, activation: 1 }), { required: true });
    const rng = o.rng ?? new Rng(0);
    const Hm = Math.round((o.mlpRatio ?? 4) * o.dModel);
    this.ln1 = this.registerModule('ln_1', new LayerNorm(o.dModel, 1e-5, { dtype: o.dtype }));
    this.attn = this.registerModule('attn', new CausalSelfAttention({ ...o, rng }));
    this.ln2 = this.registerModule('ln_2', new LayerNorm(o.dModel, 1e-5, { dtype: o.dtype }));
    this.fc = this.registerModule('mlp_fc', new Linear(o.dModel, Hm, { rng, dtype: o.dtype }));
    this.fcOut = this.registerModule('mlp_proj', new Linear(Hm, o.dModel, { rng, dtype: o.dtype }));
  }

  /** x: [B, T, D] → [B, T, D] */
  forward(x: Tensor): Tensor {
    const a = ad.add(x, this.attn.forward(this.ln1.forward(x)));
    const z = this.fc.forward(this.ln2.forward(a));
    return ad.add(a, this.fcOut.forward(this.o.activation === 'relu' ? ad.relu(z) : gelu(z)));
  }
}

export interface CharTransformerOptions {
  vocabSize: number;
  dModel: number;
  nHeads: number;
  nLayers: number;
  /** Longest context (learned positions 0 … blockSize − 1). */
  blockSize: number;
  mlpRatio?: number;
  activation?: 'gelu' | 'relu';
  seed?: number;
  dtype?: DType;
}

/**
 * A character language model: ids → token + position embeddings (N(0, 0.02), as GPT-2) →
 * nLayers pre-LN blocks → final LayerNorm → Linear → logits. Same calling convention as
 * CharRNN (time-major ids [T, B]) but stateless: each window is read from scratch, so context
 * is at most the window.
 */
export class CharTransformer extends Module {
  private readonly tok: Param;
  private readonly pos: Param;
  readonly blocks: TransformerBlock[];
  readonly lnF: LayerNorm;
  readonly head: Linear;

  constructor(readonly opts: CharTransformerOptions) {
    super();
    checkOptions('CharTransformer', opts, keysOf<CharTransformerOptions>({ vocabSize: 1, dModel: 1, nHeads: 1, nLayers: 1, blockSize: 1, mlpRatio: 1, activation: 1, seed: 1, dtype: 1 }), { required: true });
    const { vocabSize: V, dModel: D, blockSize } = opts;
    for (const [n, v] of [['vocabSize', V], ['dModel', D], ['nLayers', opts.nLayers], ['blockSize', blockSize]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new TensorError('CharTransformer', `${n} must be a positive integer, got ${v}`);
    }
    const rng = new Rng(opts.seed ?? 0);
    const dtype = opts.dtype ?? 'float32';
    this.tok = this.registerParam('tok_emb', normal([V, D], 0, 0.02, { rng, dtype }));
    this.pos = this.registerParam('pos_emb', normal([blockSize, D], 0, 0.02, { rng, dtype }));
    this.blocks = [];
    for (let l = 0; l < opts.nLayers; l++) {
      this.blocks.push(this.registerModule(`h.${l}`, new TransformerBlock({ dModel: D, nHeads: opts.nHeads, mlpRatio: opts.mlpRatio, activation: opts.activation, rng, dtype })));
    }
    this.lnF = this.registerModule('ln_f', new LayerNorm(D, 1e-5, { dtype }));
    this.head = this.registerModule('head', new Linear(D, V, { rng, dtype }));
  }

  private checkIds(what: string, ids: ArrayLike<number>, shape: readonly number[]): void {
    if (shape.length !== 2 || !shape.every((d) => Number.isInteger(d) && d > 0)) throw new TensorError('CharTransformer', `${what} shape must be [T, B] with positive integers, got ${shapeStr(shape)}`);
    if (ids.length !== shape[0] * shape[1]) throw new TensorError('CharTransformer', `${what} has ${ids.length} ids for shape ${shapeStr(shape)}`);
    if (shape[0] > this.opts.blockSize) throw new TensorError('CharTransformer', `${what} shape ${shapeStr(shape)}: T = ${shape[0]} exceeds blockSize ${this.opts.blockSize}`);
    const V = this.opts.vocabSize;
    for (let i = 0; i < ids.length; i++) {
      if (!Number.isInteger(ids[i]) || ids[i] < 0 || ids[i] >= V) throw new TensorError('CharTransformer', `${what}[${i}] = ${ids[i]} is not a character id in [0, ${V})`);
    }
  }

  /** Batch-major logits [B, T, V] for time-major ids [T, B]. */
  private logitsBT(ids: ArrayLike<number>, T: number, B: number): Tensor {
    return this.head.forward(this.featuresBT(ids, T, B));
  }

  /** ids [T, B] → the final layer-normed features [B, T, D] (what `head` turns into logits). */
  private featuresBT(ids: ArrayLike<number>, T: number, B: number): Tensor {
    const D = this.opts.dModel;
    const bt = new Int32Array(T * B);
    for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) bt[b * T + t] = ids[t * B + b];
    const pos = ad.slice(this.pos.value, { start: 0, stop: T }); // [T, D]
    let x = ad.add(ad.reshape(ad.gather(this.tok.value, bt), [B, T, D]), pos); // [B,T,D] + [T,D]
    for (const blk of this.blocks) x = blk.forward(x);
    return this.lnF.forward(x);
  }

  /** ids [T, B] → logits [T, B, V] (position t sees ids 0 … t only). */
  forward(ids: ArrayLike<number>, shape: readonly number[]): { logits: Tensor } {
    this.checkIds('input', ids, shape);
    const [T, B] = shape;
    return { logits: ad.permute(this.logitsBT(ids, T, B), [1, 0, 2]) };
  }

  /** Mean cross-entropy (nats per character) of predicting y [T, B] from x [T, B]. */
  loss(x: ArrayLike<number>, y: ArrayLike<number>, shape: readonly number[]): { loss: Tensor } {
    this.checkIds('input', x, shape);
    this.checkIds('target', y, shape);
    const [T, B] = shape;
    const yBT = new Int32Array(T * B); // targets in the logits' [B, T] order
    for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) yBT[b * T + t] = y[t * B + b];
    const f = ad.reshape(this.featuresBT(x, T, B), [-1, this.opts.dModel]); // [B·T, D]
    return { loss: ad.linearCrossEntropy(f, this.head.weight, this.head.bias, yBT) }; // the head and its loss in one record
  }

  /** Loss without recording a tape. */
  evaluate(x: ArrayLike<number>, y: ArrayLike<number>, shape: readonly number[]): number {
    return noGrad(() => this.loss(x, y, shape).loss.item());
  }
}
