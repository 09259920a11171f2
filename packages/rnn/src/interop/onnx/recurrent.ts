import { Tensor } from '@unfold/tensor';
import { RecurrentLayer } from '../../layers/recurrent';
import { OnnxGraph } from './graph';

/**
 * A RecurrentLayer as ONNX RNN / LSTM / GRU nodes, one per layer of the stack (ONNX ops are
 * single-layer; `bidirectional` is their direction attribute). Weights become
 *     W [D, G·H, I_k],  R [D, G·H, H],  B [D, 2·G·H] = [W_b | R_b]
 * with the gate blocks reordered, since the two orders differ:
 *     LSTM  PyTorch i, f, g, o  →  ONNX i, o, f, c   (blocks 0, 3, 1, 2)
 *     GRU   PyTorch r, z, n     →  ONNX z, r, h      (blocks 1, 0, 2)
 * and PyTorch's GRU, n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), is ONNX's
 * linear_before_reset = 1 (the default 0 applies r before the matmul: r ⊙ h, then W_hn).
 */
export const ONNX_GATE_ORDER: Record<RecurrentLayer['kind'], number[]> = { lstm: [0, 3, 1, 2], gru: [1, 0, 2], rnn_tanh: [0], rnn_relu: [0] };

/** Deliberate faults, for the tests' negative controls only (not exported from the package). */
export interface RecurrentFaults {
  /** Keep PyTorch's gate order (wrong). */
  noReorder?: boolean;
  /** GRU: write linear_before_reset = 0 (wrong for PyTorch's GRU). */
  linearBeforeReset0?: boolean;
}

/** Rows of t [G·H, …] (or [G·H]) regrouped block by block in `order`, as float32. */
function reorderGates(t: Tensor, order: number[], H: number): Float32Array {
  const src = t.toTypedArray();
  const row = src.length / (order.length * H); // elements per gate row (1 for a bias)
  const out = new Float32Array(src.length);
  order.forEach((g, j) => out.set(src.subarray(g * H * row, (g + 1) * H * row), j * H * row));
  return out;
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export interface RecurrentValues {
  /** [T, B, D·H] time-major */
  output: string;
  /** [L·D, B, H] */
  hN: string;
  cN?: string;
}

/**
 * Adds the layer's nodes reading x (time-major [T, B, I] float), optional h0/c0 [L·D, B, H]
 * and lengths (int32 [B]). `prefix` names the initializers (`rnn.` inside a model).
 */
export function recurrentNodes(g: OnnxGraph, layer: RecurrentLayer, x: string, inp: { h0?: string; c0?: string; lengths?: string }, prefix = '', faults: RecurrentFaults = {}): RecurrentValues {
  const H = layer.hiddenSize;
  const D = layer.directions;
  const order = faults.noReorder ? ONNX_GATE_ORDER[layer.kind].map((_, i) => i) : ONNX_GATE_ORDER[layer.kind];
  const op = layer.kind === 'lstm' ? 'LSTM' : layer.kind === 'gru' ? 'GRU' : 'RNN';
  const hs: string[] = [];
  const cs: string[] = [];
  let seq = x;
  for (let k = 0; k < layer.numLayers; k++) {
    const ws = Array.from({ length: D }, (_, d) => layer.weights(k, d));
    const GH = ws[0].wih.shape[0];
    const Ik = ws[0].wih.shape[1];
    const W = g.weight(`${prefix}W_l${k}`, { shape: [D, GH, Ik], data: concat(ws.map((w) => reorderGates(w.wih, order, H))) });
    const R = g.weight(`${prefix}R_l${k}`, { shape: [D, GH, H], data: concat(ws.map((w) => reorderGates(w.whh, order, H))) });
    const hasBias = ws[0].bih !== null;
    const B = hasBias ? g.weight(`${prefix}B_l${k}`, { shape: [D, 2 * GH], data: concat(ws.flatMap((w) => [reorderGates(w.bih!, order, H), reorderGates(w.bhh!, order, H)])) }) : '';
    const slice = (s: string | undefined): string => (s ? g.op('Slice', [s, g.ints('start', [k * D]), g.ints('end', [(k + 1) * D]), g.ints('axes', [0])]) : ''); // [D, B, H]
    const ins = [seq, W, R, B, inp.lengths ?? '', slice(inp.h0), layer.kind === 'lstm' ? slice(inp.c0) : ''];
    while (ins[ins.length - 1] === '') ins.pop(); // trailing optional inputs are left out
    const attrs: Record<string, number | string | string[]> = { hidden_size: H, direction: D === 2 ? 'bidirectional' : 'forward' };
    if (layer.kind === 'gru') attrs.linear_before_reset = faults.linearBeforeReset0 ? 0 : 1;
    if (layer.kind === 'rnn_relu') attrs.activations = Array(D).fill('Relu');
    if (layer.kind === 'rnn_tanh') attrs.activations = Array(D).fill('Tanh');
    const outs = g.node(op, ins, layer.kind === 'lstm' ? 3 : 2, attrs); // Y [T, D, B, H], Y_h [D, B, H], Y_c
    hs.push(outs[1]);
    if (layer.kind === 'lstm') cs.push(outs[2]);
    // [T, D, B, H] → [T, B, D, H] → [T, B, D·H] (forward and reverse halves side by side, as PyTorch)
    let out = g.op('Reshape', [g.op('Transpose', [outs[0]], { perm: [0, 2, 1, 3] }), g.ints('shape', [0, 0, -1])]);
    if (layer.residual && k > 0) out = g.op('Add', [out, seq]);
    seq = out; // dropout between layers is training-only: inference has none
  }
  const cat = (xs: string[]): string => (xs.length === 1 ? xs[0] : g.op('Concat', xs, { axis: 0 }));
  return { output: seq, hN: cat(hs), cN: layer.kind === 'lstm' ? cat(cs) : undefined };
}
