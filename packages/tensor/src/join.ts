import { TensorError, shapeStr } from './errors';
import { copyStrided } from './iter';
import { checkTensor } from './operands';
import { normAxis } from './shape';
import { Tensor } from './tensor';

/**
 * Joining and splitting along an axis: concat/stack copy into one new contiguous tensor,
 * split returns views (no copy) — the pair is how per-step hidden states [B,H] become a
 * sequence [T,B,H] and back, and how fused gates [B,4H] become four [B,H].
 */

function checkList(op: string, tensors: readonly Tensor[]): void {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new TensorError(op, 'needs a non-empty array of tensors');
  tensors.forEach((t, i) => checkTensor(op, t, `tensors[${i}]`));
  const d = tensors[0].dtype;
  const bad = tensors.findIndex((t) => t.dtype !== d);
  if (bad >= 0) throw new TensorError(op, `dtype mismatch: tensors[0] is ${d}, tensors[${bad}] is ${tensors[bad].dtype}`);
}

/** Joins along an existing axis; all other dimensions must agree. */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  checkList('concat', tensors);
  const first = tensors[0];
  if (first.rank === 0) throw new TensorError('concat', 'cannot concatenate rank-0 tensors (use stack)');
  const ax = normAxis('concat', axis, first.rank);
  let total = 0;
  tensors.forEach((t, i) => {
    if (t.rank !== first.rank || t.shape.some((d, j) => j !== ax && d !== first.shape[j])) {
      throw new TensorError('concat', `tensors[${i}] ${shapeStr(t.shape)} does not match tensors[0] ${shapeStr(first.shape)} outside axis ${ax}`);
    }
    total += t.shape[ax];
  });
  const shape = first.shape.slice();
  shape[ax] = total;
  const out = Tensor.empty(shape, first.dtype);
  let at = 0;
  for (const t of tensors) {
    // out's slab [at, at + t.shape[ax]) along ax, addressed through out's own strides.
    copyStrided(t.shape, t.data, t.offset, t.strides, out.data, at * out.strides[ax], out.strides);
    at += t.shape[ax];
  }
  return out;
}

/** Joins along a new axis inserted at `axis` (in the output's numbering); all shapes must be equal. */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  checkList('stack', tensors);
  const first = tensors[0];
  const ax = normAxis('stack', axis, first.rank + 1);
  tensors.forEach((t, i) => {
    if (t.rank !== first.rank || t.shape.some((d, j) => d !== first.shape[j])) {
      throw new TensorError('stack', `tensors[${i}] ${shapeStr(t.shape)} differs from tensors[0] ${shapeStr(first.shape)}`);
    }
  });
  return concat(tensors.map((t) => t.unsqueeze(ax)), ax);
}

/**
 * Views of consecutive pieces along `axis`: a number is the size of every piece (it must
 * divide the axis), an array lists the sizes (they must add up to the axis).
 */
export function split(x: Tensor, sizes: number | readonly number[], axis = 0): Tensor[] {
  checkTensor('split', x, 'x');
  if (x.rank === 0) throw new TensorError('split', 'cannot split a rank-0 tensor');
  const ax = normAxis('split', axis, x.rank);
  const dim = x.shape[ax];
  let list: number[];
  if (typeof sizes === 'number') {
    if (!Number.isInteger(sizes) || sizes <= 0 || dim % sizes !== 0) {
      throw new TensorError('split', `chunk size ${sizes} must be a positive integer dividing axis ${ax} of ${shapeStr(x.shape)} (size ${dim})`);
    }
    list = new Array<number>(dim / sizes).fill(sizes);
  } else if (Array.isArray(sizes)) {
    list = sizes.slice();
    const total = list.reduce((a, b) => a + b, 0);
    if (list.some((s) => !Number.isInteger(s) || s < 0) || total !== dim) {
      throw new TensorError('split', `sizes [${list.join(',')}] must be non-negative integers adding up to axis ${ax} of ${shapeStr(x.shape)} (size ${dim})`);
    }
  } else {
    throw new TensorError('split', `sizes must be a number or an array of numbers, got ${typeof sizes}`);
  }
  let at = 0;
  return list.map((s) => {
    const v = x.narrow(ax, at, s);
    at += s;
    return v;
  });
}
