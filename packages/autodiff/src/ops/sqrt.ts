import { Tensor, sqrt as sqrtK, div as divK, mul as mulK } from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';
import { NONE, NoAttrs } from './_util';

// y = √x              dx = dy / (2y)
export const sqrtOp: OpDef<NoAttrs> = {
  name: 'sqrt',
  forward: ([x]) => {
    const y = sqrtK(x);
    return { outputs: [y], saved: [y] };
  },
  vjp: ([dy], [y]) => [divK(dy, mulK(y, 2))],
};

export const sqrt = (x: Tensor): Tensor => apply1(sqrtOp, [x], NONE);
