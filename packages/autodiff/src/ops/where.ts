import { Tensor, TensorError, mul as mulK, sub as subK, sumToShape, where as whereK } from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';
import { NONE, NoAttrs } from './_util';

// y = cond ? a : b (broadcast)   da = Σ dy ⊙ c   db = Σ dy ⊙ (1 − c)   cond gets no gradient
export const whereOp: OpDef<NoAttrs> = {
  name: 'where',
  forward: ([c, a, b]) => ({ outputs: [whereK(c, a, b)], saved: [c] }),
  vjp: ([dy], [c], _attrs, [, aRef, bRef]) => {
    const m = whereK(c, 1, 0); // cond ≠ 0 → 1
    return [null, sumToShape(mulK(dy, m), aRef.shape), sumToShape(mulK(dy, subK(1, m)), bRef.shape)];
  },
};

export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  if (!(cond instanceof Tensor)) throw new TensorError('where', 'cond must be a Tensor');
  return apply1(whereOp, [cond, a, b], NONE);
}
