import { Rng, Tensor, TensorError } from '@unfold/tensor';
import { noGrad } from '@unfold/autodiff';
import { CharRNN } from './charRnn';
import { checkOptions, keysOf } from '../options';

export interface SampleOptions {
  /** Characters to generate. */
  length: number;
  /** Softmax temperature: < 1 sharper (more conservative), > 1 flatter (more surprising). */
  temperature?: number;
  /** Keep only the k most likely characters at each step (0 = all). */
  topK?: number;
  rng?: Rng;
}

/**
 * One-to-many generation: feed `prime` through the model, then repeatedly sample the next id
 * from softmax(logits / temperature) (restricted to the top k) and feed it back in.
 */
export function sampleIds(model: CharRNN, prime: ArrayLike<number>, o: SampleOptions): number[] {
  checkOptions('sample', o, keysOf<SampleOptions>({ length: 1, temperature: 1, topK: 1, rng: 1 }), { required: true });
  const temperature = o.temperature ?? 1;
  const topK = o.topK ?? 0;
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new TensorError('sample', `temperature must be positive and finite, got ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0) throw new TensorError('sample', `topK must be a non-negative integer, got ${topK}`);
  if (!Number.isInteger(o.length) || o.length < 0) throw new TensorError('sample', `length must be a non-negative integer, got ${o.length}`);
  if (prime.length === 0) throw new TensorError('sample', 'prime must hold at least one id');
  const rng = o.rng ?? new Rng(0);
  const out: number[] = [];
  const was = model.training;
  model.eval();
  try {
    noGrad(() => {
      // Only the last step's logits are ever drawn from: the head runs on that one row, into a
      // buffer reused for every character (z_j = b_j + Σ_k W_jk·h_k, in float64).
      const z = new Float64Array(model.opts.vocabSize);
      let { hidden, state } = model.hiddenStates(prime, [prime.length, 1]);
      for (let n = 0; n < o.length; n++) {
        lastRowLogits(model, hidden, z);
        const id = drawFrom(z, temperature, topK, rng);
        out.push(id);
        ({ hidden, state } = model.hiddenStates([id], [1, 1], state));
      }
    });
  } finally {
    model.train(was);
  }
  return out;
}

/** z ← fc(hidden[last row]): hidden [T, 1, H] (any strides), W [V, H], b [V]. */
function lastRowLogits(model: CharRNN, hidden: Tensor, z: Float64Array): void {
  const [T, , H] = hidden.shape;
  const hd = hidden.data;
  const h0 = hidden.offset + (T - 1) * hidden.strides[0], hs = hidden.strides[2];
  const w = model.fc.weight, b = model.fc.bias;
  const W = w.data, ws0 = w.strides[0], ws1 = w.strides[1];
  for (let j = 0; j < z.length; j++) {
    let acc = b ? b.data[b.offset + j * b.strides[0]] : 0;
    const wj = w.offset + j * ws0;
    for (let k = 0; k < H; k++) acc += W[wj + k * ws1] * hd[h0 + k * hs];
    z[j] = acc;
  }
}

/** Draws an index from softmax(z / temperature) over the top-k entries. */
export function drawFrom(z: ArrayLike<number>, temperature: number, topK: number, rng: Rng): number {
  // A NaN (or +Inf) logit would make every weight NaN and the loop below fall through to the
  // last index. −Inf is a masked entry (probability 0), allowed as long as one entry is not.
  let m = -Infinity;
  for (let i = 0; i < z.length; i++) {
    const v = z[i];
    if (Number.isNaN(v) || v === Infinity) throw new TensorError('sample', `logit ${i} is ${v} (of ${z.length}): the model output is not finite`);
    if (v > m) m = v;
  }
  if (z.length > 0 && m === -Infinity) throw new TensorError('sample', `all ${z.length} logits are -Infinity: nothing can be drawn`);
  if (topK > 0 && topK < z.length) {
    const idx = Array.from({ length: z.length }, (_, i) => i).sort((a, b) => z[b] - z[a]).slice(0, topK);
    const w = idx.map((i) => Math.exp((z[i] - m) / temperature)); // the max is always among the top k
    let u = rng.next() * w.reduce((a, b) => a + b, 0);
    for (let k = 0; k < idx.length; k++) {
      u -= w[k];
      if (u <= 0) return idx[k];
    }
    return idx[idx.length - 1];
  }
  // every entry: two passes over z (the same exponentials twice), nothing allocated
  let total = 0;
  for (let i = 0; i < z.length; i++) total += Math.exp((z[i] - m) / temperature);
  let u = rng.next() * total;
  for (let i = 0; i < z.length; i++) {
    u -= Math.exp((z[i] - m) / temperature);
    if (u <= 0) return i;
  }
  return z.length - 1;
}
