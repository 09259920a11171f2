import { TypedArray } from '@unfold/tensor';
import { OptionSpec, nonNegative, positive } from './hyper';
import { Optimizer } from './optimizer';
import { Param } from './param';

export interface AdagradOptions {
  lr?: number;
  lrDecay?: number;
  weightDecay?: number;
  initialAccumulatorValue?: number;
  eps?: number;
}

const SPEC: OptionSpec = {
  lr: { default: 1e-2, rule: positive },
  lrDecay: { default: 0, rule: nonNegative },
  weightDecay: { default: 0, rule: nonNegative },
  initialAccumulatorValue: { default: 0, rule: nonNegative },
  eps: { default: 1e-10, rule: nonNegative },
};

/**
 * torch.optim.Adagrad, per element, at this parameter's step t = 1, 2, …:
 *   g ← g + λ·w
 *   clr = lr / (1 + (t − 1)·lrDecay)
 *   s ← s + g²                          sum, starting at initialAccumulatorValue
 *   w ← w − clr·g / (√s + ε)
 */
export class Adagrad extends Optimizer {
  constructor(params: readonly Param[], opts: AdagradOptions = {}) {
    super('adagrad', 'Adagrad', SPEC, params, opts);
  }

  protected bufferKinds(): string[] {
    return ['sum'];
  }

  protected update(p: Param, t: number, W: TypedArray, G: TypedArray): void {
    const wd = this.hyper.weightDecay as number;
    const eps = this.hyper.eps as number;
    const clr = (this.hyper.lr as number) / (1 + (t - 1) * (this.hyper.lrDecay as number));
    const S = this.stateOrInit('sum', p, this.hyper.initialAccumulatorValue as number);
    const n = W.length;
    for (let i = 0; i < n; i++) {
      const g = G[i] + wd * W[i];
      S[i] += g * g;
      W[i] -= (clr * g) / (Math.sqrt(S[i]) + eps);
    }
  }
}
