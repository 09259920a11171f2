import { DType, Rng, TensorError } from '@unfold/tensor';

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

export interface RecurrentOptions {
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

const KNOWN = ['inputSize', 'hiddenSize', 'numLayers', 'bias', 'batchFirst', 'dropout', 'bidirectional', 'residual', 'fused', 'init', 'seed', 'rng', 'dtype', 'nonlinearity'];
const KNOWN_INIT = ['weightIh', 'weightHh', 'bias', 'range', 'identityScale', 'forgetBias'];

/** Rejects unknown option names and out-of-range values, naming the layer. */
export function checkRecurrentOptions(name: string, o: RecurrentOptions): void {
  if (o === null || typeof o !== 'object') throw new TensorError(name, 'options object required');
  const unknown = Object.keys(o).filter((k) => !KNOWN.includes(k));
  if (unknown.length) throw new TensorError(name, `unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (valid: ${KNOWN.join(', ')})`);
  const unknownInit = Object.keys(o.init ?? {}).filter((k) => !KNOWN_INIT.includes(k));
  if (unknownInit.length) throw new TensorError(name, `unknown init option ${unknownInit.join(', ')} (valid: ${KNOWN_INIT.join(', ')})`);
  for (const k of ['inputSize', 'hiddenSize'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new TensorError(name, `${k} must be a positive integer, got ${o[k]}`);
  }
  if (o.numLayers !== undefined && (!Number.isInteger(o.numLayers) || o.numLayers < 1)) throw new TensorError(name, `numLayers must be a positive integer, got ${o.numLayers}`);
  if (o.dropout !== undefined && !(o.dropout >= 0 && o.dropout < 1)) throw new TensorError(name, `dropout must be in [0, 1), got ${o.dropout}`);
  if (o.init?.range !== undefined && !(o.init.range > 0)) throw new TensorError(name, `init.range must be positive, got ${o.init.range}`);
}
