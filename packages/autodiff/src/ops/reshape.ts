import { Tensor } from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';

// Shape ops are views forward; their VJPs put dy back where the values came from.

// y = reshape(x, s)        dx = reshape(dy, x.shape)
export const reshapeOp: OpDef<{ shape: number[] }> = {
  name: 'reshape',
  forward: ([x], { shape }) => ({ outputs: [x.reshape(shape)], saved: [] }),
  vjp: ([dy], _s, _a, [xRef]) => [dy.reshape(xRef.shape.slice())],
};

export const reshape = (x: Tensor, shape: number[]): Tensor => apply1(reshapeOp, [x], { shape });
