import { DType, Rng, TensorError, isDType } from '@unfold/tensor';
import { checkOptions } from '../options';
import { EXTENDED_KEYS, ExtendedOptions } from './extended';

export interface RecurrentInit {
  /** W_ih: 'pytorch' U(±1/√H) (default), 'uniform' U(±range), 'xavier'. */
  weightIh?: 'pytorch' | 'uniform' | 'xavier';
  /** W_hh: 'pytorch' (default), 'uniform', 'orthogonal' (per gate block), 'identity' (IRNN; scale identityScale). */
  weightHh?: 'pytorch' | 'uniform' | 'orthogonal' | 'identity';
  /** Biases: 'pytorch' (default), 'uniform', 'zeros'. */
  bias?: 'pytorch' | 'uniform' | 'zeros';
  /** Half-width for 'uniform' (char-rnn uses 0.08). */
  range?: number;
  identityScale?: number;
  /** LSTM: set the forget gate's total bias to this value (b_ih forget slice = value, b_hh's = 0). */
  forgetBias?: number;
}

export interface RecurrentOptions extends ExtendedOptions {
  inputSize: number;
  hiddenSize: number;
  numLayers?: number;
  bias?: boolean;
  /** Input/output as [B, T, F] instead of [T, B, F]. */
  batchFirst?: boolean;
  /** Dropout on each layer's output except the last (never inside the recurrence). */
  dropout?: number;
  bidirectional?: boolean;
  /** Add each stacked layer's input to its output (layers ≥ 1, where the sizes match). */
  residual?: boolean;
  /** Use the fused per-step kernels (default) or the composed reference cells. */
  fused?: boolean;
  init?: RecurrentInit;
  seed?: number;
  rng?: Rng;
  dtype?: DType;
}

const KNOWN = ['inputSize', 'hiddenSize', 'numLayers', 'bias', 'batchFirst', 'dropout', 'bidirectional', 'residual', 'fused', 'init', 'seed', 'rng', 'dtype', ...EXTENDED_KEYS];
const KNOWN_INIT = ['weightIh', 'weightHh', 'bias', 'range', 'identityScale', 'forgetBias'];
// Initialisers each slot accepts. Orthogonal/identity build [H, H] blocks, so they only fit W_hh.
const INIT_NAMES: Record<'weightIh' | 'weightHh' | 'bias', string[]> = {
  weightIh: ['pytorch', 'uniform', 'xavier'],
  weightHh: ['pytorch', 'uniform', 'orthogonal', 'identity'],
  bias: ['pytorch', 'uniform', 'zeros'],
};

/**
 * Rejects unknown option names and out-of-range values, naming the layer. `extra` lists the
 * options only this layer takes (SimpleRNN: nonlinearity); `lstm` allows init.forgetBias.
 */
export function checkRecurrentOptions(name: string, o: RecurrentOptions, extra: string[] = [], lstm = false): void {
  if (o === null || typeof o !== 'object') throw new TensorError(name, 'options object required');
  const known = [...KNOWN, ...extra];
  checkOptions(name, o, known, { required: true });
  if (o.init !== undefined && (o.init === null || typeof o.init !== 'object')) throw new TensorError(name, `init must be an object, got ${o.init === null ? 'null' : typeof o.init}`);
  checkOptions(name, o.init, KNOWN_INIT, { what: 'init option' });
  for (const k of ['inputSize', 'hiddenSize'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new TensorError(name, `${k} must be a positive integer, got ${o[k]}`);
  }
  if (o.numLayers !== undefined && (!Number.isInteger(o.numLayers) || o.numLayers < 1)) throw new TensorError(name, `numLayers must be a positive integer, got ${o.numLayers}`);
  if (o.dropout !== undefined && !(o.dropout >= 0 && o.dropout < 1)) throw new TensorError(name, `dropout must be in [0, 1), got ${o.dropout}`);
  for (const k of ['bias', 'batchFirst', 'bidirectional', 'residual', 'fused'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'boolean') throw new TensorError(name, `${k} must be a boolean, got ${String(o[k])}`);
  }
  if (o.dtype !== undefined && !isDType(o.dtype)) throw new TensorError(name, `dtype must be float32 or float64, got ${String(o.dtype)}`);
  if (o.rng !== undefined && (o.rng === null || typeof o.rng !== 'object')) throw new TensorError(name, 'rng must be an Rng');
  if (o.seed !== undefined && !Number.isFinite(o.seed)) throw new TensorError(name, `seed must be a finite number, got ${o.seed}`);
  const init = o.init ?? {};
  for (const k of ['weightIh', 'weightHh', 'bias'] as const) {
    const v = init[k];
    if (v !== undefined && !INIT_NAMES[k].includes(v)) throw new TensorError(name, `init.${k} must be one of ${INIT_NAMES[k].join(', ')}, got '${String(v)}'`);
  }
  if (init.range !== undefined && !(init.range > 0 && Number.isFinite(init.range))) throw new TensorError(name, `init.range must be positive, got ${init.range}`);
  if (init.identityScale !== undefined && !Number.isFinite(init.identityScale)) throw new TensorError(name, `init.identityScale must be finite, got ${init.identityScale}`);
  if (init.forgetBias !== undefined) {
    if (!lstm) throw new TensorError(name, 'init.forgetBias is for LSTM only (no forget gate here)');
    if (!Number.isFinite(init.forgetBias)) throw new TensorError(name, `init.forgetBias must be finite, got ${init.forgetBias}`);
    if (o.bias === false) throw new TensorError(name, 'init.forgetBias needs bias: true');
  }
}

const warned = new Set<string>();

/**
 * Options that are valid but do nothing, warned about once per process (as PyTorch's
 * UserWarning): dropout acts between stacked layers, so with one layer it never applies.
 */
export function warnRecurrentOptions(name: string, o: RecurrentOptions): void {
  if ((o.dropout ?? 0) > 0 && (o.numLayers ?? 1) === 1) {
    const msg = `${name}: dropout ${o.dropout} with numLayers 1 has no effect (dropout is applied between stacked layers, after every layer but the last)`;
    if (!warned.has(msg)) {
      warned.add(msg);
      console.warn(msg);
    }
  }
}
