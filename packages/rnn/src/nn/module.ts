import { Rng, Tensor, TensorError, residentPays, sameShape, shapeStr, toResident } from '@unfold/tensor';
import { Param } from '../optim/param';

/** Every registered parameter's value tensor → its record and owner (for computeGradients' check). */
const REGISTERED = new WeakMap<Tensor, { param: Param; owner: string }>();

/** The parameter record a tensor is the value of, if a module registered it. */
export function registeredParam(t: Tensor): { param: Param; owner: string } | undefined {
  return REGISTERED.get(t);
}

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
  private readonly rngs = new Map<string, Rng>();

  protected registerParam(name: string, value: Tensor): Param {
    if (this.ownParams.has(name) || this.children.has(name)) throw new TensorError(this.constructor.name, `duplicate name '${name}'`);
    // With the wasm backend, float32 weights live in the wasm arena: GEMMs read them in place.
    const p: Param = { name, value: value.dtype === 'float32' && residentPays() ? toResident(value) : value, grad: null };
    this.ownParams.set(name, p);
    REGISTERED.set(p.value, { param: p, owner: this.constructor.name });
    return p;
  }

  /** A random generator the module draws from while training (dropout), saved in checkpoints. */
  protected registerRng(name: string, rng: Rng): Rng {
    this.rngs.set(name, rng);
    return rng;
  }

  /** Every registered generator's state by qualified name, so a resumed run draws the same masks. */
  rngStates(prefix = ''): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [n, r] of this.rngs) out[prefix + n] = r.getState();
    for (const [n, c] of this.children) Object.assign(out, c.rngStates(`${prefix}${n}.`));
    return out;
  }

  setRngStates(states: Record<string, number[]>, prefix = ''): void {
    for (const [n, r] of this.rngs) {
      const s = states[prefix + n];
      if (!s) throw new TensorError(this.constructor.name, `no random state for '${prefix + n}' in the checkpoint`);
      r.setState(s);
    }
    for (const [n, c] of this.children) c.setRngStates(states, `${prefix}${n}.`);
  }

  protected registerModule<M extends Module>(name: string, m: M): M {
    if (this.ownParams.has(name) || this.children.has(name)) throw new TensorError(this.constructor.name, `duplicate name '${name}'`);
    this.children.set(name, m);
    return m;
  }

  /** The direct children, [name, module], in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.children.entries()];
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
   * Copies values in from a state dict (Tensors, or `{ shape, data }` entries as a PyTorch JSON
   * export holds them; values are converted to each parameter's dtype). Every problem is
   * collected first — missing names, unexpected names, wrong shapes, wrong counts, non-finite
   * values — and reported together in one error; nothing is written unless everything fits
   * (never a half-loaded model).
   */
  loadStateDict(sd: Record<string, Tensor | { shape: number[]; data: ArrayLike<number> }>): void {
    const who = this.constructor.name;
    if (sd === null || typeof sd !== 'object' || sd instanceof Tensor) throw new TensorError('loadStateDict', `${who}: expected an object of name → tensor, got ${sd === null ? 'null' : typeof sd}`);
    const own = new Map(this.namedParameters());
    const has = (n: string): boolean => Object.prototype.hasOwnProperty.call(sd, n);
    const problems: string[] = [];
    const missing = [...own.keys()].filter((n) => !has(n));
    const extra = Object.keys(sd).filter((n) => !own.has(n));
    if (missing.length) problems.push(`missing: ${missing.join(', ')}`);
    if (extra.length) problems.push(`unexpected: ${extra.join(', ')}`);
    const staged: [Param, ArrayLike<number>][] = [];
    for (const [n, p] of own) {
      if (!has(n)) continue;
      const v: unknown = sd[n];
      const isT = v instanceof Tensor;
      const entry = v as { shape?: unknown; data?: unknown };
      if (!isT && (v === null || typeof v !== 'object')) {
        problems.push(`${n}: ${v === null ? 'null' : typeof v}, not a tensor or { shape, data }`);
        continue;
      }
      const shape = isT ? (v as Tensor).shape : entry.shape;
      if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
        problems.push(`${n}: no valid shape (got ${JSON.stringify(shape)})`);
        continue;
      }
      if (!sameShape(shape, p.value.shape)) {
        problems.push(`${n}: shape ${shapeStr(shape)}, expected ${shapeStr(p.value.shape)}`);
        continue;
      }
      const data = isT ? (v as Tensor).toFlatArray() : entry.data;
      if (data === null || typeof data !== 'object' || typeof (data as ArrayLike<number>).length !== 'number') {
        problems.push(`${n}: data is ${data === null ? 'null' : typeof data}, not an array of numbers`);
        continue;
      }
      const arr = data as ArrayLike<number>;
      if (arr.length !== p.value.size) {
        problems.push(`${n}: ${arr.length} values for shape ${shapeStr(shape)} (needs ${p.value.size})`);
        continue;
      }
      const bad = firstBad(arr);
      if (bad >= 0) {
        problems.push(`${n}: non-finite value ${String(arr[bad])} at flat index ${bad}`);
        continue;
      }
      staged.push([p, arr]);
    }
    if (problems.length) throw new TensorError('loadStateDict', `${who} state dict does not fit (nothing was loaded) — ${problems.join('; ')}`);
    for (const [p, data] of staged) {
      // params are contiguous (optimizers rely on it too), so element i sits at offset + i
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

/** Index of the first entry that is not a finite number (NaN, ±Inf, a string, …), or -1. */
function firstBad(a: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (typeof a[i] !== 'number' || !Number.isFinite(a[i])) return i;
  return -1;
}
