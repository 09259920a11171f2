import { DType, Rng, Tensor, TensorError } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { Param } from '../optim/param';
import { uniformRange } from '../nn/init';
import { Attention, AttentionMemory, dotScores } from './base';
import { checkOptions } from '../options';

export type LuongScore = 'dot' | 'general';

export interface LuongOptions {
  score: LuongScore;
  /** Hq and Hk: required for 'general' (they size W_a); for 'dot' optional checks (they must be equal). */
  querySize?: number;
  keySize?: number;
  rng?: Rng;
  dtype?: DType;
}

/**
 * Multiplicative attention (Luong, Pham & Manning 2015, §3.1):
 *   dot:      e_{b,s} = q_b · k_{s,b}                       (needs Hq = Hk)
 *   general:  e_{b,s} = q_b W_a k_{s,b}ᵀ = (q_b W_a) · k_{s,b}   W_a:[Hq,Hk] ('weight')
 * 'general' projects the query (one [B,Hq]×[Hq,Hk] product per step), never the S keys.
 */
export class LuongAttention extends Attention {
  readonly label: string;
  readonly score: LuongScore;
  readonly querySize: number | null;
  readonly keySize: number | null;
  private readonly w: Param | null;
  private readonly dtype: DType | null;

  constructor(o: LuongOptions) {
    super();
    if (o === null || typeof o !== 'object') throw new TensorError('LuongAttention', 'options { score, querySize?, keySize? } required');
    const known = ['score', 'querySize', 'keySize', 'rng', 'dtype'];
    checkOptions('LuongAttention', o, known);
    if (o.score !== 'dot' && o.score !== 'general') throw new TensorError('LuongAttention', `score must be 'dot' or 'general', got '${String(o.score)}'`);
    this.score = o.score;
    this.label = `LuongAttention(${o.score})`;
    for (const k of ['querySize', 'keySize'] as const) {
      const v = o[k];
      if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new TensorError(this.label, `${k} must be a positive integer, got ${v}`);
    }
    this.querySize = o.querySize ?? null;
    this.keySize = o.keySize ?? null;
    if (o.score === 'dot') {
      if (this.querySize !== null && this.keySize !== null && this.querySize !== this.keySize) {
        throw new TensorError(this.label, `querySize ${this.querySize} ≠ keySize ${this.keySize}: the dot score needs equal sizes (use 'general')`);
      }
      this.w = null;
      this.dtype = o.dtype ?? null;
    } else {
      if (this.querySize === null || this.keySize === null) throw new TensorError(this.label, 'querySize and keySize are required (they size W_a [Hq, Hk])');
      this.dtype = o.dtype ?? 'float32';
      // as a Linear(Hk → Hq) weight: U(±1/√Hk)
      this.w = this.registerParam('weight', uniformRange([this.querySize, this.keySize], 1 / Math.sqrt(this.keySize), o.rng ?? new Rng(0), this.dtype));
    }
  }

  /** W_a: [Hq, Hk] ('general' only). */
  get weight(): Tensor | null {
    return this.w ? this.w.value : null;
  }

  protected expect() {
    return { querySize: this.querySize, keySize: this.keySize, dtype: this.dtype };
  }

  protected scores(query: Tensor, mem: AttentionMemory): Tensor {
    const Hk = mem.keys.shape[2];
    if (this.w) return dotScores(ad.matmul(query, this.w.value), mem.keysB); // q:[B,Hq] W_a:[Hq,Hk] → [B,Hk]
    if (query.shape[1] !== Hk) {
      throw new TensorError(this.label, `query [${query.shape.join(',')}] and keys [${mem.keys.shape.join(',')}]: feature sizes ${query.shape[1]} ≠ ${Hk} (the dot score needs equal sizes; use 'general')`);
    }
    return dotScores(query, mem.keysB);
  }
}
