import { Tensor, TensorError, shapeStr } from '@unfold/tensor';
import { Param } from '../optim/param';

/**
 * The base of every layer and model, as torch.nn.Module: named parameters and named
 * children, so that `stateDict()` gives PyTorch's dotted names (`rnn.weight_ih_l0`,
 * `fc.bias`) and `loadStateDict` can take a PyTorch export as it is.
 * Parameters are `Param { name, value, grad }` records: `value` is updated in place by an
 * optimizer, `grad` is filled in after a backward pass (read it by name).
 */
export abstract class Module {
  training = true;
  private readonly ownParams = new Map<string, Param>();
  private readonly children = new Map<string, Module>();

  protected registerParam(name: string, value: Tensor): Param {
    if (this.ownParams.has(name) || this.children.has(name)) throw new TensorError(this.constructor.name, `duplicate name '${name}'`);
    const p: Param = { name, value, grad: null };
    this.ownParams.set(name, p);
    return p;
  }

  protected registerModule<M extends Module>(name: string, m: M): M {
    if (this.ownParams.has(name) || this.children.has(name)) throw new TensorError(this.constructor.name, `duplicate name '${name}'`);
    this.children.set(name, m);
    return m;
  }

  /** [qualified name, param] in registration order, children after own parameters. */
  namedParameters(prefix = ''): [string, Param][] {
    const out: [string, Param][] = [];
    for (const [n, p] of this.ownParams) out.push([prefix + n, p]);
    for (const [n, c] of this.children) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }

  /**
   * Parameters with qualified names, as optimizers take them. The returned records are the
   * module's own (same value tensor, same grad slot), renamed to their qualified names.
   */
  parameters(): Param[] {
    return this.namedParameters().map(([name, p]) => {
      p.name = name;
      return p;
    });
  }

  /** A parameter by qualified name (for reading `.grad` after backward). */
  param(name: string): Param {
    const hit = this.namedParameters().find(([n]) => n === name);
    if (!hit) throw new TensorError(this.constructor.name, `no parameter '${name}' (have: ${this.namedParameters().map(([n]) => n).join(', ')})`);
    return hit[1];
  }

  numParameters(): number {
    return this.namedParameters().reduce((a, [, p]) => a + p.value.size, 0);
  }

  /** name → tensor (the live values: clone before mutating). */
  stateDict(): Record<string, Tensor> {
    const sd: Record<string, Tensor> = {};
    for (const [n, p] of this.namedParameters()) sd[n] = p.value;
    return sd;
  }

  /**
   * Copies values in from a state dict. Every problem is collected first — missing names,
   * unexpected names, wrong shapes, non-finite values — and reported together in one error;
   * nothing is written unless everything fits (never a half-loaded model).
   */
  loadStateDict(sd: Record<string, Tensor | { shape: number[]; data: ArrayLike<number> }>): void {
    const own = new Map(this.namedParameters());
    const problems: string[] = [];
    const missing = [...own.keys()].filter((n) => !(n in sd));
    const extra = Object.keys(sd).filter((n) => !own.has(n));
    if (missing.length) problems.push(`missing: ${missing.join(', ')}`);
    if (extra.length) problems.push(`unexpected: ${extra.join(', ')}`);
    const staged: [Param, ArrayLike<number>, Tensor | null][] = [];
    for (const [n, p] of own) {
      const v = sd[n];
      if (v === undefined) continue;
      const shape = v instanceof Tensor ? v.shape : v.shape;
      if (!Array.isArray(shape) && !(v instanceof Tensor)) {
        problems.push(`${n}: no shape`);
        continue;
      }
      if (shape.length !== p.value.rank || shape.some((d, i) => d !== p.value.shape[i])) {
        problems.push(`${n}: shape ${shapeStr(shape)}, expected ${shapeStr(p.value.shape)}`);
        continue;
      }
      const data = v instanceof Tensor ? v.toFlatArray() : v.data;
      if (data.length !== p.value.size) {
        problems.push(`${n}: ${data.length} values for shape ${shapeStr(shape)}`);
        continue;
      }
      for (let i = 0; i < data.length; i++) {
        if (!Number.isFinite(data[i])) {
          problems.push(`${n}: non-finite value ${data[i]} at index ${i}`);
          break;
        }
      }
      staged.push([p, data, v instanceof Tensor ? v : null]);
    }
    if (problems.length) throw new TensorError('loadStateDict', `${this.constructor.name} state dict does not fit — ${problems.join('; ')}`);
    for (const [p, data] of staged) {
      const d = p.value.data;
      for (let i = 0; i < data.length; i++) d[p.value.offset + i] = data[i];
    }
  }

  train(on = true): this {
    this.training = on;
    for (const c of this.children.values()) c.train(on);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  zeroGrad(): void {
    for (const [, p] of this.namedParameters()) p.grad = null;
  }
}
