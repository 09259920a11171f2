import { Tensor, abs as absK, mul as mulK, sub as subK, greater, neg as negK } from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';
import { NONE, NoAttrs } from './_util';

// y = |x|             dx = dy ⊙ sign(x)   (0 at x = 0)
export const absOp: OpDef<NoAttrs> = {
  name: 'abs',
  forward: ([x]) => ({ outputs: [absK(x)], saved: [x] }),
  vjp: ([dy], [x]) => [mulK(dy, subK(greater(x, 0), greater(negK(x), 0)))],
};

export const abs = (x: Tensor): Tensor => apply1(absOp, [x], NONE);
