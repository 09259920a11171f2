import { Tensor, TensorError, TypedArray, sameShape, shapeStr } from '@unfold/tensor';

/**
 * A trainable parameter: its value, updated in place by an optimizer, and the gradient of
 * the loss with respect to it (null = no gradient this step; optimizers skip the parameter).
 * Names follow PyTorch (`weight_ih_l0`, `bias_hh_l1`, `decoder.weight`) and key optimizer
 * state and checkpoint tensors, so they must be unique within one optimizer.
 */
export interface Param {
  name: string;
  value: Tensor;
  grad: Tensor | null;
}

/** Unique, non-empty names; a contiguous float value for each (checked once, at construction). */
export function checkParams(op: string, params: readonly Param[]): void {
  if (!Array.isArray(params)) throw new TensorError(op, `params must be an array of { name, value, grad }, got ${typeof params}`);
  const seen = new Set<string>();
  params.forEach((p, i) => {
    if (p === null || typeof p !== 'object' || typeof p.name !== 'string' || p.name === '') {
      throw new TensorError(op, `params[${i}] needs a non-empty string name`);
    }
    if (seen.has(p.name)) throw new TensorError(op, `parameter name '${p.name}' appears twice`);
    seen.add(p.name);
    valueArray(op, p);
  });
}

/**
 * The parameter's elements as a row-major typed array (a subarray view: writes go to the
 * parameter). Optimizers loop over elements, so the value must be contiguous.
 */
export function valueArray(op: string, p: Param): TypedArray {
  return flat(op, p.name, 'value', p.value);
}

/** The gradient's elements, after checking it matches the value in shape and dtype. */
export function gradArray(op: string, p: Param): TypedArray {
  const g = p.grad;
  if (g === null) throw new TensorError(op, `parameter '${p.name}' has no gradient`);
  if (!(g instanceof Tensor)) throw new TensorError(op, `gradient of '${p.name}' is not a Tensor`);
  if (!sameShape(g.shape, p.value.shape)) {
    throw new TensorError(op, `gradient of '${p.name}' has shape ${shapeStr(g.shape)}, parameter has ${shapeStr(p.value.shape)}`);
  }
  if (g.dtype !== p.value.dtype) {
    throw new TensorError(op, `gradient of '${p.name}' is ${g.dtype}, parameter is ${p.value.dtype}`);
  }
  return flat(op, p.name, 'gradient', g);
}

function flat(op: string, name: string, what: string, t: Tensor): TypedArray {
  if (!(t instanceof Tensor)) throw new TensorError(op, `${what} of '${name}' is not a Tensor`);
  if (!t.isContiguous()) {
    throw new TensorError(
      op,
      `${what} of '${name}' must be contiguous (shape ${shapeStr(t.shape)}, strides ${shapeStr(t.strides)}); call .contiguous() first`,
    );
  }
  return t.data.subarray(t.offset, t.offset + t.size);
}

/** Index of the first NaN/±Inf, or -1. */
export function firstNonFinite(a: TypedArray): number {
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    // v - v is 0 for finite v and NaN for NaN/±Inf: one compare, no call.
    if (v - v !== 0) return i;
  }
  return -1;
}

/** Throws naming the parameter and the first offending element when `a` holds NaN or ±Inf. */
export function assertFinite(op: string, name: string, what: string, a: TypedArray, shape: readonly number[]): void {
  const i = firstNonFinite(a);
  if (i >= 0) {
    throw new TensorError(op, `${what} of '${name}' ${shapeStr(shape)} holds ${a[i]} at flat index ${i}; refusing to write non-finite values into the weights`);
  }
}
