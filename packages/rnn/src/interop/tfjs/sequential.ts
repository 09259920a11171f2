import { DType, Tensor, TensorError, shapeStr, tensor } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { noGrad } from '@unfold/autodiff';
import { Module } from '../../nn/module';
import { Linear } from '../../nn/linear';
import { Embedding } from '../../nn/embedding';
import { GRU, LSTM, RecurrentLayer, SimpleRNN } from '../../layers/recurrent';
import { OP, TfjsModelJson, TfjsWeightData, parseModelJson, readWeights } from './weights';

/**
 * A Keras / TensorFlow.js Sequential model rebuilt from Unfold modules, with its weights. Keras
 * is batch-first: the model takes [B, T, F] (or ids [B, T] when it starts with an Embedding)
 * and gives what the Keras model gives. Layer by layer:
 *
 *   Embedding  embeddings [V, E]                          → Embedding.weight
 *   Dense      kernel [in, out] (y = x·K + b)              → Linear.weight = Kᵀ, bias
 *   SimpleRNN  kernel [I, H], recurrent_kernel [H, H], bias [H]
 *   LSTM       kernel [I, 4H] gates i, f, c, o (= PyTorch's i, f, g, o), bias [4H]
 *   GRU        (reset_after: true) kernel [I, 3H] gates z, r, h, bias [2, 3H] (input, recurrent)
 *              → PyTorch's r, z, n: blocks 1, 0, 2
 * with weight_ih = kernelᵀ, weight_hh = recurrent_kernelᵀ, bias_ih = the (input) bias and
 * bias_hh = 0 (or the recurrent bias row, GRU). Bidirectional's forward and backward layers
 * become the two directions of one layer (merge_mode concat = PyTorch's layout).
 */

export const TFJS_SUPPORTED = 'InputLayer, Embedding, SimpleRNN, LSTM, GRU (reset_after: true), Bidirectional (merge_mode: concat) of those, Dense, TimeDistributed(Dense), Dropout (identity at inference)';
const ACTIVATIONS = ['linear', 'relu', 'tanh', 'sigmoid', 'softmax'] as const;
type Activation = (typeof ACTIVATIONS)[number];

const fail = (msg: string): never => {
  throw new TensorError(OP, msg);
};

interface KerasLayer {
  class_name: string;
  config: Record<string, unknown>;
}

type Step =
  | { kind: 'embedding'; name: string; module: Embedding }
  | { kind: 'dense'; name: string; module: Linear; activation: Activation; timeDistributed: boolean }
  | { kind: 'recurrent'; name: string; module: RecurrentLayer; returnSequences: boolean }
  | { kind: 'identity'; name: string };

/** The layers as Keras names them, then the Unfold forward pass over them. */
export class KerasSequential extends Module {
  readonly steps: Step[] = [];

  constructor(readonly name: string, readonly inputShape: (number | null)[], private readonly idsInput: boolean, readonly dtype: DType) {
    super();
  }

  add(step: Step): void {
    if (step.kind !== 'identity') this.registerModule(step.name, step.module);
    this.steps.push(step);
  }

  /** x [B, T, F] float (or ids [B, T], as a Tensor or values + shape) → the model's output. */
  forward(x: Tensor | ArrayLike<number>, shape?: readonly number[]): Tensor {
    let h: Tensor;
    if (x instanceof Tensor) h = x;
    else if (shape) h = tensor(Array.from(x), shape, this.idsInput ? 'float64' : this.dtype);
    else throw new TensorError('KerasSequential', 'pass a Tensor, or values and their shape');
    for (const s of this.steps) {
      if (s.kind === 'embedding') h = s.module.forward(h);
      else if (s.kind === 'dense') {
        if (s.timeDistributed && h.rank !== 3) throw new TensorError(s.name, `TimeDistributed(Dense) needs [B, T, F], got ${shapeStr(h.shape)}`);
        h = activate(s.module.forward(h), s.activation);
      } else if (s.kind === 'recurrent') {
        if (h.rank !== 3) throw new TensorError(s.name, `a recurrent layer needs [B, T, F], got ${shapeStr(h.shape)} (the layer before it returns only its last step?)`);
        const r = s.module.forward(h);
        if (s.returnSequences) h = r.output; // [B, T, D·H]
        else h = s.module.directions === 2 ? ad.concat([ad.slice(r.hN, 0), ad.slice(r.hN, 1)], 1) : ad.slice(r.hN, 0); // [B, D·H]
      }
    }
    return h;
  }

  /** forward in eval mode without a tape. */
  predict(x: Tensor | ArrayLike<number>, shape?: readonly number[]): Tensor {
    const was = this.training;
    this.eval();
    try {
      return noGrad(() => this.forward(x, shape));
    } finally {
      this.train(was);
    }
  }
}

function activate(x: Tensor, a: Activation): Tensor {
  switch (a) {
    case 'linear': return x;
    case 'relu': return ad.relu(x);
    case 'tanh': return ad.tanh(x);
    case 'sigmoid': return ad.sigmoid(x);
    case 'softmax': return ad.softmax(x, -1);
  }
}

/** Keras activation names (snake_case as saved; tfjs's camelCase accepted too). */
function activation(where: string, v: unknown, allowed: readonly string[]): string {
  const name = v === undefined || v === null ? 'linear' : String(v).replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  if (!allowed.includes(name)) {
    const hint = name === 'hard_sigmoid' ? " (tfjs's default recurrentActivation for LSTM and GRU: build the model with recurrentActivation: 'sigmoid')" : '';
    fail(`${where}: activation '${name}' is not supported${hint} (supported: ${allowed.join(', ')})`);
  }
  return name;
}

/** Options Unfold cannot honour, named; those that only matter while training are accepted. */
function checkRecurrentConfig(where: string, c: Record<string, unknown>): void {
  for (const k of ['go_backwards', 'stateful', 'return_state']) if (c[k] === true) fail(`${where}: ${k}: true is not supported (supported: ${k}: false)`);
  if (c.time_major === true) fail(`${where}: time_major: true is not supported`);
}

/** Rows of m [G·H, …] regrouped block by block in `order`. */
function regroup(data: Float32Array, G: number, order: number[]): Float32Array {
  const blk = data.length / G;
  const out = new Float32Array(data.length);
  order.forEach((g, j) => out.set(data.subarray(g * blk, (g + 1) * blk), j * blk));
  return out;
}

/** [r, c] row-major → its transpose [c, r]. */
function transpose(data: Float32Array, r: number, c: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = data[i * c + j];
  return out;
}

type WeightMap = Map<string, { shape: number[]; data: Float32Array }>;

/** The weights under `layer/…` (and, for Bidirectional, under a forward_… / backward_… part), by their last name. */
function weightsOf(all: WeightMap, used: Set<string>, layer: string, direction?: 'forward' | 'backward'): Record<string, { shape: number[]; data: Float32Array }> {
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [n, w] of all) {
    const parts = n.split('/');
    if (parts[0] !== layer) continue;
    if (direction && !parts.slice(1, -1).some((p) => p.startsWith(direction))) continue;
    const leaf = parts[parts.length - 1].replace(/:\d+$/, '');
    if (leaf in out) fail(`${layer}: two weights named ${leaf}${direction ? ` (${direction})` : ''}`);
    out[leaf] = w;
    used.add(n);
  }
  return out;
}

function need(where: string, w: Record<string, { shape: number[]; data: Float32Array }>, leaf: string, shape: number[]): Float32Array {
  const x = w[leaf];
  if (!x) return fail(`${where}: no weight '${leaf}' in the manifest (have: ${Object.keys(w).join(', ') || 'none'})`);
  if (x.shape.join() !== shape.join()) fail(`${where}: ${leaf} is [${x.shape.join(', ')}], expected [${shape.join(', ')}]`);
  return x.data;
}

const RNN_CLASSES = ['SimpleRNN', 'LSTM', 'GRU'];

/** One recurrent Keras layer (or a Bidirectional pair) → an Unfold layer with its state dict. */
function recurrent(where: string, inner: KerasLayer, inputSize: number, dirs: Record<string, { shape: number[]; data: Float32Array }>[], dtype: DType): RecurrentLayer {
  const c = inner.config;
  checkRecurrentConfig(where, c);
  const H = c.units as number;
  if (!Number.isInteger(H) || H < 1) fail(`${where}: units must be a positive integer, got ${JSON.stringify(c.units)}`);
  const bias = c.use_bias !== false;
  const kind = inner.class_name;
  if (kind === 'GRU' && c.reset_after !== true) {
    fail(`${where}: GRU reset_after: false (the reset gate applied before the recurrent product, tfjs-layers' only GRU) is not supported: Unfold's GRU is PyTorch's, reset_after: true (Keras' default; supported: reset_after: true)`);
  }
  const G = kind === 'LSTM' ? 4 : kind === 'GRU' ? 3 : 1;
  let layer: RecurrentLayer;
  const o = { inputSize, hiddenSize: H, batchFirst: true, bidirectional: dirs.length === 2, bias, dtype };
  if (kind === 'SimpleRNN') layer = new SimpleRNN({ ...o, nonlinearity: activation(where, c.activation ?? 'tanh', ['tanh', 'relu']) as 'tanh' | 'relu' });
  else {
    activation(`${where} activation`, c.activation ?? 'tanh', ['tanh']);
    activation(`${where} recurrent_activation`, c.recurrent_activation ?? 'hard_sigmoid', ['sigmoid']);
    layer = kind === 'LSTM' ? new LSTM(o) : new GRU(o);
  }
  const order = kind === 'GRU' ? [1, 0, 2] : Array.from({ length: G }, (_, i) => i); // Keras z,r,h → PyTorch r,z,n
  const sd: Record<string, { shape: number[]; data: Float32Array }> = {};
  dirs.forEach((w, d) => {
    const sfx = `_l0${d === 1 ? '_reverse' : ''}`;
    const K = need(where, w, 'kernel', [inputSize, G * H]);
    const U = need(where, w, 'recurrent_kernel', [H, G * H]);
    sd[`weight_ih${sfx}`] = { shape: [G * H, inputSize], data: regroup(transpose(K, inputSize, G * H), G, order) };
    sd[`weight_hh${sfx}`] = { shape: [G * H, H], data: regroup(transpose(U, H, G * H), G, order) };
    if (bias) {
      if (kind === 'GRU') {
        const b = need(where, w, 'bias', [2, G * H]);
        sd[`bias_ih${sfx}`] = { shape: [G * H], data: regroup(b.subarray(0, G * H), G, order) };
        sd[`bias_hh${sfx}`] = { shape: [G * H], data: regroup(b.subarray(G * H), G, order) };
      } else {
        sd[`bias_ih${sfx}`] = { shape: [G * H], data: need(where, w, 'bias', [G * H]) };
        sd[`bias_hh${sfx}`] = { shape: [G * H], data: new Float32Array(G * H) };
      }
    }
  });
  layer.loadStateDict(sd);
  return layer;
}

/**
 * model.json (text or object) and its weights → a KerasSequential that computes what the
 * tfjs/Keras model computes. Unsupported layers and options throw, naming the layer and what is
 * supported; every weight in the manifest must be used. No file system: see
 * `loadTfjsLayersModelFile` in @unfold/rnn/node for a model.json path.
 */
export function loadTfjsLayersModel(modelJson: string | object | TfjsModelJson, weights?: TfjsWeightData, opts: { dtype?: DType } = {}): KerasSequential {
  const dtype = opts.dtype ?? 'float32';
  const m = parseModelJson(modelJson);
  const all = readWeights(m, weights);
  let topo = m.modelTopology as Record<string, unknown>;
  if (topo.model_config) topo = topo.model_config as Record<string, unknown>; // Keras' h5-style wrapper
  const cls = topo.class_name;
  if (cls !== 'Sequential') fail(`model class ${JSON.stringify(cls)} is not supported (supported: Sequential; a functional Model must be rebuilt as a Sequential)`);
  const cfg = topo.config as { name?: string; layers?: KerasLayer[] } | KerasLayer[];
  const layers = Array.isArray(cfg) ? cfg : cfg?.layers;
  if (!Array.isArray(layers) || layers.length === 0) return fail('the Sequential model has no layers');
  const first = layers[0];
  const firstCfg = first.class_name === 'Bidirectional' || first.class_name === 'TimeDistributed' ? { ...(first.config.layer as KerasLayer)?.config, ...first.config } : first.config;
  const inputShape = (firstCfg.batch_input_shape ?? firstCfg.batch_shape ?? (firstCfg.input_dim !== undefined && first.class_name === 'Embedding' ? [null, firstCfg.input_length ?? null] : undefined)) as (number | null)[] | undefined;
  if (!Array.isArray(inputShape)) return fail(`the first layer (${String(first.config.name)}) has no batch_input_shape: the input size is unknown`);
  const ids = layers.find((l) => l.class_name !== 'InputLayer')?.class_name === 'Embedding';
  const model = new KerasSequential(String((cfg as { name?: string }).name ?? 'sequential'), inputShape, ids, dtype);
  const used = new Set<string>();
  let feat = inputShape[inputShape.length - 1] as number; // the last axis' size as the layers go
  let rank = inputShape.length;
  for (const l of layers) {
    const name = String(l.config?.name ?? l.class_name);
    const where = `layer '${name}' (${l.class_name})`;
    if (l.config?.dtype !== undefined && l.config.dtype !== 'float32') fail(`${where}: dtype ${String(l.config.dtype)} is not supported (supported: float32)`);
    switch (l.class_name) {
      case 'InputLayer':
        continue;
      case 'Dropout':
        model.add({ kind: 'identity', name });
        continue;
      case 'Embedding': {
        if (l.config.mask_zero === true) fail(`${where}: mask_zero: true is not supported (pass lengths to an Unfold layer instead; supported: mask_zero: false)`);
        const V = l.config.input_dim as number;
        const E = l.config.output_dim as number;
        const e = new Embedding(V, E, { dtype });
        e.loadStateDict({ weight: { shape: [V, E], data: need(where, weightsOf(all, used, name), 'embeddings', [V, E]) } });
        model.add({ kind: 'embedding', name, module: e });
        feat = E;
        rank = 3;
        continue;
      }
      case 'Dense':
      case 'TimeDistributed': {
        const td = l.class_name === 'TimeDistributed';
        const inner = td ? (l.config.layer as KerasLayer) : l;
        if (td && inner?.class_name !== 'Dense') fail(`${where}: TimeDistributed(${String(inner?.class_name)}) is not supported (supported: TimeDistributed(Dense))`);
        const c = inner.config;
        const out = c.units as number;
        const act = activation(where, c.activation, ACTIVATIONS) as Activation;
        const bias = c.use_bias !== false;
        const w = weightsOf(all, used, name);
        const lin = new Linear(feat, out, { bias, dtype });
        const sd: Record<string, { shape: number[]; data: Float32Array }> = { weight: { shape: [out, feat], data: transpose(need(where, w, 'kernel', [feat, out]), feat, out) } };
        if (bias) sd.bias = { shape: [out], data: need(where, w, 'bias', [out]) };
        lin.loadStateDict(sd);
        model.add({ kind: 'dense', name, module: lin, activation: act, timeDistributed: td });
        feat = out;
        continue;
      }
      case 'Bidirectional':
      case 'SimpleRNN':
      case 'LSTM':
      case 'GRU': {
        const bidi = l.class_name === 'Bidirectional';
        const inner = bidi ? (l.config.layer as KerasLayer) : l;
        if (!RNN_CLASSES.includes(inner?.class_name)) fail(`${where}: Bidirectional(${String(inner?.class_name)}) is not supported (supported: Bidirectional of ${RNN_CLASSES.join(', ')})`);
        if (bidi && (l.config.merge_mode ?? 'concat') !== 'concat') fail(`${where}: merge_mode ${JSON.stringify(l.config.merge_mode)} is not supported (supported: merge_mode: 'concat')`);
        if (bidi && l.config.backward_layer) fail(`${where}: a separate backward_layer is not supported (supported: the same layer both ways)`);
        if (rank !== 3) fail(`${where}: needs a sequence [B, T, F] input, but the layer before returns [B, F]`);
        const dirs = bidi ? [weightsOf(all, used, name, 'forward'), weightsOf(all, used, name, 'backward')] : [weightsOf(all, used, name)];
        const layer = recurrent(where, inner, feat, dirs, dtype);
        const returnSequences = inner.config.return_sequences === true;
        model.add({ kind: 'recurrent', name, module: layer, returnSequences });
        feat = layer.directions * layer.hiddenSize;
        rank = returnSequences ? 3 : 2;
        continue;
      }
      default:
        fail(`${where} is not supported (supported: ${TFJS_SUPPORTED})`);
    }
  }
  const unused = [...all.keys()].filter((n) => !used.has(n));
  if (unused.length) fail(`weights in the manifest that no layer took: ${unused.join(', ')}`);
  return model;
}
