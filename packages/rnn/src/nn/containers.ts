import { Tensor, TensorError } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { Module } from './module';
import { CompileOptions, Compiled, History, KerasFitOptions, compile, evaluate, fitXY, predict } from '../train/keras';
import { XInput, YInput } from '../train/dataloader';
import type { Logs } from '../train/callbacks';
import { summary } from './summary';

/**
 * Containers, as torch.nn's: children are registered under their index or key, so parameters
 * get qualified names (`0.weight`, `1.weight`, `encoder.bias`) and two layers of the same kind
 * can share one optimizer and one state dict.
 */

/** torch.nn.ModuleList: an indexed list of registered modules. */
export class ModuleList<M extends Module = Module> extends Module {
  private readonly items: M[] = [];

  constructor(modules: readonly M[] = []) {
    super();
    if (!Array.isArray(modules)) throw new TensorError('ModuleList', `expected an array of modules, got ${typeof modules}`);
    modules.forEach((m) => this.append(m));
  }

  append(m: M): this {
    if (!(m instanceof Module)) throw new TensorError('ModuleList', `item ${this.items.length} is not a Module (got ${m === null ? 'null' : typeof m})`);
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
    return this;
  }

  get(i: number): M {
    if (!Number.isInteger(i) || i < -this.items.length || i >= this.items.length) throw new TensorError('ModuleList', `index ${i} is out of range for ${this.items.length} modules`);
    return this.items[i < 0 ? i + this.items.length : i];
  }

  get length(): number {
    return this.items.length;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
}

/** torch.nn.ModuleDict: modules by name, in insertion order. */
export class ModuleDict<M extends Module = Module> extends Module {
  private readonly items = new Map<string, M>();

  constructor(modules: Readonly<Record<string, M>> = {}) {
    super();
    if (modules === null || typeof modules !== 'object') throw new TensorError('ModuleDict', `expected an object of name → module, got ${modules === null ? 'null' : typeof modules}`);
    for (const [k, m] of Object.entries(modules)) this.set(k, m);
  }

  set(key: string, m: M): this {
    if (typeof key !== 'string' || key === '' || key.includes('.')) throw new TensorError('ModuleDict', `key must be a non-empty string without '.', got '${String(key)}'`);
    if (!(m instanceof Module)) throw new TensorError('ModuleDict', `'${key}' is not a Module (got ${m === null ? 'null' : typeof m})`);
    if (this.items.has(key)) throw new TensorError('ModuleDict', `duplicate key '${key}'`);
    this.registerModule(key, m);
    this.items.set(key, m);
    return this;
  }

  get(key: string): M {
    const m = this.items.get(key);
    if (!m) throw new TensorError('ModuleDict', `no module '${key}' (have: ${[...this.items.keys()].join(', ')})`);
    return m;
  }

  has(key: string): boolean {
    return this.items.has(key);
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  entries(): [string, M][] {
    return [...this.items.entries()];
  }
}

/** What flows between the layers of a Sequential besides the tensor: per-example lengths. */
export interface SequentialContext {
  lengths?: ArrayLike<number>;
}

/** A layer a Sequential can hold: a module whose forward takes the previous output. */
export type SequentialLayer = Module & { forward(x: Tensor, ctx?: SequentialContext): Tensor | { output: Tensor } };

/**
 * torch.nn.Sequential / keras.Sequential: each layer's output is the next one's input.
 * A recurrent layer's `{ output, hN }` passes on its `output` (every step, Keras'
 * return_sequences=True); wrap it in `LastStep` for the final state only (many-to-one).
 * `lengths` (padded batches) are handed to every layer; recurrent layers use them.
 */
export class Sequential extends Module {
  readonly layers: SequentialLayer[] = [];

  constructor(...layers: SequentialLayer[]) {
    super();
    layers.forEach((l) => this.add(l));
  }

  add(layer: SequentialLayer): this {
    if (!(layer instanceof Module) || typeof (layer as { forward?: unknown }).forward !== 'function') {
      throw new TensorError('Sequential', `layer ${this.layers.length} must be a Module with a forward method, got ${layer === null ? 'null' : (layer as object)?.constructor?.name ?? typeof layer}`);
    }
    this.registerModule(String(this.layers.length), layer);
    this.layers.push(layer);
    return this;
  }

  forward(x: Tensor, ctx: SequentialContext = {}): Tensor {
    return this.trace(x, ctx).output;
  }

  /** Keras: choose the optimizer, loss and metrics (train/keras.ts). */
  compile(o: CompileOptions): Compiled {
    return compile(this, o);
  }

  /** Keras' model.fit(x, y, { batchSize, epochs, validationData | validationSplit, shuffle, callbacks }). */
  fit(x: XInput, y: YInput, o: KerasFitOptions = {}): History {
    return fitXY(this, x, y, o);
  }

  evaluate(x: XInput, y: YInput, o: { batchSize?: number } = {}): Logs {
    return evaluate(this, x, y, o);
  }

  predict(x: XInput, o: { batchSize?: number } = {}): Tensor {
    return predict(this, x, o);
  }

  /** Keras' model.summary(), as text (print it yourself); output shapes need an example input. */
  summary(input?: Tensor, ctx: SequentialContext = {}): string {
    return summary(this, input, ctx);
  }

  /** forward, keeping every layer's output shape (for `summary`). */
  trace(x: Tensor, ctx: SequentialContext = {}): { output: Tensor; shapes: number[][] } {
    if (this.layers.length === 0) throw new TensorError('Sequential', 'has no layers');
    const shapes: number[][] = [];
    let y = x;
    this.layers.forEach((l, i) => {
      const r = ctx.lengths === undefined ? l.forward(y) : l.forward(y, { lengths: ctx.lengths });
      const out = r instanceof Tensor ? r : r && (r as { output?: unknown }).output instanceof Tensor ? (r as { output: Tensor }).output : null;
      if (!out) throw new TensorError('Sequential', `layer ${i} (${l.constructor.name}) returned ${typeof r}, not a Tensor or { output }`);
      shapes.push(out.shape.slice());
      y = out;
    });
    return { output: y, shapes };
  }
}

/** What LastStep wraps: a recurrent layer (LSTM, GRU, SimpleRNN). */
interface Recurrent extends Module {
  readonly numLayers: number;
  readonly directions: number;
  readonly hiddenSize: number;
  readonly ext?: { mergeMode: 'concat' | 'sum' | 'mul' | 'ave' };
  forward(x: Tensor, input?: { lengths?: ArrayLike<number> }): { output: Tensor; hN: Tensor };
}

/**
 * Keras' return_sequences=False: a recurrent layer's final state of the top layer,
 * [B, D·H] (both directions concatenated, or merged by the layer's mergeMode), taken at each
 * example's own length.
 */
export class LastStep extends Module {
  constructor(readonly layer: Recurrent) {
    super();
    if (!(layer instanceof Module) || typeof layer.numLayers !== 'number') throw new TensorError('LastStep', 'expects a recurrent layer (LSTM, GRU, SimpleRNN)');
    this.registerModule('layer', layer);
  }

  forward(x: Tensor, ctx: SequentialContext = {}): Tensor {
    const { hN } = ctx.lengths === undefined ? this.layer.forward(x) : this.layer.forward(x, { lengths: ctx.lengths }); // [L·D, B, H]
    const { numLayers: L, directions: D } = this.layer;
    const top = Array.from({ length: D }, (_, d) => ad.slice(hN, (L - 1) * D + d)); // D × [B, H]
    if (D === 1) return top[0];
    // as the layer merges its outputs (Keras' Bidirectional merges the final states the same way)
    switch (this.layer.ext?.mergeMode ?? 'concat') {
      case 'sum': return ad.add(top[0], top[1]); // [B, H]
      case 'mul': return ad.mul(top[0], top[1]);
      case 'ave': return ad.mul(ad.add(top[0], top[1]), 0.5);
      default: return ad.concat(top, 1); // [B, D·H]
    }
  }
}

/** A parameter-free function as a layer (an activation, a reshape). */
export class Lambda extends Module {
  constructor(readonly fn: (x: Tensor) => Tensor, readonly label = 'Lambda') {
    super();
    if (typeof fn !== 'function') throw new TensorError('Lambda', `fn must be a function, got ${typeof fn}`);
  }
  forward(x: Tensor): Tensor {
    return this.fn(x);
  }
}
