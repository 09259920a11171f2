import { Tensor, TensorError, tensor } from '@unfold/tensor';

type NoAttrs = Record<string, never>;
export const NONE: NoAttrs = {};
export type { NoAttrs };

/** A number operand becomes a rank-0 constant of the other operand's dtype (never tracked). */
export function lift(op: string, a: Tensor | number, b: Tensor | number): [Tensor, Tensor] {
  if (a instanceof Tensor && b instanceof Tensor) return [a, b];
  if (a instanceof Tensor && typeof b === 'number') return [a, tensor(b, [], a.dtype)];
  if (typeof a === 'number' && b instanceof Tensor) return [tensor(a, [], b.dtype), b];
  throw new TensorError(op, `expected tensors or numbers, got ${typeof a} and ${typeof b}`);
}
