import { Tensor, TensorError, greaterEqual, sameShape, shapeStr, normAxes, normAxis, sizeOf, sum as sumK } from '@unfold/tensor';
import { noGrad, detach } from '../tape';
import { add } from './add';
import { permute } from './permute';
import { reshape } from './reshape';
import { slice } from './slice';
import { concat } from './concat';
import { div } from './div';
import { logSoftmax } from './logSoftmax';
import { max as maxR } from './max';
import { sum } from './sum';
import { mul } from './mul';
import { sub } from './sub';
import { exp } from './exp';
import { log } from './log';
import { pow } from './pow';
import { where } from './where';

// Composites: built from the primitives above, so their gradients come for free and are
// checked by the same gradient tests. Nothing here has a hand-written VJP.

export function mean(x: Tensor, axes?: number | number[], keepDims = false): Tensor {
  const ax = normAxes('mean', axes, x.rank);
  const n = sizeOf(ax.map((a) => x.shape[a]));
  return div(sum(x, ax, keepDims), n);
}

export const square = (x: Tensor): Tensor => pow(x, 2);

export const softmax = (x: Tensor, axis = -1): Tensor => exp(logSoftmax(x, axis));

// log Σ exp(x) = m + log Σ exp(x − m) with m = max(x) held constant (any m gives the same
// value and gradient; the max keeps exp from overflowing).
export function logSumExp(x: Tensor, axes?: number | number[], keepDims = false): Tensor {
  const ax = normAxes('logSumExp', axes, x.rank);
  const m = noGrad(() => detach(maxR(x, ax, true)));
  const s = log(sum(exp(sub(x, m)), ax, true));
  const y = add(s, m);
  return keepDims ? y : reshape(y, x.shape.filter((_, i) => !ax.includes(i)));
}

export const maximum = (a: Tensor, b: Tensor): Tensor => where(greaterEqual(a, b), a, b);
export const minimum = (a: Tensor, b: Tensor): Tensor => where(greaterEqual(b, a), a, b);

/**
 * Mean squared error. With `mask` (0/1, broadcastable to a) only observed entries count and the
 * mean is over them. NaN is rejected rather than masked: NaN · 0 is NaN in both directions, so a
 * missing target must be replaced (e.g. by 0) and marked 0 in the mask.
 */
export function mse(a: Tensor, b: Tensor, mask?: Tensor): Tensor {
  // No broadcasting between prediction and target: [4, 1] against [4] would silently become a
  // [4, 4] grid of every prediction against every target (PyTorch only warns).
  if (!sameShape(a.shape, b.shape)) throw new TensorError('mse', `prediction ${shapeStr(a.shape)} and target ${shapeStr(b.shape)} differ in shape (mse does not broadcast; reshape one of them)`);
  for (const [name, t] of [['prediction', a], ['target', b]] as const) {
    if (t.toFlatArray().some((v) => Number.isNaN(v))) {
      throw new TensorError('mse', `${name} contains NaN; replace missing values and pass a mask that is 0 there`);
    }
  }
  const d2 = pow(sub(a, b), 2);
  if (!mask) return mean(d2);
  const w = mask.broadcastTo(d2.shape); // a constant: the mask gets no gradient
  const count = sumK(w).item();
  return div(sum(mul(d2, w)), Math.max(1, count));
}

export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const i = normAxis('transpose', a, x.rank);
  const j = normAxis('transpose', b, x.rank);
  const axes = Array.from({ length: x.rank }, (_, k) => k);
  axes[i] = j;
  axes[j] = i;
  return permute(x, axes);
}

export function unsqueeze(x: Tensor, axis: number): Tensor {
  const ax = normAxis('unsqueeze', axis, x.rank + 1);
  const s = x.shape.slice();
  s.splice(ax, 0, 1);
  return reshape(x, s);
}

export function squeeze(x: Tensor, axis: number): Tensor {
  const ax = normAxis('squeeze', axis, x.rank);
  if (x.shape[ax] !== 1) throw new TensorError('squeeze', `axis ${axis} has size ${x.shape[ax]}, not 1`);
  return reshape(x, x.shape.filter((_, i) => i !== ax));
}

export function stack(xs: Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new TensorError('stack', 'needs at least one tensor');
  const ax = normAxis('stack', axis, xs[0].rank + 1);
  return concat(xs.map((x) => unsqueeze(x, ax)), ax);
}

/** Pieces along axis: a number = equal chunks of that size, an array = the sizes. */
export function split(x: Tensor, sizes: number | number[], axis = 0): Tensor[] {
  const ax = normAxis('split', axis, x.rank);
  const dim = x.shape[ax];
  const list = typeof sizes === 'number' ? (dim % sizes === 0 && sizes > 0 ? new Array(dim / sizes).fill(sizes) : null) : sizes;
  if (!list || list.reduce((a, b) => a + b, 0) !== dim || list.some((s) => !Number.isInteger(s) || s < 0)) {
    throw new TensorError('split', `sizes ${JSON.stringify(sizes)} do not split axis ${ax} of size ${dim}`);
  }
  const out: Tensor[] = [];
  let start = 0;
  for (const s of list) {
    const specs = new Array(ax).fill(null);
    specs.push({ start, stop: start + s });
    out.push(slice(x, ...specs));
    start += s;
  }
  return out;
}
