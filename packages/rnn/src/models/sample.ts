import { Rng, Tensor, TensorError } from '@unfold/tensor';
import { CharRNN, CharState } from './charRnn';
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
  let state: CharState | undefined;
  let { logits, state: s } = model.predict(prime, [prime.length, 1]);
  state = s;
  const out: number[] = [];
  let last: Tensor = logits.slice(prime.length - 1, 0); // [V]
  for (let n = 0; n < o.length; n++) {
    const id = drawFrom(last.toFlatArray(), temperature, topK, rng);
    out.push(id);
    ({ logits, state: s } = model.predict([id], [1, 1], state));
    state = s;
    last = logits.slice(0, 0);
  }
  return out;
}

/** Draws an index from softmax(z / temperature) over the top-k entries. */
export function drawFrom(z: number[], temperature: number, topK: number, rng: Rng): number {
  // A NaN (or +Inf) logit would make every weight NaN and the loop below fall through to the
  // last index. −Inf is a masked entry (probability 0), allowed as long as one entry is not.
  const bad = z.findIndex((v) => Number.isNaN(v) || v === Infinity);
  if (bad >= 0) throw new TensorError('sample', `logit ${bad} is ${z[bad]} (of ${z.length}): the model output is not finite`);
  if (z.length > 0 && z.every((v) => v === -Infinity)) throw new TensorError('sample', `all ${z.length} logits are -Infinity: nothing can be drawn`);
  let idx = z.map((_, i) => i);
  if (topK > 0 && topK < z.length) idx = idx.sort((a, b) => z[b] - z[a]).slice(0, topK);
  const m = Math.max(...idx.map((i) => z[i]));
  const w = idx.map((i) => Math.exp((z[i] - m) / temperature));
  const total = w.reduce((a, b) => a + b, 0);
  let u = rng.next() * total;
  for (let k = 0; k < idx.length; k++) {
    u -= w[k];
    if (u <= 0) return idx[k];
  }
  return idx[idx.length - 1];
}
