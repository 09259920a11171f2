import { Tensor, exp as expK, mul as mulK } from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';
import { NONE, NoAttrs } from './_util';

// y = eˣ              dx = dy ⊙ y
export const expOp: OpDef<NoAttrs> = {
  name: 'exp',
  forward: ([x]) => {
    const y = expK(x);
    return { outputs: [y], saved: [y] };
  },
  vjp: ([dy], [y]) => [mulK(dy, y)],
};

export const exp = (x: Tensor): Tensor => apply1(expOp, [x], NONE);
