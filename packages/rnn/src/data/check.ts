import { Rng, TensorError } from '@unfold/tensor';

// Argument checks shared by the data utilities; each names the op and the offending value.

export function checkPositiveInt(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new TensorError(op, `${name} must be a positive integer, got ${String(v)}`);
  }
  return v;
}

export function checkNonNegInt(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new TensorError(op, `${name} must be a non-negative integer, got ${String(v)}`);
  }
  return v;
}

export function checkRng(op: string, rng: unknown): Rng {
  if (!(rng instanceof Rng)) {
    throw new TensorError(op, `expected an Rng (e.g. new Rng(seed)), got ${rng === null ? 'null' : typeof rng}`);
  }
  return rng;
}

/** Ids as an Int32Array (the array itself when it already is one, else a copy), rejecting non-integers and negatives with their position. */
export function toIdArray(op: string, ids: ArrayLike<number>, where = 'ids'): Int32Array {
  if (ids instanceof Int32Array) {
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] < 0) throw new TensorError(op, `${where}[${i}] = ${ids[i]} is negative; token ids start at 0`);
    }
    return ids;
  }
  if (ids === null || typeof ids !== 'object' || typeof ids.length !== 'number') {
    throw new TensorError(op, `${where} must be an Int32Array or an array of integers, got ${ids === null ? 'null' : typeof ids}`);
  }
  const out = new Int32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
      throw new TensorError(op, `${where}[${i}] = ${String(v)} is not a non-negative integer id`);
    }
    out[i] = v;
  }
  return out;
}
