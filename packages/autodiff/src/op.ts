import { Tensor } from '@unfold/tensor';

/**
 * One differentiable operation, defined once: its forward (built from @unfold/tensor kernels)
 * and, beside it, its vector–Jacobian product.
 *
 *   forward(inputs, attrs) → outputs, and the tensors backward will need (`saved`)
 *   vjp(dys, saved, attrs, inputs) → one adjoint per input (null = that input gets no gradient)
 *
 * `dys[k]` is ∂L/∂outputs[k] (zeros when that output was unused); `inputs` passed to vjp are
 * only shapes/dtypes (ValueRef), never tensors: whatever numbers backward needs must be declared in
 * `saved`, so that the tape holds exactly what it says it holds. `needs[k]` is false for inputs
 * that are constants (nothing differentiable depends on them): an op may return null there and
 * skip the work (matmul against a one-hot input, say).
 */
export interface OpDef<A = Record<string, never>> {
  readonly name: string;
  /**
   * The vjp only reads its dys during the call: it returns none of them as an input's adjoint
   * and keeps none (nothing deferred). backward may then hand an unused output a scratch zero
   * buffer it gives back right after the call, instead of fresh zeros (a layer's final states
   * hN, cN in a loss that reads only the outputs, on every training step).
   */
  readonly readsAdjointsOnly?: boolean;
  forward(inputs: readonly Tensor[], attrs: A): { outputs: Tensor[]; saved: Tensor[] };
  vjp(
    dys: readonly Tensor[], saved: readonly Tensor[], attrs: A, inputs: readonly ValueRef[], needs: readonly boolean[],
    acc: (k: number) => Tensor,
    defer: <P extends Deferred>(k: number, make: (buffer: Tensor) => P) => P,
  ): (Tensor | null | typeof ACCUMULATED)[];
}

/**
 * A contribution to an input's adjoint that an op collects over several records and adds in
 * one go (see `defer` below). `flush()` adds everything collected into the buffer it was made
 * with; it is called exactly once, before anything else reads or adds to that adjoint, or at
 * the end of the backward pass, whichever comes first.
 *
 * Why: each time step's dW_hh += dG_tᵀ·h_{t−1} is a GEMM with K = B (32) — mostly load/store
 * of the [G·H, H] accumulator. Collecting the rows of several steps makes one GEMM with
 * K = steps·B, which runs several times faster for the same sum.
 * `defer(k, make)` returns this backward pass's deferred accumulator for input k, creating it
 * with make(acc(k)) on first use; the vjp then returns ACCUMULATED for k.
 */
export interface Deferred {
  flush(): void;
}

/**
 * What a vjp returns for input k when it has added its contribution itself into `acc(k)`: the
 * adjoint accumulated so far for that input, an owned contiguous buffer of its shape (zeros if
 * none yet). A weight shared by every time step (W_hh) then receives each step's gradient by a
 * GEMM with β = 1 straight into one buffer, instead of a fresh [G·H, H] tensor per step plus an add.
 */
export const ACCUMULATED = Symbol('accumulated');

/** How a tape record names a value: its tensor's id, shape and dtype (printed as %id[shape]). */
export interface ValueRef {
  readonly id: number;
  readonly shape: readonly number[];
  readonly dtype: Tensor['dtype'];
}

export function refOf(t: Tensor): ValueRef {
  return { id: t.id, shape: t.shape, dtype: t.dtype };
}
