import { TypedArray, adamF32 } from '@unfold/tensor';
import { Hyper, OptionSpec, betaPair, boolean, nonNegative, positive } from './hyper';
import { Optimizer, OptimizerKind } from './optimizer';
import { Param } from './param';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
}

const spec = (weightDecay: number): OptionSpec => ({
  lr: { default: 1e-3, rule: positive },
  betas: { default: [0.9, 0.999], rule: betaPair },
  eps: { default: 1e-8, rule: nonNegative },
  weightDecay: { default: weightDecay, rule: nonNegative },
  amsgrad: { default: false, rule: boolean },
});

/**
 * torch.optim.Adam / AdamW, per element, at this parameter's step t = 1, 2, … (buffers start at 0):
 *   Adam:   g ← g + λ·w                 (L2 penalty folded into the gradient)
 *   AdamW:  w ← w·(1 − lr·λ)            (decoupled decay, before the Adam step; g unchanged)
 *   m ← β1·m + (1 − β1)·g               exp_avg    (PyTorch: m.lerp_(g, 1−β1))
 *   v ← β2·v + (1 − β2)·g²              exp_avg_sq
 *   amsgrad: v̂ ← max(v̂, v)              max_exp_avg_sq; v̂ replaces v below
 *   d = √v / √(1 − β2^t) + ε            (ε added after bias correction, as PyTorch)
 *   w ← w − (lr / (1 − β1^t))·m / d
 */
abstract class AdamFamily extends Optimizer {
  protected constructor(
    kind: OptimizerKind,
    label: string,
    private readonly decoupled: boolean,
    params: readonly Param[],
    opts: AdamOptions,
  ) {
    super(kind, label, spec(decoupled ? 1e-2 : 0), params, opts);
  }

  protected bufferKinds(h: Hyper): string[] {
    return h.amsgrad ? ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] : ['exp_avg', 'exp_avg_sq'];
  }

  protected update(p: Param, t: number, W: TypedArray, G: TypedArray): void {
    const lr = this.hyper.lr as number;
    const [b1, b2] = this.hyper.betas as number[];
    const eps = this.hyper.eps as number;
    const wd = this.hyper.weightDecay as number;
    const M = this.stateOrInit('exp_avg', p);
    const V = this.stateOrInit('exp_avg_sq', p);
    const Vmax = this.hyper.amsgrad ? this.stateOrInit('max_exp_avg_sq', p) : null;
    const stepSize = lr / (1 - Math.pow(b1, t));
    const bc2Sqrt = Math.sqrt(1 - Math.pow(b2, t));
    const l2 = this.decoupled ? 0 : wd;
    const shrink = this.decoupled ? 1 - lr * wd : 1;
    const n = W.length;
    // float32 on the wasm backend: the same operations two at a time (f64x2), the same bits
    if (Vmax === null && W instanceof Float32Array && G instanceof Float32Array && M instanceof Float32Array && V instanceof Float32Array) {
      if (adamF32(W, G, M, V, { shrink, l2, c1: 1 - b1, b2, c2: 1 - b2, stepSize, bc2Sqrt, eps })) return;
    }
    for (let i = 0; i < n; i++) {
      if (shrink !== 1) W[i] *= shrink;
      const g = G[i] + l2 * W[i];
      M[i] += (1 - b1) * (g - M[i]);
      V[i] = b2 * V[i] + (1 - b2) * g * g;
      let v = V[i];
      if (Vmax !== null) v = Vmax[i] = Math.max(Vmax[i], v);
      W[i] -= (stepSize * M[i]) / (Math.sqrt(v) / bc2Sqrt + eps);
    }
  }
}

/** Adam with the L2 penalty in the gradient (PyTorch default λ = 0). */
export class Adam extends AdamFamily {
  constructor(params: readonly Param[], opts: AdamOptions = {}) {
    super('adam', 'Adam', false, params, opts);
  }
}

/** Adam with decoupled weight decay (Loshchilov & Hutter); PyTorch default λ = 1e-2. */
export class AdamW extends AdamFamily {
  constructor(params: readonly Param[], opts: AdamOptions = {}) {
    super('adamw', 'AdamW', true, params, opts);
  }
}
