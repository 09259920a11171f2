import { TensorError, TypedArray } from '@unfold/tensor';
import { Param, firstNonFinite, gradArray } from './param';
import { checkOptions } from '../options';

export interface ClipGradNormOptions {
  /** Throw when the total norm is NaN or ±Inf (PyTorch's error_if_nonfinite). Default false. */
  errorIfNonfinite?: boolean;
}

/**
 * torch.nn.utils.clip_grad_norm_: the p-norm of all gradients taken together (as if
 * concatenated; parameters with a null grad are ignored),
 *   N = (Σ |g|^p)^(1/p),   N = max |g| for p = ∞,
 * then every gradient is scaled in place by maxNorm / (N + 1e-6) when that is < 1.
 * Returns N, measured before clipping.
 *
 * Numerics: float32 gradients with p = 1 or 2 are summed in doubles in one pass (nothing can
 * overflow there); otherwise |g|^p is summed after dividing by max|g| and multiplied back, so
 * float64 gradients near 1e200 do not overflow the sum of squares.
 * A NaN/Inf total is returned as is and the gradients are left unscaled: PyTorch would scale
 * by NaN (or by 0 for Inf), destroying the evidence; here optimizer.step() then names the
 * offending parameter. With errorIfNonfinite the error is raised here instead.
 */
export function clipGradNorm(params: readonly Param[], maxNorm: number, normType = 2, opts: ClipGradNormOptions = {}): number {
  const op = 'clipGradNorm';
  if (typeof maxNorm !== 'number' || !(maxNorm >= 0)) throw new TensorError(op, `maxNorm must be >= 0, got ${String(maxNorm)}`);
  if (typeof normType !== 'number' || !(normType > 0)) throw new TensorError(op, `normType must be > 0 (or Infinity), got ${String(normType)}`);
  checkOptions(op, opts, ['errorIfNonfinite']);
  const grads: { name: string; G: TypedArray }[] = [];
  for (const p of params) if (p.grad !== null) grads.push({ name: p.name, G: gradArray(op, p) });

  let total: number;
  if ((normType === 2 || normType === 1) && grads.every(({ G }) => G instanceof Float32Array)) {
    // float32 gradients, p = 1 or 2: one pass. A float32 square is exact in a double and a sum of
    // them cannot overflow one (|g|² < 1.2e77) nor lose a denormal (≥ 2e-90), so no scaling by
    // max |g| is needed; the sum is NaN iff some g is NaN, else ∞ iff some g is ±∞.
    let sum = 0;
    for (const { G } of grads) {
      if (normType === 2) for (let i = 0; i < G.length; i++) sum += G[i] * G[i];
      else for (let i = 0; i < G.length; i++) sum += Math.abs(G[i]);
    }
    total = normType === 2 ? Math.sqrt(sum) : sum;
    if (!(total < Infinity)) return nonFinite(op, grads, total, normType, opts);
    scaleGrads(grads, maxNorm / (total + 1e-6));
    return total;
  }
  // max |g| first: Math.max keeps a NaN and an ∞, so a finite max means every gradient is finite
  // and the scan for the offending one runs only when there is one
  let scale = 0;
  for (const { G } of grads) for (let i = 0; i < G.length; i++) scale = Math.max(scale, Math.abs(G[i]));
  if (!(scale < Infinity)) {
    let sawNaN = false;
    for (const { G } of grads) for (let i = 0; i < G.length; i++) if (Number.isNaN(G[i])) sawNaN = true;
    return nonFinite(op, grads, sawNaN ? NaN : Infinity, normType, opts);
  }

  if (normType === Infinity || scale === 0) {
    total = scale;
  } else {
    let sum = 0;
    const inv = 1 / scale;
    for (const { G } of grads) {
      if (normType === 2) {
        for (let i = 0; i < G.length; i++) {
          const x = G[i] * inv;
          sum += x * x;
        }
      } else if (normType === 1) {
        for (let i = 0; i < G.length; i++) sum += Math.abs(G[i]) * inv;
      } else {
        for (let i = 0; i < G.length; i++) sum += Math.pow(Math.abs(G[i]) * inv, normType);
      }
    }
    total = scale * Math.pow(sum, 1 / normType);
  }

  scaleGrads(grads, maxNorm / (total + 1e-6));
  return total;
}

/** A NaN/±∞ total: returned as is with the gradients untouched, or (errorIfNonfinite) the error naming the first offending parameter. */
function nonFinite(op: string, grads: readonly { name: string; G: TypedArray }[], total: number, normType: number, opts: ClipGradNormOptions): number {
  if (opts.errorIfNonfinite) {
    const bad = grads.find(({ G }) => firstNonFinite(G) >= 0);
    throw new TensorError(op, `the total ${normType}-norm of the gradients is ${total} (first non-finite gradient: '${bad?.name}'); not clipping`);
  }
  return total;
}

/** Every gradient times coef when coef < 1. */
function scaleGrads(grads: readonly { G: TypedArray }[], coef: number): void {
  if (coef < 1) {
    // Two parameters may hold one gradient array (a caller that set both .grad from one adjoint,
    // as b_ih and b_hh of a folded bias receive): it is counted in the norm for each, as
    // PyTorch's separate equal gradients would be, but scaled once.
    const scaled = new Map<ArrayBufferLike, Set<string>>();
    for (const { G } of grads) {
      const key = `${G.byteOffset}:${G.length}`;
      let seen = scaled.get(G.buffer);
      if (seen === undefined) scaled.set(G.buffer, (seen = new Set()));
      if (seen.has(key)) continue;
      seen.add(key);
      for (let i = 0; i < G.length; i++) G[i] *= coef;
    }
  }
}

/** torch.nn.utils.clip_grad_value_: clamps every gradient element into [−clip, clip] in place (NaN stays NaN). */
export function clipGradValue(params: readonly Param[], clip: number): void {
  const op = 'clipGradValue';
  if (typeof clip !== 'number' || !(clip >= 0) || clip === Infinity) throw new TensorError(op, `clip must be a finite number >= 0, got ${String(clip)}`);
  for (const p of params) {
    if (p.grad === null) continue;
    const G = gradArray(op, p);
    for (let i = 0; i < G.length; i++) {
      const g = G[i];
      if (g > clip) G[i] = clip;
      else if (g < -clip) G[i] = -clip;
    }
  }
}
