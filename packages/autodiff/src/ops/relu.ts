import { Tensor, relu as reluK, mul as mulK, greater } from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';
import { NONE, NoAttrs } from './_util';

// y = max(x, 0)       dx = dy ⊙ [y > 0]   (subgradient 0 at x = 0, as PyTorch)
export const reluOp: OpDef<NoAttrs> = {
  name: 'relu',
  forward: ([x]) => {
    const y = reluK(x);
    return { outputs: [y], saved: [y] };
  },
  vjp: ([dy], [y]) => [mulK(dy, greater(y, 0))],
};

export const relu = (x: Tensor): Tensor => apply1(reluOp, [x], NONE);
