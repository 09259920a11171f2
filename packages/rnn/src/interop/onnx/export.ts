import { TensorError } from '@unfold/tensor';
import { Module } from '../../nn/module';
import { Linear } from '../../nn/linear';
import { Embedding } from '../../nn/embedding';
import { RecurrentLayer } from '../../layers/recurrent';
import { CharRNN } from '../../models/charRnn';
import { OnnxGraph } from './graph';
import { ONNX_FLOAT, ONNX_INT32, ONNX_INT64 } from './proto';
import { RecurrentFaults, recurrentNodes } from './recurrent';

export interface OnnxExportOptions {
  /** ONNX opset, 14…21 (default 17). */
  opset?: number;
  /** Recurrent layers: add graph inputs h0 (and c0) [L·D, B, H]. CharRNN: on by default (carry state between calls). */
  initialState?: boolean;
  /**
   * Recurrent layers: add the graph input `lengths` (int32 [B]), ONNX's sequence_lens. Give each in 1…T:
   * for a length-0 example ONNX Runtime returns h_n = c_n = 0, where Unfold returns h0, c0.
   */
  lengths?: boolean;
  /** Linear: the input's dims (names for symbolic ones); default ['N', in]. Embedding: the ids' dims; default ['N']. */
  inputDims?: (number | string)[];
  /** Free text stored as the model's doc_string. */
  doc?: string;
  /** Strings stored as the model's metadata_props. */
  metadata?: Record<string, string>;
}

const KNOWN = ['opset', 'initialState', 'lengths', 'inputDims', 'doc', 'metadata'];

/**
 * A module as an ONNX model (bytes of a ModelProto), float32, runnable by ONNX Runtime:
 *
 * | module | inputs | outputs |
 * |---|---|---|
 * | SimpleRNN / LSTM / GRU | `input` [T, B, I] ([B, T, I] if batchFirst), `h0`, `c0` [L·D, B, H] (initialState), `lengths` int32 [B] | `output` [T, B, D·H], `h_n`, `c_n` [L·D, B, H] |
 * | CharRNN | `ids` int64 [T, B], `h0`, `c0` | `logits` [T, B, V], `h_n`, `c_n` |
 * | Linear | `input` [..., in] | `output` [..., out] |
 * | Embedding | `ids` int64 [...] | `output` [..., dim] |
 *
 * The model computes what the module computes in eval mode (no dropout). float64 modules
 * are written as float32. Weights are stored under their PyTorch names where ONNX keeps
 * them as they are (Linear, Embedding) and as ONNX's W/R/B (gates reordered) for the
 * recurrent ops.
 */
export function exportOnnx(m: Module, opts: OnnxExportOptions = {}): Uint8Array {
  return exportOnnxWith(m, opts, {});
}

/** exportOnnx with deliberate faults (tests' negative controls). */
export function exportOnnxWith(m: Module, opts: OnnxExportOptions, faults: RecurrentFaults): Uint8Array {
  if (opts === null || typeof opts !== 'object') throw new TensorError('exportOnnx', 'options must be an object');
  const unknown = Object.keys(opts).filter((k) => !KNOWN.includes(k));
  if (unknown.length) throw new TensorError('exportOnnx', `unknown option ${unknown.join(', ')} (valid: ${KNOWN.join(', ')})`);
  const meta = { ...(opts.metadata ?? {}) };
  const model = (g: OnnxGraph): Uint8Array => g.toModel({ opset: opts.opset, doc: opts.doc, metadata: meta });
  if (m instanceof CharRNN) return model(charRnnGraph(m, opts.initialState ?? true, faults));
  if (m instanceof RecurrentLayer) return model(recurrentGraph(m, opts, faults));
  if (m instanceof Linear) {
    const g = new OnnxGraph('Linear');
    const dims = opts.inputDims ?? ['N', m.inFeatures];
    if (dims[dims.length - 1] !== m.inFeatures) throw new TensorError('exportOnnx', `Linear: inputDims must end in ${m.inFeatures}, got [${dims.join(', ')}]`);
    g.input('input', ONNX_FLOAT, dims);
    linearNodes(g, m, 'input', '', 'output');
    g.output('output', ONNX_FLOAT, [...dims.slice(0, -1), m.outFeatures]);
    return model(g);
  }
  if (m instanceof Embedding) {
    const g = new OnnxGraph('Embedding');
    const dims = opts.inputDims ?? ['N'];
    g.input('ids', ONNX_INT64, dims);
    g.op('Gather', [g.weight('weight', m.weight), 'ids'], { axis: 0 }, 'output'); // [...ids, dim]
    g.output('output', ONNX_FLOAT, [...dims, m.embeddingDim]);
    return model(g);
  }
  throw new TensorError('exportOnnx', `cannot export a ${m?.constructor?.name ?? typeof m} (supported: SimpleRNN, LSTM, GRU, Linear, Embedding, CharRNN)`);
}

/** y = x Wᵀ + b: MatMul with Transpose(weight) (folded to a constant by runtimes), then Add. */
function linearNodes(g: OnnxGraph, m: Linear, x: string, prefix: string, out: string): string {
  const wt = g.op('Transpose', [g.weight(`${prefix}weight`, m.weight)], { perm: [1, 0] }); // [in, out]
  if (!m.bias) return g.op('MatMul', [x, wt], {}, out);
  return g.op('Add', [g.op('MatMul', [x, wt]), g.weight(`${prefix}bias`, m.bias)], {}, out);
}

function recurrentGraph(layer: RecurrentLayer, opts: OnnxExportOptions, faults: RecurrentFaults): OnnxGraph {
  const g = new OnnxGraph(layer.label);
  const LD = layer.numLayers * layer.directions;
  const H = layer.hiddenSize;
  const DH = layer.directions * H;
  g.input('input', ONNX_FLOAT, layer.batchFirst ? ['B', 'T', layer.inputSize] : ['T', 'B', layer.inputSize]);
  const inp: { h0?: string; c0?: string; lengths?: string } = {};
  if (opts.initialState) {
    inp.h0 = g.input('h0', ONNX_FLOAT, [LD, 'B', H]);
    if (layer.kind === 'lstm') inp.c0 = g.input('c0', ONNX_FLOAT, [LD, 'B', H]);
  }
  if (opts.lengths) inp.lengths = g.input('lengths', ONNX_INT32, ['B']);
  const x = layer.batchFirst ? g.op('Transpose', ['input'], { perm: [1, 0, 2] }) : 'input'; // [T, B, I]
  const r = recurrentNodes(g, layer, x, inp, '', faults);
  if (layer.batchFirst) g.op('Transpose', [r.output], { perm: [1, 0, 2] }, 'output');
  else g.op('Identity', [r.output], {}, 'output');
  g.op('Identity', [r.hN], {}, 'h_n');
  g.output('output', ONNX_FLOAT, layer.batchFirst ? ['B', 'T', DH] : ['T', 'B', DH]);
  g.output('h_n', ONNX_FLOAT, [LD, 'B', H]);
  if (r.cN) {
    g.op('Identity', [r.cN], {}, 'c_n');
    g.output('c_n', ONNX_FLOAT, [LD, 'B', H]);
  }
  return g;
}

function charRnnGraph(m: CharRNN, state: boolean, faults: RecurrentFaults): OnnxGraph {
  const g = new OnnxGraph('CharRNN');
  const V = m.opts.vocabSize;
  const layer = m.rnn;
  const LD = layer.numLayers * layer.directions;
  const H = layer.hiddenSize;
  g.input('ids', ONNX_INT64, ['T', 'B']);
  const inp: { h0?: string; c0?: string } = {};
  if (state) {
    inp.h0 = g.input('h0', ONNX_FLOAT, [LD, 'B', H]);
    if (layer.kind === 'lstm') inp.c0 = g.input('c0', ONNX_FLOAT, [LD, 'B', H]);
  }
  const x = m.embedding
    ? g.op('Gather', [g.weight('embedding.weight', m.embedding.weight), 'ids'], { axis: 0 }) // [T, B, E]
    : g.op('OneHot', ['ids', g.ints('depth', [V]), g.weight('onehot_values', { shape: [2], data: new Float32Array([0, 1]) })], { axis: -1 }); // [T, B, V]
  const r = recurrentNodes(g, layer, x, inp, 'rnn.', faults);
  linearNodes(g, m.fc, r.output, 'fc.', 'logits'); // [T, B, V]
  g.op('Identity', [r.hN], {}, 'h_n');
  g.output('logits', ONNX_FLOAT, ['T', 'B', V]);
  g.output('h_n', ONNX_FLOAT, [LD, 'B', H]);
  if (r.cN) {
    g.op('Identity', [r.cN], {}, 'c_n');
    g.output('c_n', ONNX_FLOAT, [LD, 'B', H]);
  }
  return g;
}
