import { Tensor, pow as powK, mul as mulK } from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';

// y = xᵖ (p a constant)   dx = dy ⊙ p xᵖ⁻¹
export const powOp: OpDef<{ p: number }> = {
  name: 'pow',
  forward: ([x], { p }) => ({ outputs: [powK(x, p)], saved: [x] }),
  vjp: ([dy], [x], { p }) => [mulK(dy, mulK(powK(x, p - 1), p))],
};

export const pow = (x: Tensor, p: number): Tensor => apply1(powOp, [x], { p });
