import { Tensor, div as divK, equal, max as maxK, mul as mulK, normAxes, sum as sumK } from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';
import { ReduceAttrs, keptShape } from './_reduce';

// y = max_axes x        dx = dy ⊙ [x = y] / #ties   (ties share the gradient evenly, as torch.amax)
export const maxOp: OpDef<ReduceAttrs> = {
  name: 'max',
  forward: ([x], { axes, keepDims }) => {
    const y = maxK(x, axes, keepDims);
    return { outputs: [y], saved: [x, y] };
  },
  vjp: ([dy], [x, y], { axes }, [xRef]) => {
    const kept = keptShape(xRef.shape, axes);
    const hit = equal(x, y.reshape(kept));
    const ties = sumK(hit, axes, true);
    return [mulK(hit, divK(dy.reshape(kept), ties))];
  },
};

export const max = (x: Tensor, axes?: number | number[], keepDims = false): Tensor =>
  apply1(maxOp, [x], { axes: normAxes('max', axes, x.rank), keepDims });
