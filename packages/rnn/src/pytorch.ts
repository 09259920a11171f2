import { DType, Tensor, TensorError, isDType, tensor } from '@unfold/tensor';
import { noGrad } from '@unfold/autodiff';
import { GRU, LSTM, RecurrentInput, RecurrentLayer, SimpleRNN } from './layers/recurrent';
import { checkOptions } from './options';

/**
 * PyTorch interchange as JSON (docs/pytorch.md): one entry per tensor,
 *     { "<name>": { "shape": [d0, d1, …], "data": [row-major values] }, … }
 * with the names of `model.state_dict()` (weight_ih_l0, rnn.bias_hh_l1_reverse, …), which
 * are the names `Module.stateDict()` gives. Names of the form `__x__` are reserved for what
 * docs/export_pytorch.py stores beside the weights: `__config__` (the torch module's
 * arguments), `__input__`, `__h0__`, `__c0__`, `__lengths__`, and PyTorch's results
 * `__output__`, `__h_n__`, `__c_n__`, `__source__` (who produced the file) and `__dtype__` (the
 * dtype its numbers were computed in).
 */
export interface TensorEntry {
  shape: number[];
  data: number[];
}

/** The torch module's constructor arguments, as the export script writes them. */
export interface TorchConfig {
  mode: 'RNN_TANH' | 'RNN_RELU' | 'LSTM' | 'GRU';
  input_size: number;
  hidden_size: number;
  num_layers: number;
  bias: boolean;
  batch_first: boolean;
  bidirectional: boolean;
  /** LSTM only; 0 or absent: no projection. */
  proj_size?: number;
}

export interface PytorchExport {
  params: Record<string, Tensor>;
  config?: TorchConfig;
  input?: Tensor;
  h0?: Tensor;
  c0?: Tensor;
  lengths?: number[];
  output?: Tensor;
  hN?: Tensor;
  cN?: Tensor;
  source?: string;
  /** The dtype the producer computed in (`__dtype__`; Unfold's exportLayerJson writes it). */
  producerDtype?: DType;
}

const OP = 'loadPytorchJson';
const isReserved = (name: string): boolean => name.length > 4 && name.startsWith('__') && name.endsWith('__');
const RESERVED_TENSORS: Record<string, keyof PytorchExport> = { __input__: 'input', __h0__: 'h0', __c0__: 'c0', __output__: 'output', __h_n__: 'hN', __c_n__: 'cN' };

function parse(json: string | object): Record<string, unknown> {
  let obj: unknown = json;
  if (typeof json === 'string') {
    try {
      obj = JSON.parse(json);
    } catch (e) {
      // Python's json.dumps writes NaN / Infinity, which JSON (and JSON.parse) does not have
      const hint = /\b(NaN|-?Infinity)\b/.test(json) ? ' — the text holds NaN or Infinity (as Python writes them): the exported weights are not finite' : '';
      throw new TensorError(OP, `not valid JSON: ${(e as Error).message}${hint}`);
    }
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj) || obj instanceof Tensor) {
    throw new TensorError(OP, `expected an object { name: { shape, data } }, got ${obj === null ? 'null' : Array.isArray(obj) ? 'an array' : typeof obj}`);
  }
  return obj as Record<string, unknown>;
}

/** Checks one { shape, data } entry; returns the problem or null. */
function entryProblem(name: string, v: unknown): string | null {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return `${name}: expected { shape, data }, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`;
  const { shape, data } = v as { shape?: unknown; data?: unknown };
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) return `${name}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`;
  if (!Array.isArray(data)) return `${name}: data must be an array of numbers, got ${data === null ? 'null' : typeof data}`;
  if (data.some(Array.isArray)) return `${name}: data is nested; write it flat in row-major order (torch: t.reshape(-1).tolist())`;
  const size = shape.reduce((a: number, b: number) => a * b, 1);
  if (data.length !== size) return `${name}: shape [${shape.join(',')}] needs ${size} values, data has ${data.length}`;
  const bad = data.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
  if (bad >= 0) return `${name}: data[${bad}] = ${JSON.stringify(data[bad])} is not a finite number`;
  return null;
}

function toTensor(v: unknown, dtype: DType): Tensor {
  const { shape, data } = v as TensorEntry;
  return tensor(data, shape, dtype);
}

function checkDType(dtype: DType): void {
  if (!isDType(dtype)) throw new TensorError(OP, `dtype must be float32 or float64, got ${String(dtype)}`);
}

/**
 * JSON text (or the parsed object) → name → Tensor, for `module.loadStateDict`. Reserved
 * `__x__` entries are skipped (see `readPytorchExport`). Every entry is validated — shape
 * and data agree, values are finite numbers, names are non-empty — and all problems are
 * reported in one error. Values are float64 unless `dtype` says otherwise (loadStateDict
 * converts to the model's dtype anyway).
 */
export function loadPytorchJson(json: string | object, opts: { dtype?: DType } = {}): Record<string, Tensor> {
  checkOptions('loadPytorchJson', opts, ['dtype']);
  const dtype = opts.dtype ?? 'float64';
  checkDType(dtype);
  const obj = parse(json);
  const problems: string[] = [];
  const names = Object.keys(obj).filter((n) => !isReserved(n));
  for (const n of names) {
    if (n.trim() === '') problems.push(`an entry has an empty name`);
    else {
      const p = entryProblem(n, obj[n]);
      if (p) problems.push(p);
    }
  }
  if (problems.length) throw new TensorError(OP, problems.join('; '));
  const out: Record<string, Tensor> = {};
  for (const n of names) out[n] = toTensor(obj[n], dtype);
  return out;
}

/** Everything an export holds: the weights (as loadPytorchJson) and the reserved entries, validated. */
export function readPytorchExport(json: string | object, opts: { dtype?: DType } = {}): PytorchExport {
  checkOptions('readPytorchExport', opts, ['dtype']);
  const dtype = opts.dtype ?? 'float64';
  const obj = parse(json);
  const res: PytorchExport = { params: loadPytorchJson(obj, { dtype }) };
  const problems: string[] = [];
  for (const n of Object.keys(obj).filter(isReserved)) {
    const v = obj[n];
    if (n in RESERVED_TENSORS) {
      const p = entryProblem(n, v);
      if (p) problems.push(p);
      else (res as unknown as Record<string, Tensor>)[RESERVED_TENSORS[n]] = toTensor(v, dtype);
    } else if (n === '__lengths__') {
      if (!Array.isArray(v) || !v.every((L) => Number.isInteger(L) && L >= 0)) problems.push(`__lengths__ must be an array of non-negative integers, got ${JSON.stringify(v)}`);
      else res.lengths = v;
    } else if (n === '__config__') {
      const p = configProblem(v);
      if (p) problems.push(p);
      else res.config = v as TorchConfig;
    } else if (n === '__source__') {
      res.source = String(v);
    } else if (n === '__dtype__') {
      if (v !== 'float32' && v !== 'float64') problems.push(`__dtype__ must be 'float32' or 'float64', got ${JSON.stringify(v)}`);
      else res.producerDtype = v;
    } else {
      problems.push(`unknown reserved entry ${n} (known: __config__, __source__, __dtype__, __lengths__, ${Object.keys(RESERVED_TENSORS).join(', ')})`);
    }
  }
  if (problems.length) throw new TensorError('readPytorchExport', problems.join('; '));
  return res;
}

function configProblem(v: unknown): string | null {
  if (v === null || typeof v !== 'object') return `__config__ must be an object, got ${v === null ? 'null' : typeof v}`;
  const c = v as Record<string, unknown>;
  if (!['RNN_TANH', 'RNN_RELU', 'LSTM', 'GRU'].includes(c.mode as string)) return `__config__.mode must be RNN_TANH, RNN_RELU, LSTM or GRU, got ${JSON.stringify(c.mode)}`;
  for (const k of ['input_size', 'hidden_size', 'num_layers']) {
    if (!Number.isInteger(c[k]) || (c[k] as number) < 1) return `__config__.${k} must be a positive integer, got ${JSON.stringify(c[k])}`;
  }
  for (const k of ['bias', 'batch_first', 'bidirectional']) {
    if (typeof c[k] !== 'boolean') return `__config__.${k} must be a boolean, got ${JSON.stringify(c[k])}`;
  }
  return null;
}

/** The Unfold layer that a torch config describes (fresh weights: load the export's into it). */
export function layerFromTorchConfig(c: TorchConfig, opts: { dtype?: DType; fused?: boolean } = {}): RecurrentLayer {
  checkOptions('layerFromTorchConfig', opts, ['dtype', 'fused']);
  const p = configProblem(c);
  if (p) throw new TensorError('layerFromTorchConfig', p);
  const o = { inputSize: c.input_size, hiddenSize: c.hidden_size, numLayers: c.num_layers, bias: c.bias, batchFirst: c.batch_first, bidirectional: c.bidirectional, dtype: opts.dtype, fused: opts.fused };
  if (c.proj_size !== undefined && c.proj_size !== 0 && c.mode !== 'LSTM') throw new TensorError('layerFromTorchConfig', `proj_size is LSTM only (mode ${c.mode})`);
  if (c.mode === 'LSTM') return new LSTM(c.proj_size ? { ...o, projSize: c.proj_size } : o);
  if (c.mode === 'GRU') return new GRU(o);
  return new SimpleRNN({ ...o, nonlinearity: c.mode === 'RNN_RELU' ? 'relu' : 'tanh' });
}

/** The torch constructor arguments of an Unfold layer (residual stacks have no torch twin). */
export function torchConfigOf(layer: RecurrentLayer): TorchConfig {
  if (layer.residual) throw new TensorError('torchConfigOf', `${layer.label} has residual connections, which torch.nn.${layer.kind === 'lstm' ? 'LSTM' : layer.kind === 'gru' ? 'GRU' : 'RNN'} does not have`);
  const mode = ({ lstm: 'LSTM', gru: 'GRU', rnn_tanh: 'RNN_TANH', rnn_relu: 'RNN_RELU' } as const)[layer.kind];
  const e = layer.ext;
  const kerasOnly = [
    !e.resetAfter && 'resetAfter: false', e.activation !== (layer.kind === 'rnn_relu' ? 'relu' : 'tanh') && `activation ${e.activation}`,
    e.recurrentActivation !== 'sigmoid' && `recurrentActivation ${e.recurrentActivation}`, e.goBackwards && 'goBackwards', e.mergeMode !== 'concat' && `mergeMode ${e.mergeMode}`,
  ].filter(Boolean);
  if (kerasOnly.length) throw new TensorError('torchConfigOf', `${layer.label} uses ${kerasOnly.join(', ')}, which torch.nn has no option for`);
  return {
    ...(e.projSize ? { proj_size: e.projSize } : {}),
    mode,
    input_size: layer.inputSize,
    hidden_size: layer.hiddenSize,
    num_layers: layer.numLayers,
    bias: 'bias_ih_l0' in layer.stateDict(),
    batch_first: layer.batchFirst,
    bidirectional: layer.directions === 2,
  };
}

/**
 * A layer, an input and the layer's eval-mode results on it, as one JSON text that
 * `python docs/export_pytorch.py --check file.json` loads into torch and compares.
 */
export function exportLayerJson(layer: RecurrentLayer, x: Tensor, input: RecurrentInput = {}): string {
  const config = torchConfigOf(layer);
  const wasTraining = layer.training;
  layer.eval();
  try {
    const r = noGrad(() => layer.forward(x, input));
    // __dtype__: the numbers are this dtype's results, so the checker knows how close to expect them
    const extra: Record<string, unknown> = { __source__: 'unfold', __dtype__: layer.dtype, __config__: config, __input__: x };
    if (input.h0) extra.__h0__ = input.h0;
    if (input.c0) extra.__c0__ = input.c0;
    if (input.lengths) extra.__lengths__ = Array.from(input.lengths);
    Object.assign(extra, { __output__: r.output, __h_n__: r.hN }, r.cN ? { __c_n__: r.cN } : {});
    return stateDictToJson(layer.stateDict(), { extra });
  } finally {
    layer.train(wasTraining);
  }
}

/**
 * name → Tensor → JSON text in the same format (row-major data, any strides or dtype).
 * Values must be finite: JSON has no NaN/Infinity. `extra` adds reserved entries verbatim.
 */
export function stateDictToJson(sd: Record<string, Tensor>, opts: { extra?: Record<string, unknown>; space?: number } = {}): string {
  checkOptions('stateDictToJson', opts, ['extra', 'space']);
  if (sd === null || typeof sd !== 'object') throw new TensorError('stateDictToJson', `expected an object of name → Tensor, got ${sd === null ? 'null' : typeof sd}`);
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  const put = (n: string, t: Tensor): void => {
    const data = t.toFlatArray();
    const bad = data.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) problems.push(`${n} [${t.shape.join(',')}]: value ${data[bad]} at flat index ${bad} cannot be written as JSON`);
    else out[n] = { shape: t.shape.slice(), data };
  };
  for (const [n, t] of Object.entries(sd)) {
    if (t instanceof Tensor) put(n, t);
    else problems.push(`${n}: not a Tensor`);
  }
  for (const [n, v] of Object.entries(opts.extra ?? {})) {
    if (!isReserved(n)) problems.push(`extra entry ${n} must be named __x__`);
    else if (v instanceof Tensor) put(n, v);
    else out[n] = v;
  }
  if (problems.length) throw new TensorError('stateDictToJson', problems.join('; '));
  return JSON.stringify(out, null, opts.space);
}
