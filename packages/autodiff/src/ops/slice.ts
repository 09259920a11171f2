import { SliceSpec, Tensor, addInPlace } from '@unfold/tensor';
import { ACCUMULATED, OpDef } from '../op';
import { apply1 } from '../tape';

// Shape ops are views forward; their VJPs put dy back where the values came from.

// y = x[specs]             dx[specs] += dy, straight into x's adjoint buffer
// (not a zeros(x.shape) per slice: slicing x_t out of [T, B, …] every step would make the
// backward pass O(T²) in memory traffic).
export const sliceOp: OpDef<{ specs: SliceSpec[] }> = {
  name: 'slice',
  forward: ([x], { specs }) => ({ outputs: [x.slice(...specs)], saved: [] }),
  vjp: ([dy], _s, { specs }, _in, _needs, acc) => {
    addInPlace(acc(0).slice(...specs), dy);
    return [ACCUMULATED];
  },
};

export const slice = (x: Tensor, ...specs: SliceSpec[]): Tensor => apply1(sliceOp, [x], { specs });
