import { TensorError, TypedArray } from '@unfold/tensor';
import { Hyper, OptionSpec, boolean, nonNegative, positive } from './hyper';
import { Optimizer } from './optimizer';
import { Param } from './param';

export interface SGDOptions {
  lr?: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

const SPEC: OptionSpec = {
  lr: { default: 1e-3, rule: positive },
  momentum: { default: 0, rule: nonNegative },
  dampening: { default: 0, rule: nonNegative },
  nesterov: { default: false, rule: boolean },
  weightDecay: { default: 0, rule: nonNegative },
};

/**
 * torch.optim.SGD, per element (λ = weightDecay, μ = momentum, τ = dampening):
 *   g ← g + λ·w
 *   if μ ≠ 0:  b ← g                     on the parameter's first step (no dampening)
 *              b ← μ·b + (1 − τ)·g       afterwards
 *              g ← g + μ·b  (Nesterov)   or   g ← b
 *   w ← w − lr·g
 */
export class SGD extends Optimizer {
  constructor(params: readonly Param[], opts: SGDOptions = {}) {
    super('sgd', 'SGD', SPEC, params, opts);
  }

  protected override validate(h: Hyper): void {
    if (h.nesterov && (h.momentum === 0 || h.dampening !== 0)) {
      throw new TensorError('SGD', `Nesterov momentum requires momentum > 0 and dampening = 0, got momentum ${h.momentum}, dampening ${h.dampening}`);
    }
  }

  protected bufferKinds(h: Hyper): string[] {
    return h.momentum !== 0 ? ['momentum_buffer'] : [];
  }

  protected update(p: Param, _t: number, W: TypedArray, G: TypedArray): void {
    const lr = this.hyper.lr as number;
    const wd = this.hyper.weightDecay as number;
    const mu = this.hyper.momentum as number;
    const damp = 1 - (this.hyper.dampening as number);
    const n = W.length;
    if (mu === 0) {
      for (let i = 0; i < n; i++) W[i] -= lr * (G[i] + wd * W[i]);
      return;
    }
    const first = this.state('momentum_buffer', p) === undefined;
    const B = this.stateOrInit('momentum_buffer', p);
    const nesterov = this.hyper.nesterov as boolean;
    for (let i = 0; i < n; i++) {
      const g = G[i] + wd * W[i];
      B[i] = first ? g : mu * B[i] + damp * g;
      W[i] -= lr * (nesterov ? g + mu * B[i] : B[i]);
    }
  }
}
