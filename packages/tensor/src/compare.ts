import { TensorError, shapeStr } from './errors';
import { forEachRow } from './iter';
import { EQ, GE, GT, LE, LT, NE, binary } from './binary';
import { broadcastStrides, checkSameDType, checkTensor, coalesce } from './operands';
import { broadcastShapes, sameShape } from './shape';
import { Tensor } from './tensor';

/**
 * Comparisons give 1 where the relation holds and 0 elsewhere, in the input dtype, so a mask
 * multiplies straight into a float tensor. NaN compares false to everything (notEqual: true).
 */
export function greater(a: Tensor | number, b: Tensor | number): Tensor {
  return binary(GT, 'greater', a, b);
}
export function greaterEqual(a: Tensor | number, b: Tensor | number): Tensor {
  return binary(GE, 'greaterEqual', a, b);
}
export function less(a: Tensor | number, b: Tensor | number): Tensor {
  return binary(LT, 'less', a, b);
}
export function lessEqual(a: Tensor | number, b: Tensor | number): Tensor {
  return binary(LE, 'lessEqual', a, b);
}
export function equal(a: Tensor | number, b: Tensor | number): Tensor {
  return binary(EQ, 'equal', a, b);
}
export function notEqual(a: Tensor | number, b: Tensor | number): Tensor {
  return binary(NE, 'notEqual', a, b);
}

/**
 * out = cond ≠ 0 ? a : b, broadcasting all three. cond may be either dtype (only ≠ 0 is
 * read; NaN counts as true); the output takes the dtype of the tensor operand(s) a/b, or
 * cond's when both are numbers.
 */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  checkTensor('where', cond, 'cond');
  for (const [v, name] of [[a, 'a'], [b, 'b']] as const) {
    if (!(v instanceof Tensor) && typeof v !== 'number') throw new TensorError('where', `${name} must be a Tensor or a number, got ${typeof v}`);
  }
  if (a instanceof Tensor && b instanceof Tensor) checkSameDType('where', a, b);
  const dtype = a instanceof Tensor ? a.dtype : b instanceof Tensor ? b.dtype : cond.dtype;
  const scalar = (v: number): Tensor => {
    const t = Tensor.empty([], dtype);
    t.data[0] = v;
    return t;
  };
  const at = a instanceof Tensor ? a : scalar(a);
  const bt = b instanceof Tensor ? b : scalar(b);
  let shape: number[];
  try {
    shape = broadcastShapes('where', broadcastShapes('where', cond.shape, at.shape), bt.shape);
  } catch {
    throw new TensorError('where', `shapes cond ${shapeStr(cond.shape)}, a ${shapeStr(at.shape)}, b ${shapeStr(bt.shape)} cannot be broadcast together`);
  }
  const out = Tensor.empty(shape, dtype);
  const C = cond.data, A = at.data, B = bt.data, O = out.data;
  if (sameShape(cond.shape, shape) && sameShape(at.shape, shape) && sameShape(bt.shape, shape) && cond.isContiguous() && at.isContiguous() && bt.isContiguous()) {
    const c = cond.offset, ao = at.offset, bo = bt.offset;
    for (let i = 0, n = O.length; i < n; i++) O[i] = C[c + i] !== 0 ? A[ao + i] : B[bo + i];
    return out;
  }
  const k = coalesce(shape, [broadcastStrides(cond, shape), broadcastStrides(at, shape), broadcastStrides(bt, shape), out.strides]);
  const r = k.shape.length;
  const n = r === 0 ? 1 : k.shape[r - 1];
  const [cs, as, bs] = [0, 1, 2].map((j) => (r === 0 ? 0 : k.strides[j][r - 1]));
  forEachRow(k.shape, k.strides, [cond.offset, at.offset, bt.offset, 0], (o) => {
    const c = o[0], ao = o[1], bo = o[2], oo = o[3];
    for (let i = 0; i < n; i++) O[oo + i] = C[c + i * cs] !== 0 ? A[ao + i * as] : B[bo + i * bs];
  });
  return out;
}
