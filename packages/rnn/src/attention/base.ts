import { DType, Tensor, TensorError, full, shapeStr, zeros } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { Module } from '../nn/module';

/**
 * Attention over encoder outputs, shared by the Luong and Bahdanau scores.
 *
 *   e_{b,s} = score(q_b, k_{s,b})                  // q:[B,Hq] keys:[S,B,Hk] → e:[B,S]
 *   e_{b,s} = −∞ for s ≥ length_b                  // padding: exp(−∞) = 0, an exact zero weight
 *   α_b = softmax_s(e_b)                           // weights:[B,S], each row sums to 1
 *   c_b = Σ_s α_{b,s} k_{s,b}                      // context:[B,Hk]
 *
 * Everything is composed from autodiff ops (matmul, tanh, where, logSoftmax, exp), so the
 * gradients are the primitives' and need no VJP of their own. The −∞ is safe backwards too:
 * softmax's VJP multiplies by α = 0 there, and `where` sends the masked scores no adjoint.
 */
export interface AttentionOutput {
  /** Σ_s α_{b,s} k_{s,b}: [B, Hk]. */
  context: Tensor;
  /** α: [B, S]; rows sum to 1, exactly 0 at s ≥ length. Plot them with `heatmap`. */
  weights: Tensor;
}

/**
 * The keys of one source batch, prepared once and read at every decoder step: the
 * batch-major view, the length mask, and whatever the score precomputes from the keys alone
 * (Bahdanau's W₁ h_s), so a decoder of T steps does that work once, not T times.
 */
export interface AttentionMemory {
  /** As given: [S, B, Hk] (time-major encoder outputs). */
  readonly keys: Tensor;
  /** [B, S, Hk] view of keys. */
  readonly keysB: Tensor;
  /** [B, S]: 1 where s < length, 0 on padding; null = every position is real. */
  readonly mask: Tensor | null;
  readonly lengths: Int32Array | null;
  /** Score-specific key projection (Bahdanau: W₁ h_s as [B, S, A]). */
  readonly proj: Tensor | null;
}

export abstract class Attention extends Module {
  /** Name used in error messages, e.g. `LuongAttention(general)`. */
  abstract readonly label: string;

  /** e: [B, S] for query [B, Hq] (checked) against the prepared memory. */
  protected abstract scores(query: Tensor, mem: AttentionMemory): Tensor;

  /** Key-only precomputation stored in `memory.proj`; none by default. */
  protected projectKeys(_keys: Tensor): Tensor | null {
    return null;
  }

  /** Expected feature sizes and dtype: null where the score does not fix them. */
  protected abstract expect(): { querySize: number | null; keySize: number | null; dtype: DType | null };

  /**
   * query [B, Hq], keys [S, B, Hk] (time-major encoder outputs), lengths (per example, each
   * in [1, S]; positions ≥ length get weight 0) → { context [B, Hk], weights [B, S] }.
   * Padded keys must be finite (recurrent layers give exact zeros there): their weight is 0,
   * but 0 · NaN would still be NaN.
   */
  forward(query: Tensor, keys: Tensor, lengths?: ArrayLike<number>): AttentionOutput {
    return this.attend(query, this.prepare(keys, lengths));
  }

  /** Checks keys and lengths and does the key-only work once per source batch. */
  prepare(keys: Tensor, lengths?: ArrayLike<number>): AttentionMemory {
    const lbl = this.label;
    if (!(keys instanceof Tensor) || keys.rank !== 3) {
      throw new TensorError(lbl, `keys must be [S, B, Hk] (time-major encoder outputs), got ${keys instanceof Tensor ? shapeStr(keys.shape) : typeof keys}`);
    }
    const [S, B, Hk] = keys.shape;
    if (S === 0 || B === 0 || Hk === 0) throw new TensorError(lbl, `keys ${shapeStr(keys.shape)} are empty`);
    const want = this.expect();
    if (want.keySize !== null && Hk !== want.keySize) throw new TensorError(lbl, `keys ${shapeStr(keys.shape)}: feature size ${Hk} ≠ keySize ${want.keySize}`);
    if (want.dtype !== null && keys.dtype !== want.dtype) throw new TensorError(lbl, `keys ${shapeStr(keys.shape)} are ${keys.dtype}, parameters are ${want.dtype}`);
    const lens = lengths === undefined ? null : checkLengths(lbl, lengths, S, B, keys.shape);
    let mask: Tensor | null = null;
    if (lens && lens.some((L) => L < S)) {
      mask = zeros([B, S], keys.dtype);
      for (let b = 0; b < B; b++) mask.data.fill(1, b * S, b * S + lens[b]);
    }
    return { keys, keysB: ad.permute(keys, [1, 0, 2]), mask, lengths: lens, proj: this.projectKeys(keys) };
  }

  /** One query against prepared keys: the per-decoder-step half of `forward`. */
  attend(query: Tensor, mem: AttentionMemory): AttentionOutput {
    const lbl = this.label;
    const [S, B, Hk] = mem.keys.shape;
    if (!(query instanceof Tensor) || query.rank !== 2) {
      throw new TensorError(lbl, `query must be [B, Hq], got ${query instanceof Tensor ? shapeStr(query.shape) : typeof query}`);
    }
    if (query.shape[0] !== B) throw new TensorError(lbl, `query ${shapeStr(query.shape)} and keys ${shapeStr(mem.keys.shape)}: batch sizes ${query.shape[0]} ≠ ${B}`);
    const want = this.expect();
    if (want.querySize !== null && query.shape[1] !== want.querySize) {
      throw new TensorError(lbl, `query ${shapeStr(query.shape)}: feature size ${query.shape[1]} ≠ querySize ${want.querySize}`);
    }
    if (query.dtype !== mem.keys.dtype) throw new TensorError(lbl, `query ${shapeStr(query.shape)} is ${query.dtype}, keys ${shapeStr(mem.keys.shape)} are ${mem.keys.dtype}`);
    let e = this.scores(query, mem); // [B, S]
    if (mem.mask) e = ad.where(mem.mask, e, full([], -Infinity, query.dtype));
    const weights = ad.softmax(e, 1); // [B, S]
    // [B,1,S] × [B,S,Hk] → [B,1,Hk]: one batched product, keysB read through its strides
    const context = ad.reshape(ad.matmul(ad.reshape(weights, [B, 1, S]), mem.keysB), [B, Hk]);
    return { context, weights };
  }
}

/** Dot product of each query with its own keys: [B,S,H] × [B,H,1] → [B,S]. */
export function dotScores(q: Tensor, keysB: Tensor): Tensor {
  const [B, S, H] = keysB.shape;
  return ad.reshape(ad.matmul(keysB, ad.reshape(q, [B, H, 1])), [B, S]);
}

function checkLengths(lbl: string, lengths: ArrayLike<number>, S: number, B: number, keysShape: readonly number[]): Int32Array {
  if (lengths === null || typeof lengths !== 'object' || typeof lengths.length !== 'number') {
    throw new TensorError(lbl, `lengths must be an array of ${B} integers, got ${lengths === null ? 'null' : typeof lengths}`);
  }
  if (lengths.length !== B) throw new TensorError(lbl, `lengths has ${lengths.length} entries for a batch of ${B} (keys ${shapeStr(keysShape)})`);
  const out = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const L = lengths[b];
    // length 0 would leave a row of −∞ only: softmax of it is 0/0
    if (!Number.isInteger(L) || L < 1 || L > S) throw new TensorError(lbl, `lengths[${b}] = ${L} is not an integer in [1, S = ${S}] (keys ${shapeStr(keysShape)})`);
    out[b] = L;
  }
  return out;
}
