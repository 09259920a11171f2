import { DType, Tensor, zeros } from '@unfold/tensor';

/**
 * Shared all-zero constants for the recurrent layers: the initial state [B, H] of a direction
 * when the caller gives none, and GRU's b_hh when the layer has none. Ops only read their
 * inputs (the sequence op copies h0 and c0 into its own state block; a cell step writes new
 * tensors), and no layer hands one of these back to its caller — every final state is a
 * step's output — so one tensor per shape serves every call instead of a fresh allocation
 * per layer, direction and state on every pass. A few shapes at a time (train and validation
 * batches, a sampler's B = 1): the least recently used one goes beyond that. `role` keeps
 * h0 and c0 apart (`h`, `c`, `bhh`), so that a printed tape still shows two initial states.
 */
const cache = new Map<string, Tensor>();
const KEEP = 12;

export function zeroConstant(role: 'h' | 'c' | 'bhh', shape: readonly number[], dtype: DType): Tensor {
  const key = `${role}:${dtype}:${shape.join(',')}`;
  let t = cache.get(key);
  if (t) {
    cache.delete(key); // re-inserted last: most recently used
  } else {
    t = zeros(shape, dtype);
    if (cache.size >= KEEP) cache.delete(cache.keys().next().value!);
  }
  cache.set(key, t);
  return t;
}
