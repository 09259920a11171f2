import { Tensor, TensorError, concat as concatK, normAxis, split as splitK } from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';

// y = concat(x₁…xₙ, axis)    dxᵢ = the i-th piece of dy along axis (views)
export const concatOp: OpDef<{ axis: number }> = {
  name: 'concat',
  forward: (xs, { axis }) => ({ outputs: [concatK(xs.slice(), axis)], saved: [] }),
  vjp: ([dy], _s, { axis }, refs) => splitK(dy, refs.map((r) => r.shape[axis]), axis),
};

export function concat(xs: Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new TensorError('concat', 'needs at least one tensor');
  return apply1(concatOp, xs, { axis: normAxis('concat', axis, xs[0].rank) });
}
