import { Tensor, div as divK, mul as mulK, neg as negK, sumToShape } from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';
import { NONE, NoAttrs, lift } from './_util';

// y = a / b   da = Σ dy / b   db = −Σ (dy / b) ⊙ y      (y/b = a/b², from the saved output)
export const divOp: OpDef<NoAttrs> = {
  name: 'div',
  forward: ([a, b]) => {
    const y = divK(a, b);
    return { outputs: [y], saved: [b, y] };
  },
  vjp: ([dy], [b, y], _attrs, [aRef, bRef]) => {
    const q = divK(dy, b);
    return [sumToShape(q, aRef.shape), sumToShape(negK(mulK(q, y)), bRef.shape)];
  },
};

export const div = (a: Tensor | number, b: Tensor | number): Tensor => apply1(divOp, lift('div', a, b), NONE);
