import { DType, Rng, Tensor, TensorError, normal } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { Module } from './module';
import { Param } from '../optim/param';
import { checkOptions } from '../options';

/** Rows of a [num, dim] table by integer id, as torch.nn.Embedding (init N(0, 1)). */
export class Embedding extends Module {
  private readonly w: Param;
  /** The [num, dim] table (read from the Param at each call). */
  get weight(): Tensor {
    return this.w.value;
  }

  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, opts: { rng?: Rng; dtype?: DType } = {}) {
    super();
    checkOptions('Embedding', opts, ['rng', 'dtype']);
    for (const [n, v] of [['numEmbeddings', numEmbeddings], ['embeddingDim', embeddingDim]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new TensorError('Embedding', `${n} must be a positive integer, got ${v}`);
    }
    this.w = this.registerParam('weight', normal([numEmbeddings, embeddingDim], 0, 1, { rng: opts.rng ?? new Rng(0), dtype: opts.dtype }));
  }

  /** ids (any shape, integers in [0, num)) → [...ids.shape, dim]. */
  forward(ids: Tensor | ArrayLike<number>): Tensor {
    try {
      return ad.gather(this.weight, ids);
    } catch (e) {
      // say which layer: the kernel's message names only `gather` and the table's shape
      if (e instanceof TensorError) throw new TensorError('Embedding', `[${this.numEmbeddings}, ${this.embeddingDim}]: ${e.message}`);
      throw e;
    }
  }
}
