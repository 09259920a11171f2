import { OpDef } from '../op';
import { addOp } from './add';
import { concatOp } from './concat';
import { crossEntropyOp } from './crossEntropy';
import { linearCrossEntropyOp } from './linearCrossEntropy';
import { divOp } from './div';
import { dropoutOp } from './dropout';
import { gatherOp } from './gather';
import { logSoftmaxOp } from './logSoftmax';
import { linearOp } from './linear';
import { matmulOp } from './matmul';
import { mulOp } from './mul';
import { maxOp } from './max';
import { sumOp } from './sum';
import { broadcastToOp } from './broadcastTo';
import { permuteOp } from './permute';
import { reshapeOp } from './reshape';
import { sliceOp } from './slice';
import { subOp } from './sub';
import { absOp } from './abs';
import { clipOp } from './clip';
import { expOp } from './exp';
import { logOp } from './log';
import { negOp } from './neg';
import { powOp } from './pow';
import { reluOp } from './relu';
import { sigmoidOp } from './sigmoid';
import { sqrtOp } from './sqrt';
import { tanhOp } from './tanh';
import { whereOp } from './where';

/**
 * The primitives: every op with a hand-written VJP, in one table. Adding a name to OpName
 * without a definition (or a definition without a vjp) is a compile error.
 * Everything else (mean, softmax, logSumExp, mse, stack, split, transpose, …) is composed
 * from these in composed.ts.
 */
export type OpName =
  | 'add' | 'sub' | 'mul' | 'div' | 'neg' | 'exp' | 'log' | 'tanh' | 'sigmoid' | 'relu' | 'sqrt' | 'abs' | 'pow' | 'clip'
  | 'where' | 'matmul' | 'sum' | 'max' | 'reshape' | 'permute' | 'slice' | 'broadcastTo' | 'concat' | 'gather'
  | 'dropout' | 'logSoftmax' | 'crossEntropy' | 'linear' | 'linearCrossEntropy';

export const OPS = {
  add: addOp, sub: subOp, mul: mulOp, div: divOp, neg: negOp, exp: expOp, log: logOp, tanh: tanhOp, sigmoid: sigmoidOp,
  relu: reluOp, sqrt: sqrtOp, abs: absOp, pow: powOp, clip: clipOp, where: whereOp, matmul: matmulOp, sum: sumOp, max: maxOp,
  reshape: reshapeOp, permute: permuteOp, slice: sliceOp, broadcastTo: broadcastToOp, concat: concatOp, gather: gatherOp,
  dropout: dropoutOp, logSoftmax: logSoftmaxOp, crossEntropy: crossEntropyOp, linear: linearOp, linearCrossEntropy: linearCrossEntropyOp,
} satisfies Record<OpName, OpDef<any>>; // eslint-disable-line @typescript-eslint/no-explicit-any

export { add } from './add';
export { sub } from './sub';
export { linear } from './linear';
export { mul } from './mul';
export { div } from './div';
export { neg } from './neg';
export { exp } from './exp';
export { log } from './log';
export { tanh } from './tanh';
export { sigmoid } from './sigmoid';
export { relu } from './relu';
export { sqrt } from './sqrt';
export { abs } from './abs';
export { pow } from './pow';
export { clip } from './clip';
export { where } from './where';
export { matmul, MatmulAttrs } from './matmul';
export { sum } from './sum';
export { max } from './max';
export { reshape } from './reshape';
export { permute } from './permute';
export { slice } from './slice';
export { broadcastTo } from './broadcastTo';
export { concat } from './concat';
export { gather, Indices } from './gather';
export { dropout } from './dropout';
export { logSoftmax } from './logSoftmax';
export { crossEntropy } from './crossEntropy';
export { linearCrossEntropy } from './linearCrossEntropy';
export { mean, square, softmax, logSumExp, maximum, minimum, mse, transpose, unsqueeze, squeeze, stack, split } from './composed';
