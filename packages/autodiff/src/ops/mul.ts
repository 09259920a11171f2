import { Tensor, mul as mulK, sumToShape } from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';
import { NONE, NoAttrs, lift } from './_util';

// y = a ⊙ b   da = Σ dy ⊙ b   db = Σ dy ⊙ a
export const mulOp: OpDef<NoAttrs> = {
  name: 'mul',
  forward: ([a, b]) => ({ outputs: [mulK(a, b)], saved: [a, b] }),
  vjp: ([dy], [a, b]) => [sumToShape(mulK(dy, b), a.shape), sumToShape(mulK(dy, a), b.shape)],
};

export const mul = (a: Tensor | number, b: Tensor | number): Tensor => apply1(mulOp, lift('mul', a, b), NONE);
