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
 * Numerics: |g|^p is summed after dividing by max|g| and multiplied back, so float64
 * gradients near 1e200 do not overflow the sum of squares.
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
  // max |g| first: Math.max keeps a NaN and an ∞, so a finite max means every gradient is finite
  // and the scan for the offending one runs only when there is one
  let scale = 0;
  for (const { G } of grads) for (let i = 0; i < G.length; i++) scale = Math.max(scale, Math.abs(G[i]));
  const bad = scale < Infinity ? undefined : grads.find(({ G }) => firstNonFinite(G) >= 0);
  if (bad !== undefined) {
    let sawNaN = false;
    for (const { G } of grads) for (let i = 0; i < G.length; i++) if (Number.isNaN(G[i])) sawNaN = true;
    total = sawNaN ? NaN : Infinity;
    if (opts.errorIfNonfinite) {
      throw new TensorError(op, `the total ${normType}-norm of the gradients is ${total} (first non-finite gradient: '${bad.name}'); not clipping`);
    }
    return total;
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

  const coef = maxNorm / (total + 1e-6);
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
  return total;
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
