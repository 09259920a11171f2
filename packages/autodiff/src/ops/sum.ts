import { Tensor, normAxes, sum as sumK } from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';
import { ReduceAttrs, keptShape } from './_reduce';

// y = Σ_axes x          dx = broadcast(dy)
export const sumOp: OpDef<ReduceAttrs> = {
  name: 'sum',
  forward: ([x], { axes, keepDims }) => ({ outputs: [sumK(x, axes, keepDims)], saved: [] }),
  vjp: ([dy], _s, { axes }, [xRef]) => [dy.reshape(keptShape(xRef.shape, axes)).broadcastTo(xRef.shape)],
};

export const sum = (x: Tensor, axes?: number | number[], keepDims = false): Tensor =>
  apply1(sumOp, [x], { axes: normAxes('sum', axes, x.rank), keepDims });

