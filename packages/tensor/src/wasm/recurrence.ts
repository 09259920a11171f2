import { Expr, Func, I32, add, call, encodeModule, eq, eqz, f32, get, i32, i32load, lt, memcopy, memfill, mul, select, shl, sub } from './emitter';
import { PACK_B_ALL, SGEMM_PACKED, sgemmFuncs } from './sgemm';
import { recurrenceGateFuncs, rowLoop } from './gates';
import { vadd } from './vmath';

/**
 * The whole T-step recurrence of one layer and direction as ONE wasm call per thread: the
 * loop over time steps of packages/rnn/src/layers/sequence-op.ts, with the recurrent GEMM
 * (sgemmPacked on W_hhᵀ packed once) and the gate kernels of ./gates.ts called from inside
 * the module, so JavaScript does nothing per step.
 *
 * Rows. Batch rows are independent through the whole recurrence (each row's state depends
 * only on its own previous state), so a call runs rows [r0, r1) — a "part" — for ALL T steps;
 * the parts of one call can run on different threads with no synchronisation per step
 * (./pool.ts runTask), and a row's numbers do not depend on the split: the GEMM of a row is
 * the same dot products in the same order for any M, and the gate kernels are elementwise.
 *
 * Every operand is float32 at a byte address; the arguments are read from a descriptor of
 * int32 words in memory (D below), written by the caller before the call:
 *
 *   forward  seqForward(desc, part, pA, spill), step i = 0…T−1 at real time t = rev ? T−1−i : i;
 *     xp_t is rows t of xp [T,B,G·H], or with IDS (int32 [T,B]: one-hot input) rows ids[t, b]
 *     of the table at XP ([I, G·H] = W_ihᵀ + bias), gathered per step into XG [B,G·H]
 *     a ← h·W_hhᵀ (beta 0; GRU: 3H columns of a 4H-wide act row), then the gate kernel, which
 *     adds xp_t (LSTM, Elman) or b_hh (GRU) itself; rows past their length are frozen
 *     (h_{i+1} = h_i, c too) and their output row is 0; out[t] ← h_{i+1}.
 *     S, C are rings of sRing slots [B,H] (T+1 when saved for backward, 2 for inference),
 *     act, TC rings of actRing slots ([B,W], [B,H]: T, or 1).
 *   backward seqBackward(desc, part, pA, spill), i = T−1…0, carrying dh (and dc) in the
 *     carry block [4,B,H] = dh, dhP, dc, dcP (swapped each step: the final adjoints are in
 *     slot T mod 2, and 2 + T mod 2): dh += dOut[t] (live rows), the gate adjoints into DA[i]
 *     (GRU: dxp into DX[i], the direct term into dhP), frozen rows: da = 0, dhP = dh, dcP = dc;
 *     dhP (+)= da_i·W_hh (pW: W_hh packed as the [G·H, H] B operand).
 *
 * pA: this thread's pack-A buffer (min(B, 128) rounded up to 4 × min(max(H, G·H), 256)
 * floats), spill: its edge-tile scratch (./sgemm.ts).
 */

/** Descriptor words (int32 index). Kinds: 0 Elman tanh, 1 Elman relu, 2 LSTM, 3 GRU. */
export const D = {
  KIND: 0, T: 1, B: 2, H: 3, REV: 4, XP: 5, PW: 6, S: 7, S_RING: 8, ACT: 9, ACT_RING: 10, C: 11, TC: 12, BHH: 13,
  LENS: 14, OUT: 15, DOUT: 16, CARRY: 17, DA: 18, DX: 19, IDS: 20, XG: 21, PARTS: 22, TC_RING: 23, ROWS: 24,
} as const;
/** Most parts a call can be cut into (ROWS holds PARTS + 1 row starts). */
export const MAX_PARTS = 16;
export const DESC_INTS = D.ROWS + MAX_PARTS + 1;

// function indices in the module: sgemm's six, then recurrenceGateFuncs(), then ours
const [LSTM_FWD, GRU_FWD, RNN_FWD, LSTM_BWD, GRU_BWD, RNN_BWD] = [6, 7, 8, 9, 10, 11];
const SEQ_FORWARD = 12;
const SEQ_BACKWARD = 13;
const COL_SUM = 14;
const SCATTER_ADD = 15;

/** Declares the i32 locals the loops use, reading the descriptor fields into them. */
function prologue(f: Func, desc: number, part: number) {
  const L = (): number => f.local(I32);
  const field = (k: number): Expr => i32load(get(desc), 4 * k);
  const v = { kind: L(), T: L(), B: L(), H: L(), rev: L(), r0: L(), nr: L(), GH: L(), W: L(), H4: L(), lens: L() };
  f.set(v.kind, field(D.KIND)).set(v.T, field(D.T)).set(v.B, field(D.B)).set(v.H, field(D.H)).set(v.rev, field(D.REV));
  f.set(v.lens, field(D.LENS));
  const rowAt = (o: number): Expr => i32load(add(get(desc), shl(get(part), i32(2))), 4 * (D.ROWS + o));
  f.set(v.r0, rowAt(0)).set(v.nr, sub(rowAt(1), get(v.r0)));
  // G·H gate columns (4, 3, 1 gates), W = the act row (GRU keeps p_n beside r, z, n: 4H)
  f.set(v.GH, mul(get(v.H), select(i32(4), select(i32(3), i32(1), eq(get(v.kind), i32(3))), eq(get(v.kind), i32(2)))));
  f.set(v.W, select(mul(get(v.H), i32(4)), get(v.GH), eq(get(v.kind), i32(3))));
  f.set(v.H4, shl(get(v.H), i32(2)));
  return { ...v, field, L };
}

/** for b < n: body(b) when row r0 + b is frozen at time t (t ≥ lens[r0 + b]). */
function frozenRows(f: Func, v: ReturnType<typeof prologue>, t: number, b: number, body: () => void): void {
  f.if(get(v.lens), () => {
    f.set(b, i32(0));
    f.loop((l) => {
      f.if(eqz(lt(get(t), i32load(add(get(v.lens), shl(add(get(v.r0), get(b)), i32(2)))))), body);
      f.set(b, add(get(b), i32(1)));
      f.brIf(l, lt(get(b), get(v.nr)));
    });
  });
}

/** sgemmPacked(M, N, K, 1, beta, load, A = a[rows, ld lda], pB, C = c[rows, ld ldc], pA, spill) with byte addresses a, c. */
const gemmPacked = (M: Expr, N: Expr, K: Expr, beta: Expr, load: Expr, a: Expr, lda: Expr, pB: Expr, c: Expr, ldc: Expr, pA: Expr, spill: Expr): Expr =>
  call(SGEMM_PACKED, M, N, K, f32(1), beta, load, shl0(a), lda, i32(1), pB, shl0(c), ldc, i32(1), pA, spill, i32(0), i32(0));
/** byte address → element index */
const shl0 = (a: Expr): Expr => (f) => {
  a(f);
  i32(2)(f);
  f.body.push(0x76); // i32.shr_u
};

/** ring pointer p advanced by step, back to first at end */
function advance(f: Func, p: number, step: number, first: number, end: number): void {
  f.set(p, add(get(p), get(step)));
  f.if(eq(get(p), get(end)), () => void f.set(p, get(first)));
}

function seqForward(): Func {
  const f = new Func([I32, I32, I32, I32]);
  const [desc, part, pA, spill] = [0, 1, 2, 3];
  const v = prologue(f, desc, part);
  const L = v.L;
  const [xp, pW, out, bhh, i, t, b] = [L(), L(), L(), L(), L(), L(), L()];
  const [hPrev, hNext, sFirst, sEnd, sStep, cPrev, cNext, cFirst, cEnd] = Array.from({ length: 9 }, L);
  const [aRow, aFirst, aEnd, aStep, tcRow, tcFirst, tcEnd, xRow, oRow, ids, xg] = Array.from({ length: 11 }, L);
  f.if(lt(i32(0), get(v.nr)), () => {
    f.set(xp, v.field(D.XP)).set(pW, v.field(D.PW)).set(out, v.field(D.OUT)).set(bhh, v.field(D.BHH));
    f.set(ids, v.field(D.IDS)).set(xg, v.field(D.XG));
    const rowOff = mul(get(v.r0), get(v.H4));
    f.set(sStep, mul(get(v.B), get(v.H4)));
    f.set(sFirst, add(v.field(D.S), rowOff)).set(sEnd, add(get(sFirst), mul(v.field(D.S_RING), get(sStep))));
    f.set(cFirst, add(v.field(D.C), rowOff)).set(cEnd, add(get(cFirst), mul(v.field(D.S_RING), get(sStep))));
    f.set(hPrev, get(sFirst)).set(hNext, add(get(sFirst), get(sStep)));
    f.set(cPrev, get(cFirst)).set(cNext, add(get(cFirst), get(sStep)));
    f.set(aStep, mul(mul(get(v.B), get(v.W)), i32(4)));
    f.set(aFirst, add(v.field(D.ACT), mul(mul(get(v.r0), get(v.W)), i32(4)))).set(aEnd, add(get(aFirst), mul(v.field(D.ACT_RING), get(aStep))));
    f.set(tcFirst, add(v.field(D.TC), rowOff)).set(tcEnd, add(get(tcFirst), mul(v.field(D.TC_RING), get(sStep))));
    f.set(aRow, get(aFirst)).set(tcRow, get(tcFirst));
    f.set(i, i32(0));
    f.loop((steps) => {
      f.set(t, select(sub(sub(get(v.T), i32(1)), get(i)), get(i), get(v.rev)));
      const tRow = add(mul(get(t), get(v.B)), get(v.r0)); // row (t, r0) of a [T,B,·] block
      const GH4 = (): Expr => mul(get(v.GH), i32(4));
      f.if(
        get(ids),
        () => {
          // one-hot input: xg[r0 + b] ← table[ids[t, r0 + b]]  (this part's rows only)
          f.set(xRow, add(get(xg), mul(get(v.r0), GH4())));
          f.set(b, i32(0));
          f.loop((rows) => {
            const id = i32load(add(get(ids), shl(add(tRow, get(b)), i32(2))));
            f.run(memcopy(add(get(xRow), mul(get(b), GH4())), add(get(xp), mul(id, GH4())), GH4()));
            f.set(b, add(get(b), i32(1)));
            f.brIf(rows, lt(get(b), get(v.nr)));
          });
        },
        () => void f.set(xRow, add(get(xp), mul(tRow, GH4()))),
      );
      f.if(
        eq(get(v.kind), i32(2)),
        () => {
          // LSTM: act ← h·W_hhᵀ [nr,4H]; gates(act + xp_t, c) → h', c', tanh c'
          f.run(gemmPacked(get(v.nr), get(v.GH), get(v.H), f32(0), i32(0), get(hPrev), get(v.H), get(pW), get(aRow), get(v.W), get(pA), get(spill)));
          f.run(call(LSTM_FWD, get(v.nr), get(v.H), get(aRow), get(xRow), get(v.GH), get(cPrev), get(v.H), get(hNext), get(cNext), get(tcRow)));
        },
        () =>
          f.if(
            eq(get(v.kind), i32(3)),
            () => {
              // GRU: act[:, 0:3H] ← h·W_hhᵀ; gates(xp_t, act + b_hh, h) → [r z p_n n], h'
              f.run(gemmPacked(get(v.nr), get(v.GH), get(v.H), f32(0), i32(0), get(hPrev), get(v.H), get(pW), get(aRow), get(v.W), get(pA), get(spill)));
              f.run(call(GRU_FWD, get(v.nr), get(v.H), get(aRow), get(xRow), get(v.GH), get(hPrev), get(v.H), get(hNext), get(bhh)));
            },
            () => {
              // Elman: h' ← φ(h·W_hhᵀ + xp_t), straight into the next state slot
              f.run(gemmPacked(get(v.nr), get(v.H), get(v.H), f32(0), i32(0), get(hPrev), get(v.H), get(pW), get(hNext), get(v.H), get(pA), get(spill)));
              f.run(call(RNN_FWD, get(v.nr), get(v.H), get(hNext), get(xRow), get(v.kind)));
            },
          ),
      );
      const rowB = (base: number): Expr => add(get(base), mul(get(b), get(v.H4)));
      frozenRows(f, v, t, b, () => {
        f.run(memcopy(rowB(hNext), rowB(hPrev), get(v.H4)));
        f.if(eq(get(v.kind), i32(2)), () => void f.run(memcopy(rowB(cNext), rowB(cPrev), get(v.H4))));
      });
      f.if(get(out), () => {
        f.set(oRow, add(get(out), mul(tRow, get(v.H4))));
        f.run(memcopy(get(oRow), get(hNext), mul(get(v.nr), get(v.H4))));
        frozenRows(f, v, t, b, () => void f.run(memfill(rowB(oRow), i32(0), get(v.H4))));
      });
      f.set(hPrev, get(hNext)).set(cPrev, get(cNext));
      advance(f, hNext, sStep, sFirst, sEnd);
      advance(f, cNext, sStep, cFirst, cEnd);
      advance(f, aRow, aStep, aFirst, aEnd);
      advance(f, tcRow, sStep, tcFirst, tcEnd);
      f.set(i, add(get(i), i32(1)));
      f.brIf(steps, lt(get(i), get(v.T)));
    });
  });
  return f;
}

function seqBackward(): Func {
  const f = new Func([I32, I32, I32, I32]);
  const [desc, part, pA, spill] = [0, 1, 2, 3];
  const v = prologue(f, desc, part);
  const L = v.L;
  const [pW, dOut, i, t, b, tmp, BH4, rowIB] = [L(), L(), L(), L(), L(), L(), L(), L()];
  const [hPrev, aRow, cPrev, tcRow, daRow, dxRow, dh, dhP, dc, dcP, po, pd] = Array.from({ length: 12 }, L);
  const isGru = (): Expr => eq(get(v.kind), i32(3));
  f.if(lt(i32(0), get(v.nr)), () => {
    f.set(pW, v.field(D.PW)).set(dOut, v.field(D.DOUT));
    f.set(BH4, mul(get(v.B), get(v.H4)));
    const carry = (k: number): Expr => add(add(v.field(D.CARRY), mul(i32(k), get(BH4))), mul(get(v.r0), get(v.H4)));
    f.set(dh, carry(0)).set(dhP, carry(1)).set(dc, carry(2)).set(dcP, carry(3));
    f.set(i, sub(get(v.T), i32(1)));
    f.loop((steps) => {
      f.set(t, select(sub(sub(get(v.T), i32(1)), get(i)), get(i), get(v.rev)));
      f.set(rowIB, add(mul(get(i), get(v.B)), get(v.r0))); // row (i, r0) of a [T,B,·] block in processing order
      f.set(hPrev, add(v.field(D.S), mul(get(rowIB), get(v.H4))));
      f.set(cPrev, add(v.field(D.C), mul(get(rowIB), get(v.H4))));
      // tanh(c') saved (TC), or TC = 0: recomputed from the cell state after the step, C[i+1]
      f.set(tcRow, select(add(v.field(D.TC), mul(get(rowIB), get(v.H4))), add(v.field(D.C), mul(add(get(rowIB), get(v.B)), get(v.H4))), v.field(D.TC)));
      f.set(aRow, add(v.field(D.ACT), mul(mul(get(rowIB), get(v.W)), i32(4))));
      f.set(daRow, add(v.field(D.DA), mul(mul(get(rowIB), get(v.GH)), i32(4))));
      f.set(dxRow, add(v.field(D.DX), mul(mul(get(rowIB), get(v.GH)), i32(4))));
      const rowB = (base: number, width: Expr = get(v.H4)): Expr => add(get(base), mul(get(b), width));
      // dh += dOut_t on live rows (a frozen row's output is the constant 0)
      f.if(get(dOut), () => {
        f.set(b, i32(0));
        f.loop((rows) => {
          f.if(eqz(get(v.lens)), () => void f.set(tmp, i32(1)), () => void f.set(tmp, lt(get(t), i32load(add(get(v.lens), shl(add(get(v.r0), get(b)), i32(2)))))));
          f.if(get(tmp), () => {
            f.set(pd, rowB(dh)).set(po, add(get(dOut), mul(add(mul(get(t), get(v.B)), add(get(v.r0), get(b))), get(v.H4))));
            rowLoop(f, i32(1), get(v.H), [], (io) => io.store(pd, undefined, vadd(io.load(pd), io.load(po))));
          });
          f.set(b, add(get(b), i32(1)));
          f.brIf(rows, lt(get(b), get(v.nr)));
        });
      });
      f.if(
        eq(get(v.kind), i32(2)),
        () => void f.run(call(LSTM_BWD, get(v.nr), get(v.H), get(aRow), get(cPrev), get(v.H), get(tcRow), get(dh), get(v.H), get(dc), get(v.H), select(i32(3), i32(7), v.field(D.TC)), get(daRow), get(dcP))),
        () =>
          f.if(
            isGru(),
            () => void f.run(call(GRU_BWD, get(v.nr), get(v.H), get(aRow), get(hPrev), get(v.H), get(dh), get(v.H), get(dxRow), get(dhP), get(daRow))),
            () => void f.run(call(RNN_BWD, get(v.nr), get(v.H), add(get(hPrev), get(BH4)), get(dh), get(v.H), get(daRow), get(v.kind))),
          ),
      );
      const GH4 = (): Expr => mul(get(v.GH), i32(4));
      frozenRows(f, v, t, b, () => {
        f.run(memfill(rowB(daRow, GH4()), i32(0), GH4()));
        f.if(isGru(), () => {
          f.run(memfill(rowB(dxRow, GH4()), i32(0), GH4()));
          f.run(memcopy(rowB(dhP), rowB(dh), get(v.H4))); // the GEMM below adds 0 here
        });
        f.if(eq(get(v.kind), i32(2)), () => void f.run(memcopy(rowB(dcP), rowB(dc), get(v.H4))));
      });
      // dh_prev (+)= da_i · W_hh  [nr,G·H]·[G·H,H]  (GRU: onto the direct term dh'⊙z)
      f.run(gemmPacked(get(v.nr), get(v.H), get(v.GH), select(f32(1), f32(0), isGru()), isGru(), get(daRow), get(v.GH), get(pW), get(dhP), get(v.H), get(pA), get(spill)));
      f.if(eqz(isGru()), () => frozenRows(f, v, t, b, () => void f.run(memcopy(rowB(dhP), rowB(dh), get(v.H4)))));
      f.set(tmp, get(dh)).set(dh, get(dhP)).set(dhP, get(tmp));
      f.set(tmp, get(dc)).set(dc, get(dcP)).set(dcP, get(tmp));
      f.set(i, sub(get(i), i32(1)));
      f.brIf(steps, lt(i32(-1), get(i)));
    });
  });
  return f;
}

/** colSum(rows, cols, src, dst): dst[j] += Σ_r src[r·cols + j], r in order (dst and src contiguous, byte addresses). */
function colSum(): Func {
  const f = new Func([I32, I32, I32, I32]);
  const [rows, cols, src, dst] = [0, 1, 2, 3];
  const step = f.local(I32);
  f.set(step, shl(get(cols), i32(2)));
  rowLoop(f, get(rows), get(cols), [[src, step]], (io) => io.store(dst, undefined, vadd(io.load(dst), io.load(src))));
  return f;
}

/** scatterAdd(n, cols, ids, src, dst): dst[ids[r]·cols + j] += src[r·cols + j] for r < n in order (byte addresses; ids int32). */
function scatterAdd(): Func {
  const f = new Func([I32, I32, I32, I32, I32]);
  const [n, cols, ids, src, dst] = [0, 1, 2, 3, 4];
  const [r, pd, ps, c4] = [f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
  f.set(c4, shl(get(cols), i32(2)));
  f.if(lt(i32(0), get(n)), () => {
    f.set(r, i32(0)).set(ps, get(src));
    f.loop((rows) => {
      f.set(pd, add(get(dst), mul(i32load(add(get(ids), shl(get(r), i32(2)))), get(c4))));
      rowLoop(f, i32(1), get(cols), [], (io) => io.store(pd, undefined, vadd(io.load(pd), io.load(ps))));
      f.set(ps, add(get(ps), get(c4)));
      f.set(r, add(get(r), i32(1)));
      f.brIf(rows, lt(get(r), get(n)));
    });
  });
  return f;
}

/**
 * The module: sgemm's functions (./sgemm.ts, same micro-kernel as the backend's for `fma`),
 * the gate kernels, and seqForward, seqBackward, colSum, scatterAdd, packB as exports.
 */
export function recurrenceModuleBytes(opts: { fma: boolean; shared: boolean }): Uint8Array {
  // emitted once per variant (~30 KB; tens of ms cold): the caller's instance and the pool's workers share the bytes
  const key = `${opts.fma}/${opts.shared}`;
  const hit = emitted.get(key);
  if (hit) return hit;
  const bytes = emit(opts);
  emitted.set(key, bytes);
  return bytes;
}
const emitted = new Map<string, Uint8Array>();

function emit(opts: { fma: boolean; shared: boolean }): Uint8Array {
  const funcs = [...sgemmFuncs(opts.fma), ...recurrenceGateFuncs(opts.fma), seqForward(), seqBackward(), colSum(), scatterAdd()];
  if (funcs.length !== SCATTER_ADD + 1) throw new Error('recurrence module: function indices out of step');
  const exports = { seqForward: SEQ_FORWARD, seqBackward: SEQ_BACKWARD, colSum: COL_SUM, scatterAdd: SCATTER_ADD, packB: PACK_B_ALL };
  return encodeModule(funcs, exports, 1, { shared: opts.shared, maxPages: 65536 });
}
