import { Tensor, exp as expK, logSoftmax as logSoftmaxK, mul as mulK, normAxis, sub as subK, sum as sumK } from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';

// Fused and stable: y = x − max − log Σ exp(x − max)   (never overflows)
// dx = dy − softmax(x) ⊙ Σ_axis dy,  softmax(x) = exp(y) from the saved output.
// Tested against its composed twin x − logSumExp(x).
export const logSoftmaxOp: OpDef<{ axis: number }> = {
  name: 'logSoftmax',
  forward: ([x], { axis }) => {
    const y = logSoftmaxK(x, axis);
    return { outputs: [y], saved: [y] };
  },
  vjp: ([dy], [y], { axis }) => [subK(dy, mulK(expK(y), sumK(dy, axis, true)))],
};

export const logSoftmax = (x: Tensor, axis = -1): Tensor => apply1(logSoftmaxOp, [x], { axis: normAxis('logSoftmax', axis, x.rank) });
