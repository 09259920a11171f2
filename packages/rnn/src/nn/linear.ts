import { DType, Rng, Tensor, TensorError, shapeStr } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { Module } from './module';
import { Param } from '../optim/param';
import { uniformRange } from './init';
import { checkOptions, keysOf } from '../options';

export interface LinearOptions {
  bias?: boolean;
  rng?: Rng;
  dtype?: DType;
}

/** y = x Wᵀ + b over the last axis, as torch.nn.Linear: weight [out, in], bias [out]. */
export class Linear extends Module {
  // Param records, read at each call: a replaced value (a gradient check's copy) is the one used.
  private readonly w: Param;
  private readonly b: Param | null;
  get weight(): Tensor {
    return this.w.value;
  }
  get bias(): Tensor | null {
    return this.b ? this.b.value : null;
  }

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: LinearOptions = {}) {
    super();
    checkOptions('Linear', opts, keysOf<LinearOptions>({ bias: 1, rng: 1, dtype: 1 }));
    for (const [n, v] of [['inFeatures', inFeatures], ['outFeatures', outFeatures]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new TensorError('Linear', `${n} must be a positive integer, got ${v}`);
    }
    const rng = opts.rng ?? new Rng(0);
    const k = 1 / Math.sqrt(inFeatures); // PyTorch: U(±1/√in) for weight and bias
    this.w = this.registerParam('weight', uniformRange([outFeatures, inFeatures], k, rng, opts.dtype));
    this.b = opts.bias === false ? null : this.registerParam('bias', uniformRange([outFeatures], k, rng, opts.dtype));
  }

  /** x: [..., in] → [..., out] */
  forward(x: Tensor): Tensor {
    if (x.rank < 1 || x.shape[x.rank - 1] !== this.inFeatures) {
      throw new TensorError('Linear', `input ${shapeStr(x.shape)} does not end in ${this.inFeatures} features`);
    }
    if (x.dtype !== this.weight.dtype) throw new TensorError('Linear', `input ${shapeStr(x.shape)} is ${x.dtype}, weight is ${this.weight.dtype}`);
    const lead = x.shape.slice(0, -1);
    const x2 = x.rank === 2 ? x : ad.reshape(x, [-1, this.inFeatures]); // [N, in]
    const y = ad.linear(x2, this.weight, this.bias); // [N, in] × [out, in]ᵀ + [out] → [N, out]
    return x.rank === 2 ? y : ad.reshape(y, [...lead, this.outFeatures]);
  }
}
