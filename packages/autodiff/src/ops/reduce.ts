import { Tensor, div as divK, equal, max as maxK, mul as mulK, normAxes, sum as sumK } from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';

export interface ReduceAttrs {
  axes: number[]; // normalised, sorted
  keepDims: boolean;
}

/** The reduced shape with kept (size-1) axes, so dy broadcasts back over the input. */
function keptShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

// y = Σ_axes x          dx = broadcast(dy)
export const sumOp: OpDef<ReduceAttrs> = {
  name: 'sum',
  forward: ([x], { axes, keepDims }) => ({ outputs: [sumK(x, axes, keepDims)], saved: [] }),
  vjp: ([dy], _s, { axes }, [xRef]) => [dy.reshape(keptShape(xRef.shape, axes)).broadcastTo(xRef.shape)],
};

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

export const sum = (x: Tensor, axes?: number | number[], keepDims = false): Tensor =>
  apply1(sumOp, [x], { axes: normAxes('sum', axes, x.rank), keepDims });

export const max = (x: Tensor, axes?: number | number[], keepDims = false): Tensor =>
  apply1(maxOp, [x], { axes: normAxes('max', axes, x.rank), keepDims });
