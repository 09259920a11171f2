import { Tensor, neg as negK } from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';
import { NONE, NoAttrs } from './_util';

// y = −x              dx = −dy
export const negOp: OpDef<NoAttrs> = {
  name: 'neg',
  forward: ([x]) => ({ outputs: [negK(x)], saved: [] }),
  vjp: ([dy]) => [negK(dy)],
};

export const neg = (x: Tensor): Tensor => apply1(negOp, [x], NONE);
