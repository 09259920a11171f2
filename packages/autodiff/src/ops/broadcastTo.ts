import { Tensor, sumToShape } from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';

// Shape ops are views forward; their VJPs put dy back where the values came from.

// y = broadcastTo(x, s)    dx = Σ over the broadcast axes
export const broadcastToOp: OpDef<{ shape: number[] }> = {
  name: 'broadcastTo',
  forward: ([x], { shape }) => ({ outputs: [x.broadcastTo(shape)], saved: [] }),
  vjp: ([dy], _s, _a, [xRef]) => [sumToShape(dy, xRef.shape)],
};

export const broadcastTo = (x: Tensor, shape: number[]): Tensor => apply1(broadcastToOp, [x], { shape });
