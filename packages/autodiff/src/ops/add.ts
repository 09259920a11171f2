import { Tensor, add as addK, sumToShape } from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';
import { NONE, NoAttrs, lift } from './_util';

// y = a + b (broadcast)   da = Σ_broadcast dy   db = Σ_broadcast dy
export const addOp: OpDef<NoAttrs> = {
  name: 'add',
  forward: ([a, b]) => ({ outputs: [addK(a, b)], saved: [] }),
  vjp: ([dy], _s, _a, [a, b]) => [sumToShape(dy, a.shape), sumToShape(dy, b.shape)],
};

export const add = (a: Tensor | number, b: Tensor | number): Tensor => apply1(addOp, lift('add', a, b), NONE);
