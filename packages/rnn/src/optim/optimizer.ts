import { Tensor, TensorError, TypedArray, full, residentPays, sameShape, shapeStr, toResident } from '@unfold/tensor';
import { Hyper, OptionSpec, copyHyper, nonNegative, resolveHyper } from './hyper';
import { Param, assertFinite, checkParams, gradArray, valueArray } from './param';

export type OptimizerKind = 'sgd' | 'rmsprop' | 'adagrad' | 'adam' | 'adamw';

/**
 * Everything needed to resume an optimizer bit-identically: JSON-able metadata plus named
 * tensors (so a checkpoint can store them as they are).
 *   buffers: `${buffer}.${param}`, e.g. `exp_avg.weight_ih_l0`, each with its parameter's shape
 *            and dtype. A buffer that was never created (its parameter never had a gradient)
 *            is simply absent, as in PyTorch's per-parameter `state`.
 *   paramSteps: per-parameter update counts (Adam's bias correction, Adagrad's lr decay). A
 *            parameter skipped because its grad was null is not counted, as in PyTorch.
 */
export interface OptimizerState {
  kind: OptimizerKind;
  /** step() calls so far. */
  step: number;
  /** Resolved hyper-parameters, lr included. */
  hyper: Hyper;
  paramSteps: Record<string, number>;
  buffers: Record<string, Tensor>;
}

/**
 * Base of every optimizer. Subclasses give their option table, the buffers they keep and a
 * per-parameter `update` over flat typed arrays; the base does validation, NaN screening,
 * step counting and state save/load.
 *
 * Numerics: the update runs in JS doubles and is stored into the parameter's own dtype, so a
 * float64 model follows PyTorch's float64 formulas to rounding, and a float32 one to within
 * float32 rounding of each stored quantity (PyTorch rounds every intermediate instead).
 */
export abstract class Optimizer {
  readonly params: readonly Param[];
  protected hyper: Hyper;
  private stepCount = 0;
  private readonly paramSteps = new Map<string, number>();
  /** `${buffer}.${param}` → flat contiguous tensor shaped like the parameter. */
  private readonly buffers = new Map<string, Tensor>();

  protected constructor(
    readonly kind: OptimizerKind,
    /** Class name used in error messages: `Adam.step: …`. */
    readonly label: string,
    private readonly spec: OptionSpec,
    params: readonly Param[],
    opts: unknown,
  ) {
    checkParams(label, params);
    this.params = params.slice();
    this.hyper = resolveHyper(label, spec, opts);
    this.validate(this.hyper);
  }

  /** Cross-option checks (e.g. Nesterov needs momentum); throw a TensorError naming `label`. */
  protected validate(_h: Hyper): void {}

  /** Names of the per-parameter buffers this configuration keeps once a parameter has been stepped. */
  protected abstract bufferKinds(h: Hyper): string[];

  /**
   * One parameter's update. W and G are the parameter's and gradient's elements (W is a view:
   * write into it); t is this parameter's step count, 1 on its first update.
   */
  protected abstract update(p: Param, t: number, W: TypedArray, G: TypedArray): void;

  get lr(): number {
    return this.hyper.lr as number;
  }

  /**
   * Set by a schedule each step: `opt.lr = schedule(step)`. Unlike the constructor option
   * (lr > 0), 0 is accepted here because schedules legitimately reach it (cosine to minLr = 0);
   * negative, NaN and ±Inf are errors.
   */
  set lr(value: number) {
    this.hyper.lr = nonNegative(this.label, 'lr', value);
  }

  /** Number of step() calls so far. */
  get steps(): number {
    return this.stepCount;
  }

  /** A copy of the resolved hyper-parameters. */
  get options(): Hyper {
    return copyHyper(this.hyper);
  }

  /**
   * Updates every parameter that has a gradient. All gradients are checked first (shape,
   * dtype, contiguity, finiteness), so a NaN in the last one leaves every weight and buffer
   * untouched and the error names the parameter.
   */
  step(): void {
    const op = `${this.label}.step`;
    const live: { p: Param; W: TypedArray; G: TypedArray }[] = [];
    for (const p of this.params) {
      if (p.grad === null) continue;
      const W = valueArray(op, p);
      const G = gradArray(op, p);
      assertFinite(op, p.name, 'gradient', G, p.value.shape);
      live.push({ p, W, G });
    }
    this.stepCount++;
    for (const { p, W, G } of live) {
      const t = (this.paramSteps.get(p.name) ?? 0) + 1;
      this.paramSteps.set(p.name, t);
      this.update(p, t, W, G);
    }
  }

  /** PyTorch's default `zero_grad(set_to_none=True)`; pass false to fill with zeros instead. */
  zeroGrad(setToNone = true): void {
    for (const p of this.params) {
      if (p.grad === null) continue;
      if (setToNone) p.grad = null;
      else gradArray(`${this.label}.zeroGrad`, p).fill(0);
    }
  }

  /** The buffer `kind` of parameter p, or undefined if not created yet. */
  protected state(kind: string, p: Param): TypedArray | undefined {
    const t = this.buffers.get(`${kind}.${p.name}`);
    if (t === undefined) return undefined;
    if (t.size !== p.value.size) {
      throw new TensorError(`${this.label}.step`, `buffer ${kind}.${p.name} has shape ${shapeStr(t.shape)} but the parameter now has ${shapeStr(p.value.shape)}`);
    }
    return t.data;
  }

  /** The buffer `kind` of p, created filled with `init` on first use. */
  protected stateOrInit(kind: string, p: Param, init = 0): TypedArray {
    const s = this.state(kind, p);
    if (s !== undefined) return s;
    const z = full(p.value.shape, init, p.value.dtype);
    // in the arena beside the weights when that pays, so the wasm update reads them in place
    const t = z.dtype === 'float32' && residentPays() ? toResident(z) : z;
    this.buffers.set(`${kind}.${p.name}`, t);
    return t.data;
  }

  /** A deep copy: later steps do not change a saved state. */
  stateDict(): OptimizerState {
    const buffers: Record<string, Tensor> = {};
    const paramSteps: Record<string, number> = {};
    for (const p of this.params) {
      const t = this.paramSteps.get(p.name);
      if (t !== undefined) paramSteps[p.name] = t;
      for (const kind of this.bufferKinds(this.hyper)) {
        const b = this.buffers.get(`${kind}.${p.name}`);
        if (b !== undefined) buffers[`${kind}.${p.name}`] = b.clone();
      }
    }
    return { kind: this.kind, step: this.stepCount, hyper: copyHyper(this.hyper), paramSteps, buffers };
  }

  /**
   * Restores hyper-parameters, step counts and buffers (copied). Everything is validated
   * before anything is assigned, so a bad state leaves the optimizer as it was.
   */
  loadStateDict(s: OptimizerState): void {
    const op = `${this.label}.loadStateDict`;
    if (s === null || typeof s !== 'object') throw new TensorError(op, `state must be an object, got ${s === null ? 'null' : typeof s}`);
    if (s.kind !== this.kind) throw new TensorError(op, `state is for optimizer '${String(s.kind)}', this one is '${this.kind}'`);
    if (!isCount(s.step)) throw new TensorError(op, `step must be a non-negative integer, got ${String(s.step)}`);
    if (s.hyper === null || typeof s.hyper !== 'object') throw new TensorError(op, 'state has no hyper-parameters');
    const missing = Object.keys(this.spec).filter((k) => !(k in s.hyper));
    if (missing.length > 0) throw new TensorError(op, `hyper-parameters lack ${missing.join(', ')}`);
    // lr may have been scheduled down to 0 (see the lr setter).
    const hyper = resolveHyper(op, { ...this.spec, lr: { default: 0, rule: nonNegative } }, s.hyper);
    this.validate(hyper);

    const byName = new Map(this.params.map((p) => [p.name, p]));
    const steps = new Map<string, number>();
    for (const [name, t] of Object.entries(s.paramSteps ?? {})) {
      if (!byName.has(name)) throw new TensorError(op, `step count for unknown parameter '${name}' (parameters: ${[...byName.keys()].join(', ')})`);
      if (!isCount(t)) throw new TensorError(op, `step count of '${name}' must be a non-negative integer, got ${String(t)}`);
      if (t > 0) steps.set(name, t);
    }

    const kinds = this.bufferKinds(hyper);
    const buffers = new Map<string, Tensor>();
    for (const [key, b] of Object.entries(s.buffers ?? {})) {
      const dot = key.indexOf('.');
      const kind = dot < 0 ? key : key.slice(0, dot);
      const p = dot < 0 ? undefined : byName.get(key.slice(dot + 1));
      if (!kinds.includes(kind)) throw new TensorError(op, `unexpected buffer '${key}' (this configuration keeps: ${kinds.join(', ') || 'none'})`);
      if (p === undefined) throw new TensorError(op, `buffer '${key}' names no parameter of this optimizer`);
      if (!(b instanceof Tensor)) throw new TensorError(op, `buffer '${key}' is not a Tensor`);
      if (b.dtype !== p.value.dtype || !sameShape(b.shape, p.value.shape)) {
        throw new TensorError(op, `buffer '${key}' is ${b.dtype} ${shapeStr(b.shape)}, parameter '${p.name}' is ${p.value.dtype} ${shapeStr(p.value.shape)}`);
      }
      buffers.set(key, b.dtype === 'float32' && residentPays() ? toResident(b) : b.clone()); // a copy either way (toResident copies)
    }
    for (const [name] of steps) {
      for (const kind of kinds) {
        if (!buffers.has(`${kind}.${name}`)) throw new TensorError(op, `parameter '${name}' has been stepped but buffer '${kind}.${name}' is missing`);
      }
    }

    this.hyper = hyper;
    this.stepCount = s.step;
    this.paramSteps.clear();
    for (const [k, v] of steps) this.paramSteps.set(k, v);
    this.buffers.clear();
    for (const [k, v] of buffers) this.buffers.set(k, v);
  }
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}
