import { Rng, Tensor, TensorError } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { Module } from './module';

/** Inverted dropout while training; the identity in eval mode. */
export class Dropout extends Module {
  constructor(readonly p: number, private readonly rng: Rng = new Rng(0)) {
    super();
    if (!(p >= 0 && p < 1)) throw new TensorError('Dropout', `p must be in [0, 1), got ${p}`);
    this.registerRng('rng', rng);
  }

  forward(x: Tensor): Tensor {
    return ad.dropout(x, this.p, { training: this.training, rng: this.rng });
  }
}
