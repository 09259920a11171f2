import { DType, Rng, Tensor, TensorError } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { Param } from '../optim/param';
import { uniformRange } from '../nn/init';
import { Attention, AttentionMemory } from './base';
import { checkOptions } from '../options';

export interface BahdanauOptions {
  querySize: number;
  keySize: number;
  /** A, the width of the hidden layer inside the score (default querySize). */
  attentionSize?: number;
  rng?: Rng;
  dtype?: DType;
}

/**
 * Additive attention (Bahdanau, Cho & Bengio 2015), a one-hidden-layer MLP score:
 *   e_{b,s} = v_aᵀ tanh(W₁ k_{s,b} + W₂ q_b)
 *   W₁ 'key_weight' [A,Hk], W₂ 'query_weight' [A,Hq], v_a 'v' [A]   (no biases, as the paper)
 * W₁ k is the same at every decoder step, so `prepare` computes it once ([B,S,A]); each step
 * adds W₂ q [B,1,A], broadcast over s.
 */
export class BahdanauAttention extends Attention {
  readonly label = 'BahdanauAttention';
  readonly querySize: number;
  readonly keySize: number;
  readonly attentionSize: number;
  private readonly dtype: DType;
  private readonly wk: Param;
  private readonly wq: Param;
  private readonly v: Param;

  constructor(o: BahdanauOptions) {
    super();
    if (o === null || typeof o !== 'object') throw new TensorError(this.label, 'options { querySize, keySize, attentionSize? } required');
    const known = ['querySize', 'keySize', 'attentionSize', 'rng', 'dtype'];
    checkOptions(this.label, o, known);
    const A = o.attentionSize ?? o.querySize;
    for (const [k, v] of [['querySize', o.querySize], ['keySize', o.keySize], ['attentionSize', A]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new TensorError(this.label, `${k} must be a positive integer, got ${v}`);
    }
    this.querySize = o.querySize;
    this.keySize = o.keySize;
    this.attentionSize = A;
    this.dtype = o.dtype ?? 'float32';
    const rng = o.rng ?? new Rng(0);
    // Linear-style U(±1/√fan_in) for each projection
    this.wk = this.registerParam('key_weight', uniformRange([A, o.keySize], 1 / Math.sqrt(o.keySize), rng, this.dtype));
    this.wq = this.registerParam('query_weight', uniformRange([A, o.querySize], 1 / Math.sqrt(o.querySize), rng, this.dtype));
    this.v = this.registerParam('v', uniformRange([A], 1 / Math.sqrt(A), rng, this.dtype));
  }

  protected expect() {
    return { querySize: this.querySize, keySize: this.keySize, dtype: this.dtype };
  }

  protected override projectKeys(keys: Tensor): Tensor {
    const [S, B, Hk] = keys.shape;
    const kp = ad.matmul(ad.reshape(keys, [S * B, Hk]), this.wk.value, { transB: true }); // [S·B,Hk] × [A,Hk]ᵀ → [S·B,A]
    return ad.permute(ad.reshape(kp, [S, B, this.attentionSize]), [1, 0, 2]); // [B,S,A] view
  }

  protected scores(query: Tensor, mem: AttentionMemory): Tensor {
    const [S, B] = mem.keys.shape;
    const A = this.attentionSize;
    const qp = ad.reshape(ad.matmul(query, this.wq.value, { transB: true }), [B, 1, A]); // [B,Hq] × [A,Hq]ᵀ → [B,1,A]
    const hidden = ad.tanh(ad.add(mem.proj as Tensor, qp)); // [B,S,A]
    return ad.reshape(ad.matmul(hidden, ad.reshape(this.v.value, [A, 1])), [B, S]); // [B,S,A] × [A,1] → [B,S]
  }
}
