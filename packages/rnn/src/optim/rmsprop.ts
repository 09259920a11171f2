import { TypedArray } from '@unfold/tensor';
import { Hyper, OptionSpec, boolean, nonNegative, positive, unitInterval } from './hyper';
import { Optimizer } from './optimizer';
import { Param } from './param';

export interface RMSPropOptions {
  lr?: number;
  alpha?: number;
  eps?: number;
  weightDecay?: number;
  momentum?: number;
  centered?: boolean;
}

const SPEC: OptionSpec = {
  lr: { default: 1e-2, rule: positive },
  alpha: { default: 0.99, rule: unitInterval },
  eps: { default: 1e-8, rule: nonNegative },
  weightDecay: { default: 0, rule: nonNegative },
  momentum: { default: 0, rule: nonNegative },
  centered: { default: false, rule: boolean },
};

/**
 * torch.optim.RMSprop, per element (α = alpha, μ = momentum, λ = weightDecay); all buffers start at 0:
 *   g ← g + λ·w
 *   s ← α·s + (1 − α)·g²                                  square_avg
 *   centered:  a ← α·a + (1 − α)·g  (PyTorch: a.lerp_(g, 1−α))   grad_avg
 *              d ← √(s − a²) + ε       else   d ← √s + ε     (ε outside the root)
 *   μ > 0:     b ← μ·b + g/d;  w ← w − lr·b                  momentum_buffer
 *   else:      w ← w − lr·g/d
 * s − a² ≥ 0 in exact arithmetic (a weighted variance); it is clamped at 0 so that rounding on
 * a constant gradient cannot produce √(−tiny) = NaN (PyTorch would; the results agree otherwise).
 */
export class RMSProp extends Optimizer {
  constructor(params: readonly Param[], opts: RMSPropOptions = {}) {
    super('rmsprop', 'RMSProp', SPEC, params, opts);
  }

  protected bufferKinds(h: Hyper): string[] {
    const kinds = ['square_avg'];
    if (h.momentum !== 0) kinds.push('momentum_buffer');
    if (h.centered) kinds.push('grad_avg');
    return kinds;
  }

  protected update(p: Param, _t: number, W: TypedArray, G: TypedArray): void {
    const lr = this.hyper.lr as number;
    const alpha = this.hyper.alpha as number;
    const eps = this.hyper.eps as number;
    const wd = this.hyper.weightDecay as number;
    const mu = this.hyper.momentum as number;
    const S = this.stateOrInit('square_avg', p);
    const A = this.hyper.centered ? this.stateOrInit('grad_avg', p) : null;
    const B = mu !== 0 ? this.stateOrInit('momentum_buffer', p) : null;
    const n = W.length;
    for (let i = 0; i < n; i++) {
      const g = G[i] + wd * W[i];
      S[i] = alpha * S[i] + (1 - alpha) * g * g;
      let d: number;
      if (A !== null) {
        A[i] += (1 - alpha) * (g - A[i]);
        d = Math.sqrt(Math.max(0, S[i] - A[i] * A[i])) + eps;
      } else {
        d = Math.sqrt(S[i]) + eps;
      }
      if (B !== null) {
        B[i] = mu * B[i] + g / d;
        W[i] -= lr * B[i];
      } else {
        W[i] -= (lr * g) / d;
      }
    }
  }
}
