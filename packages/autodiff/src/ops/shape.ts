import { SliceSpec, Tensor, addInPlace, sumToShape } from '@unfold/tensor';
import { ACCUMULATED, OpDef } from '../op';
import { apply1 } from '../tape';

// Shape ops are views forward; their VJPs put dy back where the values came from.

// y = reshape(x, s)        dx = reshape(dy, x.shape)
export const reshapeOp: OpDef<{ shape: number[] }> = {
  name: 'reshape',
  forward: ([x], { shape }) => ({ outputs: [x.reshape(shape)], saved: [] }),
  vjp: ([dy], _s, _a, [xRef]) => [dy.reshape(xRef.shape.slice())],
};

// y = permute(x, p)        dx = permute(dy, p⁻¹)
export const permuteOp: OpDef<{ axes: number[] }> = {
  name: 'permute',
  forward: ([x], { axes }) => ({ outputs: [x.permute(axes)], saved: [] }),
  vjp: ([dy], _s, { axes }) => {
    const inv = new Array<number>(axes.length);
    axes.forEach((a, i) => (inv[(a + axes.length) % axes.length] = i));
    return [dy.permute(inv)];
  },
};

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

// y = broadcastTo(x, s)    dx = Σ over the broadcast axes
export const broadcastToOp: OpDef<{ shape: number[] }> = {
  name: 'broadcastTo',
  forward: ([x], { shape }) => ({ outputs: [x.broadcastTo(shape)], saved: [] }),
  vjp: ([dy], _s, _a, [xRef]) => [sumToShape(dy, xRef.shape)],
};

export const reshape = (x: Tensor, shape: number[]): Tensor => apply1(reshapeOp, [x], { shape });
export const permute = (x: Tensor, axes: number[]): Tensor => apply1(permuteOp, [x], { axes });
export const slice = (x: Tensor, ...specs: SliceSpec[]): Tensor => apply1(sliceOp, [x], { specs });
export const broadcastTo = (x: Tensor, shape: number[]): Tensor => apply1(broadcastToOp, [x], { shape });
