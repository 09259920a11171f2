import { Tensor, TensorError } from '@unfold/tensor';
import { Gradients, backward } from './backward';
import { Tape } from './tape';

/** Any nesting of arrays and plain objects with tensors at the leaves. */
export type TensorTree = Tensor | readonly TensorTree[] | { readonly [k: string]: TensorTree };

export function treeLeaves(tree: TensorTree, out: Tensor[] = []): Tensor[] {
  if (tree instanceof Tensor) out.push(tree);
  else if (Array.isArray(tree)) for (const t of tree) treeLeaves(t, out);
  else if (tree !== null && typeof tree === 'object') for (const k of Object.keys(tree)) treeLeaves((tree as Record<string, TensorTree>)[k], out);
  else throw new TensorError('grad', `inputs must be tensors or arrays/objects of tensors, found ${tree === null ? 'null' : typeof tree}`);
  return out;
}

export function treeMap<T extends TensorTree>(tree: T, f: (t: Tensor) => Tensor): T {
  if (tree instanceof Tensor) return f(tree) as T;
  if (Array.isArray(tree)) return tree.map((t) => treeMap(t, f)) as unknown as T;
  const out: Record<string, TensorTree> = {};
  for (const k of Object.keys(tree)) out[k] = treeMap((tree as Record<string, TensorTree>)[k], f);
  return out as T;
}

export interface GradOptions {
  seed?: Tensor;
  checkNumerics?: boolean;
}

/**
 * valueAndGrad(f)(x) = { value: f(x), grads: ∂f/∂x } for a tree of tensors x.
 * f must return a Tensor; a non-scalar one needs `seed`. An input that f does not use
 * gets a zero gradient (documented: disconnected inputs are not an error).
 */
export function valueAndGrad<T extends TensorTree>(f: (x: T) => Tensor, opts: GradOptions = {}): (x: T) => { value: Tensor; grads: T; tape: Tape } {
  return (x: T) => {
    const tape = new Tape();
    tape.watch(...treeLeaves(x));
    const value = tape.run(() => f(x));
    if (!(value instanceof Tensor)) {
      throw new TensorError('grad', `the function returned ${value === null ? 'null' : typeof value}, not a Tensor; only a Tensor output can be differentiated`);
    }
    const g: Gradients = backward(tape, value, opts);
    return { value, grads: treeMap(x, (t) => g.get(t)), tape };
  };
}

/** grad(f)(x) = ∂f/∂x, the same tree shape as x. */
export function grad<T extends TensorTree>(f: (x: T) => Tensor, opts: GradOptions = {}): (x: T) => T {
  const vg = valueAndGrad(f, opts);
  return (x: T) => vg(x).grads;
}
