import { TypedArray } from './dtype';
import { TensorError } from './errors';
import { copyStrided } from './iter';
import { checkNumber, checkTensor } from './operands';
import { Tensor } from './tensor';

/**
 * Unary elementwise kernels. Each op has its own loop over a contiguous source (a view of x
 * when x is contiguous, else a strided copy of x into the output first), so every loop body
 * stays monomorphic in its operation: no per-element callback, nothing to go megamorphic.
 * Results are new contiguous tensors of x's dtype; arithmetic runs in JS doubles and is
 * rounded once on store.
 *
 * ndarray-ops (cwise) is not used: benchmarks/src/kernel/elementwise.ts (float32, output
 * allocated per call on both sides, shared 2-core machine) puts exp at 21–26 ns/element
 * for the hand loop vs 18–28 for ndarray-ops at 32×128 and 26 vs 26–27 at 32×1024 over two
 * runs — a tie inside the run-to-run noise, Math.exp dominating both. ndarray-ops adds a
 * toNdarray wrapper per operand per call and has no tanh/sigmoid, so one kind of loop serves all.
 */

interface Unary {
  out: Tensor;
  o: TypedArray;
  src: TypedArray;
  off: number;
  n: number;
}

function unary(op: string, x: Tensor): Unary {
  checkTensor(op, x, 'x');
  const out = Tensor.empty(x.shape, x.dtype);
  const o = out.data;
  if (x.isContiguous()) return { out, o, src: x.data, off: x.offset, n: o.length };
  copyStrided(x.shape, x.data, x.offset, x.strides, o, 0, out.strides);
  return { out, o, src: o, off: 0, n: o.length };
}

export function neg(x: Tensor): Tensor {
  const { out, o, src, off, n } = unary('neg', x);
  for (let i = 0; i < n; i++) o[i] = -src[off + i];
  return out;
}

export function exp(x: Tensor): Tensor {
  const { out, o, src, off, n } = unary('exp', x);
  for (let i = 0; i < n; i++) o[i] = Math.exp(src[off + i]);
  return out;
}

export function log(x: Tensor): Tensor {
  const { out, o, src, off, n } = unary('log', x);
  for (let i = 0; i < n; i++) o[i] = Math.log(src[off + i]);
  return out;
}

export function tanh(x: Tensor): Tensor {
  const { out, o, src, off, n } = unary('tanh', x);
  for (let i = 0; i < n; i++) o[i] = Math.tanh(src[off + i]);
  return out;
}

/**
 * σ(x) = 1/(1+e^-x) for x ≥ 0 and e^x/(1+e^x) for x < 0, both written with e = e^-|x| ∈ (0,1]:
 * the exponential never overflows, so σ(±1000) is exactly 1 / 0 rather than NaN, and
 * σ(-x) for large x keeps full relative precision (no 1 - (almost 1) cancellation).
 */
export function sigmoid(x: Tensor): Tensor {
  const { out, o, src, off, n } = unary('sigmoid', x);
  for (let i = 0; i < n; i++) {
    const v = src[off + i];
    const e = Math.exp(-Math.abs(v));
    const r = 1 / (1 + e);
    o[i] = v >= 0 ? r : e * r;
  }
  return out;
}

/** max(x, 0); NaN stays NaN (as in PyTorch), -0 stays -0. */
export function relu(x: Tensor): Tensor {
  const { out, o, src, off, n } = unary('relu', x);
  for (let i = 0; i < n; i++) {
    const v = src[off + i];
    o[i] = v < 0 ? 0 : v;
  }
  return out;
}

export function sqrt(x: Tensor): Tensor {
  const { out, o, src, off, n } = unary('sqrt', x);
  for (let i = 0; i < n; i++) o[i] = Math.sqrt(src[off + i]);
  return out;
}

export function abs(x: Tensor): Tensor {
  const { out, o, src, off, n } = unary('abs', x);
  for (let i = 0; i < n; i++) o[i] = Math.abs(src[off + i]);
  return out;
}

export function square(x: Tensor): Tensor {
  const { out, o, src, off, n } = unary('square', x);
  for (let i = 0; i < n; i++) {
    const v = src[off + i];
    o[i] = v * v;
  }
  return out;
}

/** x^p with Math.pow semantics (negative base with fractional p → NaN); p = 2 is a product. */
export function pow(x: Tensor, p: number): Tensor {
  checkTensor('pow', x, 'x');
  checkNumber('pow', p, 'exponent p');
  if (p === 2) return square(x);
  const { out, o, src, off, n } = unary('pow', x);
  for (let i = 0; i < n; i++) o[i] = Math.pow(src[off + i], p);
  return out;
}

/** min(max(x, lo), hi); NaN passes through. */
export function clip(x: Tensor, lo: number, hi: number): Tensor {
  checkClipBounds('clip', lo, hi);
  const { out, o, src, off, n } = unary('clip', x);
  for (let i = 0; i < n; i++) {
    const v = src[off + i];
    o[i] = v < lo ? lo : v > hi ? hi : v;
  }
  return out;
}

export function checkClipBounds(op: string, lo: number, hi: number): void {
  checkNumber(op, lo, 'lo');
  checkNumber(op, hi, 'hi');
  if (Number.isNaN(lo) || Number.isNaN(hi) || lo > hi) throw new TensorError(op, `bounds must satisfy lo ≤ hi, got lo=${lo}, hi=${hi}`);
}

/** 1 where x is NaN, else 0 (x's dtype). */
export function isnan(x: Tensor): Tensor {
  const { out, o, src, off, n } = unary('isnan', x);
  for (let i = 0; i < n; i++) {
    const v = src[off + i];
    o[i] = v !== v ? 1 : 0;
  }
  return out;
}
