import { Tensor, sigmoid as sigmoidK, mul as mulK, sub as subK } from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';
import { NONE, NoAttrs } from './_util';

// y = σ(x)            dx = dy ⊙ y ⊙ (1 − y)
export const sigmoidOp: OpDef<NoAttrs> = {
  name: 'sigmoid',
  forward: ([x]) => {
    const y = sigmoidK(x);
    return { outputs: [y], saved: [y] };
  },
  vjp: ([dy], [y]) => [mulK(dy, mulK(y, subK(1, y)))],
};

export const sigmoid = (x: Tensor): Tensor => apply1(sigmoidOp, [x], NONE);
