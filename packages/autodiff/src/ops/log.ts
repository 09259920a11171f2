import { Tensor, log as logK, div as divK } from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';
import { NONE, NoAttrs } from './_util';

// y = ln x            dx = dy / x
export const logOp: OpDef<NoAttrs> = {
  name: 'log',
  forward: ([x]) => ({ outputs: [logK(x)], saved: [x] }),
  vjp: ([dy], [x]) => [divK(dy, x)],
};

export const log = (x: Tensor): Tensor => apply1(logOp, [x], NONE);
