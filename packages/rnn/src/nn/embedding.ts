import { DType, Rng, Tensor, TensorError, normal } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { Module } from './module';

/** Rows of a [num, dim] table by integer id, as torch.nn.Embedding (init N(0, 1)). */
export class Embedding extends Module {
  readonly weight: Tensor;

  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, opts: { rng?: Rng; dtype?: DType } = {}) {
    super();
    for (const [n, v] of [['numEmbeddings', numEmbeddings], ['embeddingDim', embeddingDim]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new TensorError('Embedding', `${n} must be a positive integer, got ${v}`);
    }
    this.weight = this.registerParam('weight', normal([numEmbeddings, embeddingDim], 0, 1, { rng: opts.rng ?? new Rng(0), dtype: opts.dtype })).value;
  }

  /** ids (any shape, integers in [0, num)) → [...ids.shape, dim]. */
  forward(ids: Tensor | ArrayLike<number>): Tensor {
    return ad.gather(this.weight, ids);
  }
}
