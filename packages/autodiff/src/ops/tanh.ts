import { Tensor, tanh as tanhK, mul as mulK, sub as subK } from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';
import { NONE, NoAttrs } from './_util';

// y = tanh x          dx = dy ⊙ (1 − y²)
export const tanhOp: OpDef<NoAttrs> = {
  name: 'tanh',
  forward: ([x]) => {
    const y = tanhK(x);
    return { outputs: [y], saved: [y] };
  },
  vjp: ([dy], [y]) => [mulK(dy, subK(1, mulK(y, y)))],
};

export const tanh = (x: Tensor): Tensor => apply1(tanhOp, [x], NONE);
