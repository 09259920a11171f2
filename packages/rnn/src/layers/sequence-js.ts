import { Tensor, TypedArray, addressOf, gateKernels, gemmArrays, transientEmpty } from '@unfold/tensor';
import { ACCUMULATED } from '@unfold/autodiff';
import { CellKind, GATES, STATES } from '../cells/spec';
import { lstmGatesBackward, lstmGatesForward } from '../cells/fused-lstm';
import { gruGatesBackward, gruGatesForward } from '../cells/fused-gru';
import { Mat } from '../cells/fused-util';
import type { Checked, SeqAttrs } from './sequence-op';

/**
 * recurrentSequence (sequence-op.ts) driven from JavaScript, one step after another: the path of
 * float64 (the reference precision of the tests), the JS backend and a non-shared arena. The
 * gate loops are the fused cells' (fused-lstm/gru.ts), or the wasm gate kernels when every
 * operand is an arena block; the GEMMs go through gemmArrays.
 */

const actWidth = (kind: CellKind, H: number): number => (kind === 'gru' ? 4 * H : GATES[kind] * H);

/** True where row b is frozen at real time t (t ≥ lengths[b]). */
const frozen = (lengths: Int32Array | null, t: number, b: number): boolean => lengths !== null && t >= lengths[b];

/** Byte address of element `off` of an arena-resident float32 array. */
const at = (d: TypedArray, off: number): number => addressOf(d) + 4 * off;
/** The wasm gate kernels, when the dtype is float32 and every given buffer lives in the arena. */
function kernelsFor(dtype: string, ...bufs: (TypedArray | null)[]) {
  const k = dtype === 'float32' ? gateKernels() : null;
  return k && bufs.every((b) => b === null || addressOf(b) >= 0) ? k : null;
}

/** A plain (not transient) buffer, in the arena when that pays (float32 on the wasm backend). */
function arenaEmpty(shape: number[], dtype: Tensor['dtype']): Tensor {
  const t = transientEmpty(shape, dtype);
  t.storage.transient = false;
  return t;
}

function flat(t: Tensor): { d: TypedArray; o: number } {
  const c = t.contiguous();
  return { d: c.data, o: c.offset };
}

/** [T, B, G·H] ← rows ids[t·B + b] of the table [I, G·H]. */
function gatherRows(table: Tensor, ids: Int32Array, shape: [number, number, number]): Tensor {
  const tc = table.contiguous();
  const GH = shape[2];
  const out = Tensor.empty(shape, table.dtype);
  for (let r = 0; r < ids.length; r++) out.data.set(tc.data.subarray(tc.offset + ids[r] * GH, tc.offset + (ids[r] + 1) * GH), r * GH);
  return out;
}

/** The forward loop; `c` is check()'s reading of the inputs. */
export function forwardJs(inputs: readonly Tensor[], attrs: SeqAttrs, c: Checked): { outputs: Tensor[]; saved: Tensor[] } {
  const { kind, reverse, lengths } = attrs;
  const { T, B, H, GH, h0, c0, whh, bhh } = c;
  const dtype = h0.dtype;
  // one-hot ids on the JS-driven loop: the rows gathered into a [T, B, G·H] block first
  const xp = attrs.ids ? gatherRows(inputs[0], attrs.ids, [T, B, GH]) : inputs[0];
  const W = actWidth(kind, H);
  const BH = B * H;
  // GRU's gate kernel reads xp in place: a copy into the arena when it lives elsewhere (a gather's output)
  let xpK = xp.contiguous();
  const copyX = kind === 'gru' && dtype === 'float32' && gateKernels() !== null && addressOf(xpK.data) < 0;
  if (copyX) {
    const c = transientEmpty([T, B, GH], dtype);
    c.data.set(xpK.data.subarray(xpK.offset, xpK.offset + T * B * GH));
    xpK = c;
  }
  const S = transientEmpty([T + 1, B, H], dtype); // saved only: the tape releases it
  const act = kind === 'lstm' || kind === 'gru' ? transientEmpty([T, B, W], dtype) : S; // the Elman step needs only S (φ' is a function of h')
  const Cs = kind === 'lstm' ? transientEmpty([T + 1, B, H], dtype) : null;
  const TC = kind === 'lstm' ? transientEmpty([T, B, H], dtype) : null;
  const s = S.data, a = act.data;
  const X = flat(xpK);
  const Wm = flat(whh);
  s.set(flat(h0).d.subarray(flat(h0).o, flat(h0).o + BH), 0);
  if (Cs) {
    const c = flat(c0!);
    Cs.data.set(c.d.subarray(c.o, c.o + BH), 0);
  }
  const bv = bhh ? flat(bhh) : null;
  // the same formulas in the wasm gate kernels (packages/tensor/src/wasm/gates.ts) when all operands are arena blocks
  const k = kernelsFor(dtype, s, a, Cs ? Cs.data : null, TC ? TC.data : null, kind === 'gru' ? X.d : null);
  for (let i = 0; i < T; i++) {
    const t = reverse ? T - 1 - i : i;
    const hOff = i * BH; // S[i]: the previous state
    const nOff = hOff + BH; // S[i+1]: written here, read by the next step
    const xOff = X.o + t * B * GH;
    if (kind === 'lstm') {
      // a ← xp_t + h·W_hhᵀ  [B,4H]
      const aOff = i * B * W;
      a.set(X.d.subarray(xOff, xOff + B * GH), aOff);
      gemmArrays(false, true, B, GH, H, 1, s, hOff, H, Wm.d, Wm.o, H, 1, a, aOff, GH);
      const C: Mat = { d: Cs!.data, o: hOff, ld: H };
      if (k) k.lstmForward(B, H, at(a, aOff), at(C.d, hOff), H, at(s, nOff), at(C.d, nOff), at(TC!.data, hOff));
      else lstmGatesForward(B, H, a.subarray(aOff, aOff + B * W), C, s.subarray(nOff, nOff + BH), Cs!.data.subarray(nOff, nOff + BH), TC!.data.subarray(hOff, hOff + BH));
    } else if (kind === 'gru') {
      // act[:, 0:3H] ← b_hh + h·W_hhᵀ, then the gates → [r z p_n n]
      const aOff = i * B * W;
      for (let b = 0; b < B; b++) {
        const r = aOff + b * W;
        if (bv) for (let j = 0; j < GH; j++) a[r + j] = bv.d[bv.o + j];
      }
      gemmArrays(false, true, B, GH, H, 1, s, hOff, H, Wm.d, Wm.o, H, bv ? 1 : 0, a, aOff, W);
      if (k) k.gruForward(B, H, at(a, aOff), at(X.d, xOff), GH, at(s, hOff), H, at(s, nOff));
      else gruGatesForward(B, H, a.subarray(aOff, aOff + B * W), { d: X.d, o: xOff, ld: GH }, { d: s, o: hOff, ld: H }, s.subarray(nOff, nOff + BH));
    } else {
      // h' = φ(xp_t + h·W_hhᵀ), written straight into S[i+1]; act unused (φ' is a function of h')
      s.set(X.d.subarray(xOff, xOff + BH), nOff);
      gemmArrays(false, true, B, H, H, 1, s, hOff, H, Wm.d, Wm.o, H, 1, s, nOff, H);
      if (k) k.rnnForward(B, H, at(s, nOff), kind === 'rnn_relu' ? 1 : 0);
      else if (kind === 'rnn_relu') for (let k = nOff; k < nOff + BH; k++) s[k] = s[k] < 0 ? 0 : s[k];
      else for (let k = nOff; k < nOff + BH; k++) s[k] = Math.tanh(s[k]);
    }
    if (lengths) {
      for (let b = 0; b < B; b++) {
        if (!frozen(lengths, t, b)) continue;
        s.copyWithin(nOff + b * H, hOff + b * H, hOff + (b + 1) * H); // frozen past the end
        if (Cs) Cs.data.copyWithin(nOff + b * H, hOff + b * H, hOff + (b + 1) * H);
      }
    }
  }
  if (copyX) xpK.storage.release();
  const out = Tensor.empty([T, B, H], dtype);
  const o = out.data;
  for (let i = 0; i < T; i++) {
    const t = reverse ? T - 1 - i : i;
    o.set(s.subarray((i + 1) * BH, (i + 2) * BH), t * BH);
    if (lengths) for (let b = 0; b < B; b++) if (frozen(lengths, t, b)) o.fill(0, t * BH + b * H, t * BH + (b + 1) * H);
  }
  const hN = Tensor.empty([B, H], dtype);
  hN.data.set(s.subarray(T * BH, (T + 1) * BH));
  const outputs = [out, hN];
  const saved = act === S ? [S, whh] : [S, whh, act];
  if (Cs) {
    const cN = Tensor.empty([B, H], dtype);
    cN.data.set(Cs.data.subarray(T * BH, (T + 1) * BH));
    outputs.push(cN);
    saved.push(Cs, TC!);
  }
  return { outputs, saved };
}

// Per step (reverse walk), the fused cells' formulas (see their vjp comments) with
// dh = dh_carry + dout_t (not for frozen rows, whose output is the constant 0);
// frozen rows: da = 0, dh_prev = dh, dc_prev = dc (the identity step).
export function backwardJs(
  dys: readonly Tensor[], saved: readonly Tensor[], attrs: SeqAttrs, hasBias: boolean, needs: readonly boolean[], acc: (i: number) => Tensor,
): (Tensor | null | typeof ACCUMULATED)[] {
  const { kind, reverse, lengths } = attrs;
  const [S, whh, act, Cs, TC] = saved;
  const [T1, B, H] = S.shape;
  const T = T1 - 1;
  const GH = GATES[kind] * H;
  const W = actWidth(kind, H);
  const BH = B * H;
  const dtype = S.dtype;
  const nState = STATES[kind];
  // everything allocated before any .data is taken (an arena that grows would replace its buffer)
  const carry = transientEmpty([kind === 'lstm' ? 4 : 2, B, H], dtype); // dh, dhP (, dc, dcP)
  const DA = arenaEmpty([T, B, GH], dtype); // gate adjoints per step (processing order): dW_hh's A operand
  const DX = kind === 'gru' ? arenaEmpty([T, B, GH], dtype) : null; // GRU: dxp differs from dp
  const s = S.data, a = (act ?? S).data;
  const Wm = flat(whh);
  const dOut = flat(dys[0]);
  // carried adjoints, two buffers each (prev/next), swapped every step
  const cb = carry.data;
  let dh = cb.subarray(0, BH);
  let dhP = cb.subarray(BH, 2 * BH);
  let dc = kind === 'lstm' ? cb.subarray(2 * BH, 3 * BH) : null;
  let dcP = kind === 'lstm' ? cb.subarray(3 * BH, 4 * BH) : null;
  const da = DA.data;
  const k = kernelsFor(dtype, s, a, cb, da, DX ? DX.data : null, Cs ? Cs.data : null, TC ? TC.data : null);
  const dHN = flat(dys[1]);
  dh.set(dHN.d.subarray(dHN.o, dHN.o + BH));
  if (dc) {
    const dCN = flat(dys[2]);
    dc.set(dCN.d.subarray(dCN.o, dCN.o + BH));
  }
  for (let i = T - 1; i >= 0; i--) {
    const t = reverse ? T - 1 - i : i;
    const hOff = i * BH;
    const nOff = hOff + BH;
    const dOff = i * B * GH;
    for (let b = 0; b < B; b++) {
      if (frozen(lengths, t, b)) continue;
      const r = b * H, q = dOut.o + t * BH + b * H;
      for (let j = 0; j < H; j++) dh[r + j] += dOut.d[q + j];
    }
    if (k) {
      const aOff = i * B * W;
      if (kind === 'lstm') k.lstmBackward(B, H, at(a, aOff), at(Cs.data, hOff), H, at(TC.data, hOff), at(dh, 0), H, at(dc!, 0), H, 3, at(da, dOff), at(dcP!, 0));
      else if (kind === 'gru') k.gruBackward(B, H, at(a, aOff), at(s, hOff), H, at(dh, 0), H, at(DX!.data, dOff), at(dhP, 0), at(da, dOff));
      else k.rnnBackward(B, H, at(s, nOff), at(dh, 0), H, at(da, dOff), kind === 'rnn_relu' ? 1 : 0);
    } else if (kind === 'lstm') {
      lstmGatesBackward(B, H, a.subarray(i * B * W, (i + 1) * B * W), { d: Cs.data, o: hOff, ld: H }, TC.data.subarray(hOff, hOff + BH),
        { d: dh, o: 0, ld: H }, { d: dc!, o: 0, ld: H }, da.subarray(dOff, dOff + B * GH), dcP!);
    } else if (kind === 'gru') {
      gruGatesBackward(B, H, a.subarray(i * B * W, (i + 1) * B * W), { d: s, o: hOff, ld: H }, { d: dh, o: 0, ld: H },
        DX!.data.subarray(dOff, dOff + B * GH), dhP, da.subarray(dOff, dOff + B * GH));
    } else {
      const relu = kind === 'rnn_relu';
      for (let k = 0; k < BH; k++) {
        const y = s[nOff + k];
        da[dOff + k] = relu ? (y > 0 ? dh[k] : 0) : dh[k] * (1 - y * y);
      }
    }
    if (lengths) {
      for (let b = 0; b < B; b++) {
        if (!frozen(lengths, t, b)) continue;
        da.fill(0, dOff + b * GH, dOff + (b + 1) * GH);
        if (DX) DX.data.fill(0, dOff + b * GH, dOff + (b + 1) * GH);
        if (kind === 'gru') dhP.set(dh.subarray(b * H, (b + 1) * H), b * H); // GEMM below adds 0 here
        if (dc) dcP!.set(dc.subarray(b * H, (b + 1) * H), b * H);
      }
    }
    // dh_prev (+)= da_i · W_hh  [B,G·H]·[G·H,H]  (GRU: onto the direct term dh'⊙z)
    gemmArrays(false, false, B, H, GH, 1, da, dOff, GH, Wm.d, Wm.o, H, kind === 'gru' ? 1 : 0, dhP, 0, H);
    if (lengths && kind !== 'gru') {
      for (let b = 0; b < B; b++) if (frozen(lengths, t, b)) dhP.set(dh.subarray(b * H, (b + 1) * H), b * H);
    }
    [dh, dhP] = [dhP, dh];
    if (dc) [dc, dcP] = [dcP!, dc];
  }
  // dxp in real time order
  const src = DX ?? DA;
  let dxp: Tensor | null = null;
  if (needs[0] && attrs.ids) {
    // one-hot: d table[ids[t·B + b]] += dxp[t, b], rows in processing order
    const dT = acc(0);
    const ids = attrs.ids;
    for (let i = 0; i < T; i++) {
      const t = reverse ? T - 1 - i : i;
      for (let b = 0; b < B; b++) {
        const q = dT.offset + ids[t * B + b] * GH, r = (i * B + b) * GH;
        for (let j = 0; j < GH; j++) dT.data[q + j] += src.data[r + j];
      }
    }
  } else if (needs[0]) {
    // a JS-heap copy: the arena blocks DA/DX go back below, so arena use stays flat per step
    dxp = Tensor.empty([T, B, GH], dtype);
    const BG = B * GH;
    if (!reverse) dxp.data.set(src.data.subarray(0, T * BG));
    else for (let i = 0; i < T; i++) dxp.data.set(src.data.subarray(i * BG, (i + 1) * BG), (T - 1 - i) * BG);
  }
  const res: (Tensor | null | typeof ACCUMULATED)[] = [needs[0] && attrs.ids ? ACCUMULATED : dxp];
  const dh0 = needs[1] ? Tensor.empty([B, H], dtype) : null;
  if (dh0) dh0.data.set(dh);
  res.push(dh0);
  if (nState === 2) {
    const dc0 = needs[2] ? Tensor.empty([B, H], dtype) : null;
    if (dc0) dc0.data.set(dc!);
    res.push(dc0);
  }
  const wk = 1 + nState;
  if (needs[wk]) {
    // dW_hh += Σ_i da_iᵀ · S[i]: ONE GEMM [G·H, T·B]·[T·B, H]
    const dW = acc(wk);
    gemmArrays(true, false, GH, H, T * B, 1, da, 0, GH, s, 0, H, 1, dW.data, dW.offset, H);
    res.push(ACCUMULATED);
  } else res.push(null);
  if (hasBias) {
    if (needs[wk + 1]) {
      const db = acc(wk + 1);
      const d = db.data, off = db.offset;
      for (let r = 0; r < T * B; r++) for (let j = 0; j < GH; j++) d[off + j] += da[r * GH + j];
      res.push(ACCUMULATED);
    } else res.push(null);
  }
  // scratch given back now rather than at garbage collection (arena blocks)
  carry.storage.release();
  DA.storage.release();
  DX?.storage.release();
  return res;
}
