import { Tensor, neg as negK, sub as subK, sumToShape } from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';
import { NONE, NoAttrs, lift } from './_util';

// y = a − b   da = Σ dy   db = −Σ dy
export const subOp: OpDef<NoAttrs> = {
  name: 'sub',
  forward: ([a, b]) => ({ outputs: [subK(a, b)], saved: [] }),
  vjp: ([dy], _s, _a, [a, b]) => [sumToShape(dy, a.shape), negK(sumToShape(dy, b.shape))],
};

export const sub = (a: Tensor | number, b: Tensor | number): Tensor => apply1(subOp, lift('sub', a, b), NONE);
