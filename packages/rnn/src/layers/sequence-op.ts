import { Tensor, TensorError, addressOf, recurrence, shapeStr } from '@unfold/tensor';
import { ACCUMULATED, OpDef } from '@unfold/autodiff';
import { CellKind, GATES, STATES } from '../cells/spec';
import { backwardJs, forwardJs } from './sequence-js';
import { backwardWasm, forwardWasm } from './sequence-wasm';
import { denseGrads, extraInputsAt, projectInto, tableGrads, tableInto } from './sequence-dense';

/**
 * A whole T-step recurrence of one layer and direction as ONE tape record (the per-step path
 * records one cell op per step; see recurrent.ts). Same formulas as the fused cells
 * (fused-rnn/lstm/gru.ts), whose gate loops it calls.
 *
 *   inputs  [xp, h0, (c0), W_hh, (b_hh: GRU only)]   xp:[T,B,G·H] = x W_ihᵀ + bias, contiguous
 *           with attrs.dense: [x, h0, (c0), W_hh, (b_hh), W_ih, (bias)], x:[T,B,I] — the
 *           projection computed inside (sequence-dense.ts) and differentiated with the rest
 *   outputs [out, hN, (cN)]                          out:[T,B,H] in real time order, hN/cN:[B,H]
 *   attrs   { kind, reverse, lengths }               lengths: Int32Array [B] or null
 *
 * Steps run in processing order i = 0…T−1 at real time t = reverse ? T−1−i : i. Past its
 * length an example's state is frozen (h_{i+1} = h_i) and its output is exactly 0.
 *
 * saved: S [T+1,B,H] (S[0] = h0, S[i+1] = the state after step i: the next step reads it where
 * it was written), act [T,B,W] (the activated gates of every step in one block; W = G·H, GRU 4H),
 * for LSTM also C [T+1,B,H] (cell states) and tanh(c) [T,B,H]; and W_hh.
 *
 * Backward walks i = T−1…0 carrying dh (and dc), writes every step's gate adjoint da_i into one
 * [T,B,G·H] block, and then  dW_hh = Σ_i da_iᵀ S[i]  is ONE GEMM with K = T·B (instead of T
 * GEMMs with K = B), db_hh likewise one column sum.
 *
 * Two drivers of the same loop: float32 on the wasm backend with a shared arena runs it as one
 * wasm call per thread (sequence-wasm.ts on @unfold/tensor `recurrence()`: batch rows split over
 * the pool's threads for all T steps); float64, the JS backend and a non-shared arena run the
 * JS loop below (calling the wasm gate kernels where the operands are arena blocks).
 */
export interface SeqAttrs {
  kind: CellKind;
  reverse: boolean;
  lengths: Int32Array | null;
  /**
   * false: the caller knows no tape will record this call (noGrad, inference): nothing is saved
   * for backward, and on the wasm kernels the states and gates live in reused workspace rings.
   * Absent: true.
   */
  save?: boolean;
  /**
   * One-hot input: ids [T·B] (time-major) and inputs[0] is the table [I, G·H] (= W_ihᵀ + bias)
   * whose rows ids[t·B + b] are xp[t, b] — gathered per step inside the loop instead of as a
   * [T, B, G·H] block, and scatter-added into the table's adjoint in backward.
   */
  ids?: Int32Array | null;
  /**
   * Dense input with the projection inside: inputs[0] is x [T,B,I], and the inputs end with
   * W_ih [G·H, I] (and, when `bias`, the bias [G·H]): xp = x·W_ihᵀ + bias is written where the
   * loop reads it, and backward gives dx, dW_ih, db from the gate adjoints in place.
   */
  dense?: { bias: boolean } | null;
  /**
   * With ids: inputs[0] is W_ih [G·H, I] itself and, when `bias`, the last input is the bias
   * [G·H]; the table W_ihᵀ + bias is written inside (on the wasm kernels straight into a
   * workspace block) instead of built as tensors first, and backward sends the table's adjoint
   * on to W_ih (transposed) and the bias (summed over the table's rows) — sequence-dense.ts.
   */
  table?: { bias: boolean } | null;
}
export type Checked = ReturnType<typeof check>;

function check(inputs: readonly Tensor[], a: SeqAttrs) {
  const op = 'recurrentSequence';
  const nState = STATES[a.kind];
  const G = GATES[a.kind];
  const hasB = a.kind === 'gru';
  const base = extraInputsAt(a.kind);
  const want = base + (a.dense ? (a.dense.bias ? 2 : 1) : 0) + (a.table?.bias ? 1 : 0);
  if (a.dense && a.ids) throw new TensorError(op, 'ids (one-hot input) and dense are exclusive');
  if (a.table && !a.ids) throw new TensorError(op, 'table needs ids (one-hot input)');
  if (inputs.length !== want) {
    const names = [a.dense ? 'x' : a.table ? 'wih' : 'xp', 'h0', ...(nState === 2 ? ['c0'] : []), 'whh', ...(hasB ? ['bhh'] : []), ...(a.dense ? ['wih', ...(a.dense.bias ? ['bias'] : [])] : []), ...(a.table?.bias ? ['bias'] : [])];
    throw new TensorError(op, `${a.kind}: expected ${want} inputs [${names.join(', ')}], got ${inputs.length}`);
  }
  const [xp, h0] = inputs;
  const wih = a.dense ? inputs[base] : null;
  const bias = a.dense?.bias ? inputs[base + 1] : a.table?.bias ? inputs[base] : null;
  const c0 = nState === 2 ? inputs[2] : null;
  const whh = inputs[1 + nState];
  const bhh = hasB ? inputs[2 + nState] : null;
  let T: number, B: number, GH: number;
  if (a.ids) {
    if (xp.rank !== 2) throw new TensorError(op, `with ids, inputs[0] is the ${a.table ? 'weight W_ih [G·H, I]' : 'table [I, G·H]'}, got ${shapeStr(xp.shape)}`);
    if (h0.rank !== 2) throw new TensorError(op, `h0 ${shapeStr(h0.shape)} must be [B, H]`);
    B = h0.shape[0];
    T = a.ids.length / B;
    const [I, cols] = a.table ? [xp.shape[1], xp.shape[0]] : xp.shape;
    GH = cols;
    if (!Number.isInteger(T) || T < 1) throw new TensorError(op, `${a.ids.length} ids are not T·B for B = ${B}`);
    for (let i = 0; i < a.ids.length; i++) if (!(a.ids[i] >= 0 && a.ids[i] < I)) throw new TensorError(op, `ids[${i}] = ${a.ids[i]} is not one of the ${I} classes of ${a.table ? 'wih' : 'the table'} ${shapeStr(xp.shape)}`);
    if (bias && (bias.rank !== 1 || bias.shape[0] !== GH)) throw new TensorError(op, `bias ${shapeStr(bias.shape)} must be [${GH}] for wih ${shapeStr(xp.shape)}`);
  } else if (wih) {
    if (xp.rank !== 3) throw new TensorError(op, `x must be [T, B, I], got ${shapeStr(xp.shape)}`);
    [T, B] = xp.shape;
    if (wih.rank !== 2 || wih.shape[1] !== xp.shape[2]) throw new TensorError(op, `wih ${shapeStr(wih.shape)} must be [G·H, ${xp.shape[2]}] for x ${shapeStr(xp.shape)}`);
    GH = wih.shape[0];
    if (bias && (bias.rank !== 1 || bias.shape[0] !== GH)) throw new TensorError(op, `bias ${shapeStr(bias.shape)} must be [${GH}] for wih ${shapeStr(wih.shape)}`);
  } else {
    if (xp.rank !== 3) throw new TensorError(op, `xp must be [T, B, G·H], got ${shapeStr(xp.shape)}`);
    [T, B, GH] = xp.shape;
  }
  if (h0.rank !== 2 || h0.shape[0] !== B) throw new TensorError(op, `h0 ${shapeStr(h0.shape)} must be [B, H] with B = ${B}`);
  const H = h0.shape[1];
  if (GH !== G * H) throw new TensorError(op, `${wih ? `wih ${shapeStr(wih.shape)} must be [${G}·H, I]` : `xp ${shapeStr(xp.shape)} must be [${a.ids ? 'I' : 'T, B'}, ${G}·H]`} for h0 ${shapeStr(h0.shape)}`);
  if (c0 && (c0.rank !== 2 || c0.shape[0] !== B || c0.shape[1] !== H)) throw new TensorError(op, `c0 ${shapeStr(c0.shape)} must match h0 ${shapeStr(h0.shape)}`);
  if (whh.rank !== 2 || whh.shape[0] !== GH || whh.shape[1] !== H) throw new TensorError(op, `whh ${shapeStr(whh.shape)} must be [${GH}, ${H}]`);
  if (bhh && (bhh.rank !== 1 || bhh.shape[0] !== GH)) throw new TensorError(op, `bhh ${shapeStr(bhh.shape)} must be [${GH}]`);
  if (inputs.some((t) => t.dtype !== xp.dtype)) throw new TensorError(op, `mixed dtypes: ${inputs.map((t) => t.dtype).join(', ')}`);
  if (a.lengths && a.lengths.length !== B) throw new TensorError(op, `lengths has ${a.lengths.length} entries for B = ${B}`);
  return { T, B, H, GH, xp, h0, c0, whh, bhh, base, wih, bias };
}
export const recurrentSequenceOp: OpDef<SeqAttrs> = {
  name: 'recurrentSequence',
  readsAdjointsOnly: true, // dOut, dhN, dcN are copied into the loop's own blocks at once
  forward: (inputs, attrs) => {
    const c = check(inputs, attrs);
    // float32 on the wasm backend (shared arena): the whole loop in one wasm call per thread
    const rk = c.h0.dtype === 'float32' ? recurrence() : null;
    if (rk) return forwardWasm(rk, inputs, attrs, c.T, c.B, c.H);
    if (attrs.table) {
      // the table built here on the JS-driven loop
      const table = Tensor.empty([c.xp.shape[1], c.GH], c.xp.dtype);
      tableInto(c.xp, c.bias, table.data, 0);
      return forwardJs([table, ...inputs.slice(1, c.base)], { ...attrs, table: null }, { ...c, xp: table });
    }
    if (!c.wih) return forwardJs(inputs, attrs, c);
    // dense input on the JS-driven loop: xp computed first, x and W_ih saved for backward
    const x = c.xp.contiguous();
    const xp = Tensor.empty([c.T, c.B, c.GH], x.dtype);
    projectInto(x, c.wih, c.bias, xp.data, 0);
    const r = forwardJs([xp, ...inputs.slice(1, c.base)], { ...attrs, dense: null }, { ...c, xp });
    return { outputs: r.outputs, saved: r.saved.length ? [...r.saved, x, c.wih] : [] };
  },

  vjp: (dys, saved, attrs, inputs, needs, acc) => {
    if (saved.length === 0) throw new TensorError('recurrentSequence', 'backward of a call run with save: false (nothing was saved); only calls a tape records can be differentiated');
    const rk = saved[0].dtype === 'float32' ? recurrence() : null;
    const core = attrs.dense ? saved.slice(0, saved.length - 2) : saved; // dense: [..., x, W_ih]
    if (rk && core.every((t) => addressOf(t.data) >= 0)) return backwardWasm(rk, dys, saved, attrs, needs, acc);
    const hasBhh = attrs.kind === 'gru';
    if (attrs.table) {
      // the table's adjoint [I, G·H] scatter-added into a buffer of its own, then into W_ih and the bias
      const base = extraInputsAt(attrs.kind);
      const [GH, I] = inputs[0].shape;
      const dT = Tensor.empty([I, GH], inputs[0].dtype);
      const wantB = attrs.table.bias && needs[base];
      const nb = needs.slice(0, base);
      nb[0] = needs[0] || wantB;
      const res = backwardJs(dys, saved, { ...attrs, table: null }, hasBhh, nb, (k) => (k === 0 ? dT : acc(k)));
      if (needs[0] || wantB) tableGrads(dT.data, 0, I, GH, needs[0] ? acc(0) : null, wantB ? acc(base) : null);
      const out: (Tensor | null | typeof ACCUMULATED)[] = [needs[0] ? ACCUMULATED : null, ...res.slice(1)];
      if (attrs.table.bias) out.push(wantB ? ACCUMULATED : null);
      return out;
    }
    if (!attrs.dense) return backwardJs(dys, saved, attrs, hasBhh, needs, acc);
    // dense: dxp from the loop (real time order), then the projection's three products
    const base = extraInputsAt(attrs.kind);
    const nb = needs.slice(0, base);
    nb[0] = needs[0] || needs[base] || (attrs.dense.bias && needs[base + 1]);
    const res = backwardJs(dys, core, { ...attrs, dense: null }, hasBhh, nb, acc);
    const dxp = res[0] as Tensor | null;
    const [x, wih] = saved.slice(saved.length - 2);
    const g = dxp
      ? denseGrads(dxp.data, 0, false, x, wih, [needs[0], needs[base], attrs.dense.bias && needs[base + 1]], { wih: () => acc(base), bias: () => acc(base + 1) })
      : { dx: null, dW: false, db: false };
    const out: (Tensor | null | typeof ACCUMULATED)[] = [g.dx, ...res.slice(1), g.dW ? ACCUMULATED : null];
    if (attrs.dense.bias) out.push(g.db ? ACCUMULATED : null);
    return out;
  },
};
