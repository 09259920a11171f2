import { Rng, Tensor, TensorError, bernoulli, mul as mulK, scaleInPlace } from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';

// Inverted dropout: m ~ Bernoulli(1 − p) / (1 − p),  y = x ⊙ m,  dx = dy ⊙ m (the saved mask).
// At evaluation time (training = false) it is the identity and records nothing.
export const dropoutOp: OpDef<{ mask: Tensor }> = {
  name: 'dropout',
  forward: ([x], { mask }) => ({ outputs: [mulK(x, mask)], saved: [mask] }),
  vjp: ([dy], [mask]) => [mulK(dy, mask)],
};

export function dropout(x: Tensor, p: number, opts: { training?: boolean; rng?: Rng } = {}): Tensor {
  if (!(p >= 0 && p < 1)) throw new TensorError('dropout', `p must be in [0, 1), got ${p}`);
  if (opts.training === false || p === 0) return x;
  const mask = bernoulli(x.shape, 1 - p, { rng: opts.rng, dtype: x.dtype });
  scaleInPlace(mask, 1 / (1 - p));
  return apply1(dropoutOp, [x], { mask });
}
