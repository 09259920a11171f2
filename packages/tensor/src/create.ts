import { DType, TypedArray, allocArray, isDType } from './dtype';
import { TensorError } from './errors';
import { checkShape, sizeOf } from './shape';
import { Tensor } from './tensor';

function checkDType(op: string, dtype: DType): void {
  if (!isDType(dtype)) throw new TensorError(op, `unknown dtype ${String(dtype)} (expected float32 or float64)`);
}

export function zeros(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  checkDType('zeros', dtype);
  return Tensor.empty(checkShape('zeros', shape), dtype);
}

export function full(shape: readonly number[], value: number, dtype: DType = 'float32'): Tensor {
  checkDType('full', dtype);
  if (typeof value !== 'number') throw new TensorError('full', `value must be a number, got ${typeof value}`);
  const t = Tensor.empty(checkShape('full', shape), dtype);
  t.data.fill(value);
  return t;
}

export function ones(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  return full(shape, 1, dtype);
}

export const zerosLike = (t: Tensor): Tensor => zeros(t.shape, t.dtype);
export const onesLike = (t: Tensor): Tensor => ones(t.shape, t.dtype);
export const fullLike = (t: Tensor, v: number): Tensor => full(t.shape, v, t.dtype);

/** Nested arrays of numbers → shape, rejecting ragged or non-numeric input. */
function inferShape(values: unknown): number[] {
  const shape: number[] = [];
  let v = values;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0];
  }
  return shape;
}

function flatten(values: unknown, shape: readonly number[], depth: number, out: number[], path: string): void {
  if (depth === shape.length) {
    if (typeof values !== 'number') throw new TensorError('tensor', `element at ${path || '[]'} is ${typeof values}, not a number`);
    out.push(values);
    return;
  }
  if (!Array.isArray(values) || values.length !== shape[depth]) {
    throw new TensorError('tensor', `ragged nested array: expected length ${shape[depth]} at ${path || 'top level'}, got ${Array.isArray(values) ? values.length : typeof values}`);
  }
  for (let i = 0; i < values.length; i++) flatten(values[i], shape, depth + 1, out, `${path}[${i}]`);
}

/**
 * A tensor from a number, nested arrays, or a flat array/typed array plus a shape.
 * A typed array of the requested dtype is copied (use `Tensor.fromArray` to wrap without copying).
 */
export function tensor(values: number | unknown[] | ArrayLike<number>, shape?: readonly number[], dtype: DType = 'float32'): Tensor {
  checkDType('tensor', dtype);
  if (typeof values === 'number') {
    if (shape && shape.length !== 0) throw new TensorError('tensor', 'a scalar value takes shape [] or no shape');
    const t = Tensor.empty([], dtype);
    t.data[0] = values;
    return t;
  }
  if (Array.isArray(values) && shape === undefined) {
    const s = inferShape(values);
    const flat: number[] = [];
    flatten(values, s, 0, flat, '');
    return Tensor.fromArray(toTyped(flat, dtype), s);
  }
  const s = checkShape('tensor', shape ?? [values.length]);
  if (sizeOf(s) !== values.length) {
    throw new TensorError('tensor', `shape [${s.join(',')}] needs ${sizeOf(s)} elements, got ${values.length}`);
  }
  for (let i = 0; i < values.length; i++) {
    if (typeof values[i] !== 'number') throw new TensorError('tensor', `element ${i} is ${typeof values[i]}, not a number`);
  }
  return Tensor.fromArray(toTyped(values as ArrayLike<number>, dtype), s);
}

function toTyped(values: ArrayLike<number>, dtype: DType): TypedArray {
  const out = allocArray(dtype, values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i];
  return out;
}

/** [start, stop) by step, as NumPy's arange; `arange(n)` is 0…n-1. */
export function arange(start: number, stop?: number, step = 1, dtype: DType = 'float32'): Tensor {
  if (stop === undefined) {
    stop = start;
    start = 0;
  }
  if (!Number.isFinite(start) || !Number.isFinite(stop) || !Number.isFinite(step) || step === 0) {
    throw new TensorError('arange', `needs finite start/stop and a non-zero step, got (${start}, ${stop}, ${step})`);
  }
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const t = Tensor.empty([n], dtype);
  for (let i = 0; i < n; i++) t.data[i] = start + i * step;
  return t;
}

/** Identity matrix [n, m] (m defaults to n). */
export function eye(n: number, m = n, dtype: DType = 'float32'): Tensor {
  const t = zeros([n, m], dtype);
  for (let i = 0; i < Math.min(n, m); i++) t.data[i * m + i] = 1;
  return t;
}
