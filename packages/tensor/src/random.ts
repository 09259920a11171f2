import { DType } from './dtype';
import { TensorError } from './errors';
import { checkShape } from './shape';
import { Tensor } from './tensor';

/**
 * A seeded pseudo-random generator: xoshiro128** (Blackman & Vigna, 2018), seeded through
 * splitmix32 so that nearby seeds give unrelated streams. It uses only 32-bit integer
 * arithmetic (Math.imul, >>>), so the same seed gives the same numbers on every machine
 * and every JS engine. Uniform doubles take 53 bits from two draws; normals use the
 * Box–Muller transform (Math.log/cos/sin: V8's fdlibm ports, the same on any machine
 * running the same Node). The state is four uint32s: `getState`/`setState` let a
 * checkpoint resume the exact stream.
 */
export class Rng {
  private s = new Uint32Array(4);

  constructor(seed = 0) {
    this.seed(seed);
  }

  seed(seed: number): void {
    if (!Number.isFinite(seed)) throw new TensorError('Rng', `seed must be a finite number, got ${seed}`);
    let x = (Math.trunc(seed) >>> 0) ^ Math.trunc(seed / 4294967296);
    for (let i = 0; i < 4; i++) {
      // splitmix32
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.s[0] === 0 && this.s[1] === 0 && this.s[2] === 0 && this.s[3] === 0) this.s[0] = 1;
  }

  getState(): number[] {
    return Array.from(this.s);
  }

  setState(state: readonly number[]): void {
    if (state.length !== 4 || state.some((v) => !Number.isInteger(v) || v < 0 || v > 0xffffffff)) {
      throw new TensorError('Rng', `state must be four uint32 values, got [${state.join(',')}]`);
    }
    this.s.set(state);
  }

  /** Next uint32. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  next(): number {
    const a = this.nextUint32() >>> 5; // 27 bits
    const b = this.nextUint32() >>> 6; // 26 bits
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Standard normal by Box–Muller (u1 in (0,1] so log is finite). */
  normal(): number {
    const u1 = 1 - this.next();
    const u2 = this.next();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** Integer uniform in [low, high). */
  int(low: number, high: number): number {
    if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
      throw new TensorError('randint', `needs integers low < high, got (${low}, ${high})`);
    }
    return low + Math.floor(this.next() * (high - low));
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The generator used when none is passed. `seed(n)` resets it. */
export const defaultRng = new Rng(0);

export function seed(n: number): void {
  defaultRng.seed(n);
}

export interface RandomOptions {
  rng?: Rng;
  dtype?: DType;
}

function fill(op: string, shape: readonly number[], opts: RandomOptions, draw: (r: Rng) => number): Tensor {
  const t = Tensor.empty(checkShape(op, shape), opts.dtype ?? 'float32');
  const r = opts.rng ?? defaultRng;
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = draw(r);
  return t;
}

export function uniform(shape: readonly number[], low = 0, high = 1, opts: RandomOptions = {}): Tensor {
  if (!(high >= low) || !Number.isFinite(low) || !Number.isFinite(high)) throw new TensorError('uniform', `needs finite low <= high, got (${low}, ${high})`);
  return fill('uniform', shape, opts, (r) => low + (high - low) * r.next());
}

export function normal(shape: readonly number[], mean = 0, std = 1, opts: RandomOptions = {}): Tensor {
  if (!(std >= 0) || !Number.isFinite(mean) || !Number.isFinite(std)) throw new TensorError('normal', `needs finite mean and std >= 0, got (${mean}, ${std})`);
  return fill('normal', shape, opts, (r) => mean + std * r.normal());
}

/** Integers uniform in [low, high), stored as floats. */
export function randint(low: number, high: number, shape: readonly number[], opts: RandomOptions = {}): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new TensorError('randint', `needs integers low < high, got (${low}, ${high})`);
  }
  return fill('randint', shape, opts, (g) => g.int(low, high));
}

/** 1 with probability p, else 0 (dropout masks). */
export function bernoulli(shape: readonly number[], p: number, opts: RandomOptions = {}): Tensor {
  if (!(p >= 0 && p <= 1)) throw new TensorError('bernoulli', `p must be in [0, 1], got ${p}`);
  return fill('bernoulli', shape, opts, (r) => (r.next() < p ? 1 : 0));
}

/** Fisher–Yates shuffle in place; returns the same array. */
export function shuffle<T>(items: T[], rng: Rng = defaultRng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    const tmp = items[i];
    items[i] = items[j];
    items[j] = tmp;
  }
  return items;
}

/** A random permutation of 0…n-1. */
export function permutation(n: number, rng: Rng = defaultRng): number[] {
  if (!Number.isInteger(n) || n < 0) throw new TensorError('permutation', `n must be a non-negative integer, got ${n}`);
  return shuffle(Array.from({ length: n }, (_, i) => i), rng);
}

