import { ACCUMULATED, tapeOwnsOutputs } from '@unfold/autodiff';
import { Recurrence, RecurrenceCall, Storage, Tensor, TypedArray, addressOf, arenaAlloc, arenaFree, gemmArrays, scratchEmpty, transientEmpty } from '@unfold/tensor';
import { CellKind, GATES } from '../cells/spec';
import type { SeqAttrs } from './sequence-op';
import { denseGrads, extraInputsAt, projectInto, tableGrads, tableInto } from './sequence-dense';

/**
 * recurrentSequence (sequence-op.ts) on the wasm recurrence kernels (@unfold/tensor
 * `recurrence()`): the whole T-step loop is one wasm call per thread, rows split across the
 * pool's threads (each thread runs its rows for all T steps; one join at the end). Same
 * formulas and saved layout as the JS-driven loop in sequence-op.ts, which float64 and the
 * JS backend use.
 *
 * Memory. What backward reads (S, act, C) is saved in transient arena blocks when the
 * op will be recorded (attrs.save). Everything else — and, for an unrecorded call (noGrad,
 * inference), the states and gates too, as rings of 2 (S, C) and 1 (act, tanh C) slots —
 * lives in named workspace blocks of the arena that are reused call after call: grown when a
 * shape needs more, given back and re-made smaller when it needs less than a quarter. So an
 * inference pass allocates in JS only its outputs (out, hN, cN) and a few views per call,
 * nothing per time step.
 */

const blocks = new Map<string, { addr: number; bytes: number }>();

/** Byte address of the workspace block `name`, holding at least `bytes`. */
function block(name: string, bytes: number): number {
  const b = blocks.get(name);
  if (b && b.bytes >= bytes && b.bytes <= 4 * bytes + 4096) return b.addr;
  if (b) arenaFree(b.addr);
  const addr = arenaAlloc(bytes);
  blocks.set(name, { addr, bytes });
  return addr;
}

/** Bytes and blocks the workspace holds (tests: reuse across calls). */
export function sequenceWorkspace(): { bytes: number; blocks: number; addresses: number[] } {
  let bytes = 0;
  for (const b of blocks.values()) bytes += b.bytes;
  return { bytes, blocks: blocks.size, addresses: [...blocks.values()].map((b) => b.addr) };
}

/** Gives the workspace blocks back to the arena (the next call makes them again). */
export function releaseSequenceWorkspace(): void {
  for (const b of blocks.values()) arenaFree(b.addr);
  blocks.clear();
}

let scratch: { next: number } | null = null;
/**
 * Runs fn with the outputs [T,B,H] of unrecorded calls (save: false) left where the loop wrote
 * them — workspace blocks of the arena, one per call inside fn — instead of copied into fresh JS
 * arrays: the next op (a stacked layer's projection, the output head) reads them in place. They
 * are valid until the next call inside a later withScratchOutputs, so fn must consume them (the
 * model's evaluate does: it returns a number and copies of the states). Nested calls share the
 * outer scope.
 */
export function withScratchOutputs<R>(fn: () => R): R {
  if (scratch !== null) return fn();
  scratch = { next: 0 };
  try {
    return fn();
  } finally {
    scratch = null;
  }
}

let partsOverride: number | null = null;
/** Test hook: cut every call into this many row parts (null: one per thread). Returns the previous value. */
export function setSequenceParts(n: number | null): number | null {
  const was = partsOverride;
  partsOverride = n;
  return was;
}

/** Operand copies into the workspace, done once every block is allocated (an allocation may grow the memory). */
type Copy = (heap: Float32Array) => void;

/** Byte address of t's contiguous elements: in place when resident, else a copy into block `name`. */
function place(t: Tensor, name: string, copies: Copy[]): number {
  const c = t.contiguous();
  const at = addressOf(c.data);
  if (at >= 0) return at + 4 * c.offset;
  const addr = block(name, 4 * c.size);
  copies.push((heap) => heap.set(c.data.subarray(c.offset, c.offset + c.size), addr >> 2));
  return addr;
}

/** dst (an accumulator of n floats) += what `op` adds into the arena block at byte address `at`: copied in, op, copied back. */
function addThroughArena(r: Recurrence, dst: Tensor, n: number, at: number, op: () => void): void {
  const d = dst.data as Float32Array;
  r.heap().set(d.subarray(dst.offset, dst.offset + n), at >> 2);
  op();
  d.set(r.heap().subarray(at >> 2, (at >> 2) + n), dst.offset);
}

const addr = (t: Tensor | null | undefined): number => (t ? addressOf(t.data) + 4 * t.offset : 0);

export function forwardWasm(r: Recurrence, inputs: readonly Tensor[], a: SeqAttrs, T: number, B: number, H: number) {
  const { kind, reverse, lengths } = a;
  const save = a.save !== false;
  const lstm = kind === 'lstm', gru = kind === 'gru';
  const [xp, h0] = inputs;
  const c0 = lstm ? inputs[2] : null;
  const whh = inputs[lstm ? 3 : 2];
  const bhh = gru ? inputs[3] : null;
  const GH = GATES[kind] * H, W = gru ? 4 * H : GH, BH = B * H;
  // saved for backward (the tape releases them), or workspace rings
  const S = save ? transientEmpty([T + 1, B, H], 'float32') : null;
  const act = save && (lstm || gru) ? transientEmpty([T, B, W], 'float32') : null;
  const C = save && lstm ? transientEmpty([T + 1, B, H], 'float32') : null;
  // tanh(c') is not saved: backward recomputes it from C (the same bits; T·B·H floats fewer)
  const sRing = save ? T + 1 : 2, actRing = save ? T : 1;
  const scr = !save && scratch !== null ? scratch.next++ : -1; // output left in its own workspace block
  // recorded on a tape that owns its outputs: forward in time with no lengths, out[t] = S[t+1], so
  // out is a view of the saved states (no copy, no block of its own); otherwise the loop writes
  // [T,B,H] straight into a block the tape gives back
  const ownedOut = save && tapeOwnsOutputs();
  const outOfS = ownedOut && !reverse && !lengths;
  const owned = ownedOut && !outOfS ? transientEmpty([T, B, H], 'float32') : null;
  const copies: Copy[] = [];
  const ids = a.ids ?? null;
  // dense: x [T,B,I] in, the projection written into the workspace block 'xp' below
  const base = extraInputsAt(kind);
  const dense = a.dense ? { x: xp.contiguous(), wih: inputs[base], bias: a.dense.bias ? inputs[base + 1] : null } : null;
  const c: RecurrenceCall = {
    kind, T, B, H, reverse,
    // with ids: the table [I, G·H] (attrs.table: written below from W_ih and the bias)
    xp: dense ? block('xp', 4 * T * B * GH) : a.table ? block('table', 4 * xp.size) : place(xp, ids ? 'table' : 'xp', copies),
    ids: ids ? block('ids', 4 * T * B) : 0,
    xg: ids ? block('xg', 4 * B * GH) : 0,
    pW: block('pW', 4 * r.packedFloats(H, GH)),
    S: S ? addr(S) : block('S', 4 * 2 * BH), sRing,
    act: act ? addr(act) : lstm || gru ? block('act', 4 * B * W) : 0, actRing,
    C: C ? addr(C) : lstm ? block('C', 4 * 2 * BH) : 0,
    TC: lstm ? block('TC', 4 * BH) : 0, tcRing: 1,
    bhh: bhh ? place(bhh, 'bhh', copies) : 0,
    lengths: lengths ? block('lengths', 4 * B) : 0,
    out: outOfS ? 0 : owned ? addr(owned) : block(scr >= 0 ? `out:${scr}` : 'out', 4 * T * BH), // 0: no output copy
    dOut: 0, carry: 0, DA: 0, DX: 0,
  };
  const wAt = place(whh, 'whh', copies);
  const heap = r.heap(); // after every allocation
  for (const cp of copies) cp(heap);
  if (lengths) new Int32Array(heap.buffer, c.lengths, B).set(lengths);
  if (ids) new Int32Array(heap.buffer, c.ids!, T * B).set(ids);
  const h = h0.contiguous();
  heap.set(h.data.subarray(h.offset, h.offset + BH), c.S >> 2);
  if (c0) {
    const cc = c0.contiguous();
    heap.set(cc.data.subarray(cc.offset, cc.offset + BH), c.C >> 2);
  }
  r.packB(wAt >> 2, 1, H, H, GH, c.pW); // B(k, n) = W_hhᵀ[k, n] = W_hh[n, k]
  if (dense) projectInto(dense.x, dense.wih, dense.bias, heap, c.xp >> 2); // xp = x·W_ihᵀ + b, in place
  if (a.table) tableInto(xp, a.table.bias ? inputs[base] : null, heap, c.xp >> 2); // W_ihᵀ + b, in place
  r.forward(c, partsOverride ?? undefined);
  let out: Tensor;
  if (outOfS) out = new Tensor(S!.storage, [T, B, H], [BH, H, 1], S!.offset + BH); // S[1 : T+1]
  else if (owned) out = owned;
  else if (scr >= 0) out = new Tensor(new Storage(new Float32Array(heap.buffer, c.out, T * BH)), [T, B, H]); // a view: no copy
  else {
    out = Tensor.empty([T, B, H], 'float32');
    out.data.set(heap.subarray(c.out >> 2, (c.out >> 2) + T * BH));
  }
  const last = (base: number): Tensor => {
    const t = Tensor.empty([B, H], 'float32');
    const o = (base >> 2) + (T % sRing) * BH;
    t.data.set(heap.subarray(o, o + BH));
    return t;
  };
  const outputs = [out, last(c.S)];
  if (lstm) outputs.push(last(c.C));
  const saved = !S ? [] : act ? [S, whh, act] : [S, whh];
  if (C) saved.push(C);
  if (S && dense) saved.push(dense.x, dense.wih);
  return { outputs, saved };
}

/** The vjp on the kernels: saved = [S, W_hh, (act), (C)] as forwardWasm saved them (all arena blocks; tanh C is recomputed). */
export function backwardWasm(
  r: Recurrence, dys: readonly Tensor[], saved: readonly Tensor[], a: SeqAttrs, needs: readonly boolean[],
  acc: (i: number) => Tensor,
): (Tensor | null | typeof ACCUMULATED)[] {
  const { kind, reverse, lengths } = a;
  const dense = a.dense ? { x: saved[saved.length - 2], wih: saved[saved.length - 1] } : null;
  const [S, whh, act, C] = dense ? saved.slice(0, saved.length - 2) : saved;
  const [T1, B, H] = S.shape;
  const T = T1 - 1;
  const lstm = kind === 'lstm', gru = kind === 'gru';
  const GH = GATES[kind as CellKind] * H, BH = B * H, BG = B * GH;
  const nState = lstm ? 2 : 1;
  const wk = 1 + nState;
  const copies: Copy[] = [];
  const c: RecurrenceCall = {
    kind, T, B, H, reverse, xp: 0, out: 0, bhh: 0,
    pW: block('pWb', 4 * r.packedFloats(GH, H)),
    S: addr(S), sRing: T + 1, act: addr(act ?? S), actRing: T, C: addr(C), TC: 0, // 0: tanh(c') recomputed
    lengths: lengths ? block('lengths', 4 * B) : 0,
    dOut: place(dys[0], 'dOut', copies),
    carry: block('carry', 4 * 4 * BH),
    DA: block('DA', 4 * T * BG),
    DX: gru ? block('DX', 4 * T * BG) : 0,
  };
  const wAt = place(whh, 'whh', copies);
  const dbAt = gru && needs[wk + 1] ? block('db', 4 * GH) : 0;
  const ids = a.ids ?? null;
  const base = extraInputsAt(kind as CellKind);
  // attrs.table: inputs[0] is W_ih [G·H, I] and the table's adjoint goes on to W_ih and the bias
  const tableBias = a.table?.bias === true && needs[base];
  const wantTable = ids !== null && (needs[0] || tableBias);
  const I = wantTable ? (a.table ? acc(0).shape[1] : acc(0).shape[0]) : 0;
  const idsP = wantTable ? block('idsP', 4 * T * B) : 0; // ids in processing order
  const dTable = wantTable ? block('dTable', 4 * I * GH) : 0;
  const heap = r.heap();
  for (const cp of copies) cp(heap);
  if (lengths) new Int32Array(heap.buffer, c.lengths, B).set(lengths);
  const put = (t: Tensor, at: number): void => {
    const f = t.contiguous();
    heap.set(f.data.subarray(f.offset, f.offset + BH), at);
  };
  put(dys[1], c.carry >> 2); // dh ← dhN
  if (lstm) put(dys[2], (c.carry >> 2) + 2 * BH); // dc ← dcN
  r.packB(wAt >> 2, H, 1, GH, H, c.pW); // B(k, n) = W_hh[k, n]
  r.backward(c, partsOverride ?? undefined);
  const res: (Tensor | null | typeof ACCUMULATED)[] = [];
  let projected: ReturnType<typeof denseGrads> | null = null;
  if (dense) {
    // the projection's dx, dW_ih, db straight from the gate adjoints in the arena (dxp = DX for GRU)
    const want: [boolean, boolean, boolean] = [needs[0], needs[base], a.dense!.bias && needs[base + 1]];
    const colSum = (rows: number, cols: number, src: TypedArray, srcOff: number, dst: Tensor): void => {
      const at = block('dbi', 4 * cols);
      addThroughArena(r, dst, cols, at, () => r.colSum(rows, cols, addressOf(src) + 4 * srcOff, at));
    };
    projected = denseGrads(heap, (gru ? c.DX : c.DA) >> 2, reverse, dense.x, dense.wih, want, { wih: () => acc(base), bias: () => acc(base + 1) }, colSum);
    res.push(projected.dx);
  } else if (wantTable) {
    // one-hot input: d table[ids[t·B + b]] += dxp[t, b], rows in processing order (one wasm loop)
    const P = new Int32Array(heap.buffer, idsP, T * B);
    for (let i = 0; i < T; i++) {
      const t = reverse ? T - 1 - i : i;
      for (let b = 0; b < B; b++) P[i * B + b] = ids![t * B + b];
    }
    const scatter = (): void => r.scatterAdd(T * B, GH, idsP, gru ? c.DX : c.DA, dTable);
    if (a.table) {
      // the table was built inside the op: its adjoint from zero, then dW_ih += dTableᵀ, db += Σ_i dTable
      const h = r.heap();
      h.fill(0, dTable >> 2, (dTable >> 2) + I * GH);
      scatter();
      tableGrads(r.heap(), dTable >> 2, I, GH, needs[0] ? acc(0) : null, tableBias ? acc(base) : null);
    } else addThroughArena(r, acc(0), I * GH, dTable, scatter);
    res.push(needs[0] ? ACCUMULATED : null);
  } else if (needs[0]) {
    // dxp in real time order (DX for GRU, whose dxp differs from dp)
    const src = (gru ? c.DX : c.DA) >> 2;
    const dxp = scratchEmpty([T, B, GH], 'float32'); // backward gives it back once consumed
    const d = dxp.data, o = dxp.offset;
    if (!reverse) d.set(heap.subarray(src, src + T * BG), o);
    else for (let i = 0; i < T; i++) d.set(heap.subarray(src + i * BG, src + (i + 1) * BG), o + (T - 1 - i) * BG);
    res.push(dxp);
  } else res.push(null);
  // the carried adjoints end in slot T mod 2 (dh) and 2 + T mod 2 (dc)
  const slot = (k: number): Tensor | null => {
    if (!needs[k]) return null;
    const t = Tensor.empty([B, H], 'float32');
    const o = (c.carry >> 2) + ((k === 2 ? 2 : 0) + (T % 2)) * BH;
    t.data.set(heap.subarray(o, o + BH));
    return t;
  };
  res.push(slot(1));
  if (lstm) res.push(slot(2));
  if (needs[wk]) {
    // dW_hh += Σ_i da_iᵀ · S[i]: ONE GEMM [G·H, T·B]·[T·B, H] (split over the pool's threads)
    const dW = acc(wk);
    gemmArrays(true, false, GH, H, T * B, 1, heap, c.DA >> 2, GH, S.data, S.offset, H, 1, dW.data, dW.offset, H);
    res.push(ACCUMULATED);
  } else res.push(null);
  if (gru) {
    // (the op always has b_hh as an input for GRU: sequence.ts passes zeros when the layer has none)
    if (needs[wk + 1]) {
      // db_hh += Σ_rows da (in row order, onto the accumulated value)
      addThroughArena(r, acc(wk + 1), GH, dbAt, () => r.colSum(T * B, GH, c.DA, dbAt));
      res.push(ACCUMULATED);
    } else res.push(null);
  }
  if (projected) {
    res.push(projected.dW ? ACCUMULATED : null);
    if (a.dense!.bias) res.push(projected.db ? ACCUMULATED : null);
  }
  if (a.table?.bias) res.push(tableBias ? ACCUMULATED : null);
  return res;
}
