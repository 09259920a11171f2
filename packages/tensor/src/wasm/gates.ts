import { Expr, Func, I32, MemoryImport, V128, add, and, encodeModule, f32load, f32store, get, i32, lt, mul, shl, sub, v128load, v128store } from './emitter';
import { VMath, extractLane, replaceLane, vadd, vand, vconstIn, vgt, vmul, vsub, vzero } from './vmath';

/**
 * The elementwise half of the fused LSTM/GRU/Elman cell steps (packages/rnn/src/cells/fused-*.ts)
 * as a WebAssembly SIMD module: the gate nonlinearities after the recurrent GEMM (forward) and
 * the gate adjoints before the GEMMs (backward), in float32, four j at a time.
 *
 * Every operand is float32 at a BYTE address in the imported memory; element (b, j) of a
 * row-major operand with leading dimension ld (in elements) is at base + 4·(b·ld + j). Operands
 * the JS reads as views (xp, c, h, dh', dc') take an ld; buffers the kernels own (act, tanh c')
 * and every output are contiguous. Any B ≥ 0, H ≥ 0 (nothing happens when either is 0); H % 4
 * columns at the end of a row go through the same vector code, loaded and stored lane by lane.
 * No alignment needed. Formulas and evaluation order are those of the JS loops, in float32
 * instead of float64 (see ./vmath.ts for the accuracy of σ and tanh).
 */
export interface GateKernels {
  /**
   * LSTM forward (gate order i, f, g, o):  i = σ(a_i) f = σ(a_f) g = tanh(a_g) o = σ(a_o),
   * c' = f⊙c + i⊙g,  h' = o⊙tanh(c').
   * act:[B,4H] contiguous, in: a = xp + h·W_hhᵀ + b_hh, out: [i f g o] (in place).
   * c:[B,H] with leading dim ldc. Outputs h', c', tanh(c'):[B,H] contiguous.
   */
  lstmForward(B: number, H: number, act: number, c: number, ldc: number, hOut: number, cOut: number, tcOut: number): void;
  /**
   * LSTM gate adjoints: dc = dc' + dh'⊙o⊙(1 − tanh²c'), da = [dc⊙g⊙i(1−i), dc⊙c⊙f(1−f),
   * dc⊙i⊙(1−g²), dh'⊙tanh c'⊙o(1−o)], dc_prev = dc⊙f.
   * act:[B,4H] = [i f g o] contiguous; c:[B,H] (ldc); tc = tanh(c'):[B,H] contiguous;
   * dh:[B,H] (lddh), dc:[B,H] (lddc); flags bit 0: dh' given, bit 1: dc' given (an absent
   * adjoint reads as zeros, its address and ld are ignored). Outputs da:[B,4H], dcPrev:[B,H] contiguous.
   */
  lstmBackward(
    B: number, H: number, act: number, c: number, ldc: number, tc: number,
    dh: number, lddh: number, dc: number, lddc: number, flags: number, da: number, dcPrev: number,
  ): void;
  /**
   * GRU forward (gate order r, z, n): r = σ(xp_r + p_r), z = σ(xp_z + p_z),
   * n = tanh(xp_n + r⊙p_n), h' = n + z⊙(h − n).
   * act:[B,4H] contiguous, in: [p_r p_z p_n ·] with p = h·W_hhᵀ + b_hh, out: [r z p_n n].
   * xp:[B,3H] (ldxp), h:[B,H] (ldh). Output h':[B,H] contiguous.
   */
  gruForward(B: number, H: number, act: number, xp: number, ldxp: number, h: number, ldh: number, hOut: number): void;
  /**
   * GRU gate adjoints: da_n = dh'⊙(1−z)⊙(1−n²), da_r = da_n⊙p_n⊙r(1−r), da_z = dh'⊙(h−n)⊙z(1−z).
   * act:[B,4H] = [r z p_n n] contiguous; h:[B,H] (ldh); dy = dh':[B,H] (lddy).
   * Outputs, contiguous: dx = [da_r da_z da_n]:[B,3H], dh = dh'⊙z:[B,H] (the direct term),
   * dp = [da_r da_z da_n⊙r]:[B,3H].
   */
  gruBackward(B: number, H: number, act: number, h: number, ldh: number, dy: number, lddy: number, dx: number, dh: number, dp: number): void;
  /** Elman forward in place: y:[B,H] contiguous, a → tanh(a) (relu = 0) or (a < 0 ? 0 : a) (relu ≠ 0). */
  rnnForward(B: number, H: number, y: number, relu: number): void;
  /**
   * Elman adjoint: da = dy⊙(1 − y²) (tanh) or y > 0 ? dy : 0 (relu), from the output y:[B,H]
   * contiguous and dy:[B,H] (lddy). Output da:[B,H] contiguous.
   */
  rnnBackward(B: number, H: number, y: number, dy: number, lddy: number, da: number, relu: number): void;
  /** dst[k] = e^src[k], σ(src[k]), tanh(src[k]) for k < n: contiguous, src = dst allowed. */
  exp(n: number, src: number, dst: number): void;
  sigmoid(n: number, src: number, dst: number): void;
  tanh(n: number, src: number, dst: number): void;
}

/** How a row loop's body reads and writes four consecutive j (or the 1–3 left at a row's end). */
export interface Lanes {
  /** Operand row pointer `ptr` (a local byte address), plus gate byte offset local `gate`. */
  load(ptr: number, gate?: number): Expr;
  store(ptr: number, gate: number | undefined, v: Expr): void;
}

/** A row-major operand: its row pointer (a local, advanced in place) and byte step per row (a local). */
export type Rows = [ptr: number, step: number];

/**
 * for b < B: for j < W step 4: body — with the row pointers advanced by their steps after each
 * row. Columns past the last multiple of 4 run `body` once more on partial vectors (unused
 * lanes read as 0, never stored). `rows` may omit operands the body does not touch.
 */
export function rowLoop(f: Func, B: Expr, W: Expr, rows: readonly Rows[], body: (io: Lanes) => void): void {
  const b = f.local(I32);
  const o = f.local(I32); // byte offset of j within every row
  const wb = f.local(I32); // row width in bytes
  const rem = f.local(I32);
  const addr = (ptr: number, gate?: number): Expr => (gate === undefined ? add(get(ptr), get(o)) : add(add(get(ptr), get(o)), get(gate)));
  const full: Lanes = {
    load: (ptr, gate) => v128load(addr(ptr, gate), 0, 2),
    store: (ptr, gate, v) => void f.run(v128store(addr(ptr, gate), v, 0, 2)),
  };
  const tailVec = f.local(V128);
  const tail: Lanes = {
    // Emits the lane loads now, into a fresh local; lane 0 always exists (rem ≥ 4 bytes).
    load: (ptr, gate) => {
      const t = f.local(V128);
      f.set(t, replaceLane(vzero(), 0, f32load(addr(ptr, gate))));
      for (let k = 1; k < 3; k++) f.if(lt(i32(4 * k), get(rem)), () => void f.set(t, replaceLane(get(t), k, f32load(addr(ptr, gate), 4 * k))));
      return get(t);
    },
    store: (ptr, gate, v) => {
      f.set(tailVec, v).run(f32store(addr(ptr, gate), extractLane(get(tailVec), 0)));
      for (let k = 1; k < 3; k++) f.if(lt(i32(4 * k), get(rem)), () => void f.run(f32store(addr(ptr, gate), extractLane(get(tailVec), k), 4 * k)));
    },
  };
  f.set(wb, shl(W, i32(2)));
  f.if(lt(i32(0), B), () =>
    f.if(lt(i32(0), get(wb)), () => {
      f.set(b, i32(0));
      f.loop((rowsLoop) => {
        f.set(o, i32(0));
        f.block((done) =>
          f.loop((cols) => {
            f.brIf(done, lt(sub(get(wb), get(o)), i32(16)));
            body(full);
            f.set(o, add(get(o), i32(16)));
            f.br(cols);
          }),
        );
        f.set(rem, sub(get(wb), get(o)));
        f.if(get(rem), () => body(tail));
        for (const [ptr, step] of rows) f.set(ptr, add(get(ptr), get(step)));
        f.set(b, add(get(b), i32(1)));
        f.brIf(rowsLoop, lt(get(b), B));
      });
    }),
  );
}

/** A local holding k·x (bytes of k·x floats when x is an element count: pass k = 4·…). */
function scaled(f: Func, x: number, k: number): number {
  const l = f.local(I32);
  f.set(l, mul(get(x), i32(k)));
  return l;
}

/**
 * withX (the whole-sequence loop of ./recurrence.ts): a second input xp:[B,4H] (ldxp) is added
 * first, a = act + xp, so the recurrent GEMM writes act with beta = 0 and xp is never copied;
 * params (B, H, act, xp, ldxp, c, ldc, hOut, cOut, tcOut).
 */
function lstmForward(withX = false, fma = false): Func {
  const f = new Func(Array.from({ length: withX ? 10 : 8 }, () => I32));
  const [B, H, act] = [0, 1, 2];
  const [xp, ldxp] = withX ? [3, 4] : [-1, -1];
  const [c, ldc, hOut, cOut, tcOut] = withX ? [5, 6, 7, 8, 9] : [3, 4, 5, 6, 7];
  const m = new VMath(f, { fma });
  const [ig, fg, gg, og, cv, t] = Array.from({ length: 6 }, () => f.local(V128));
  const g1 = scaled(f, H, 4), g2 = scaled(f, H, 8), g3 = scaled(f, H, 12); // gate k at byte k·4H
  const actStep = scaled(f, H, 16), cStep = scaled(f, ldc, 4);
  const rows: Rows[] = [[act, actStep], [c, cStep], [hOut, g1], [cOut, g1], [tcOut, g1]];
  if (withX) rows.push([xp, scaled(f, ldxp, 4)]);
  rowLoop(f, get(B), get(H), rows, (io) => {
    const a = (gate?: number): Expr => (withX ? vadd(io.load(act, gate), io.load(xp, gate)) : io.load(act, gate));
    m.sigmoid(ig, a()); // act:[B,4H] = [a_i a_f a_g a_o]
    m.sigmoid(fg, a(g1));
    m.tanh(gg, a(g2));
    m.sigmoid(og, a(g3));
    io.store(act, undefined, get(ig));
    io.store(act, g1, get(fg));
    io.store(act, g2, get(gg));
    io.store(act, g3, get(og));
    f.set(cv, vadd(vmul(get(fg), io.load(c)), vmul(get(ig), get(gg)))); // c' = f⊙c + i⊙g
    m.tanh(t, get(cv));
    io.store(cOut, undefined, get(cv));
    io.store(tcOut, undefined, get(t));
    io.store(hOut, undefined, vmul(get(og), get(t))); // h' = o⊙tanh(c')
  });
  return f;
}

/**
 * flags: bit 0 dh' given, bit 1 dc' given; bit 2 (the whole-sequence loop, ./recurrence.ts):
 * `tc` points at c' itself and tanh(c') is recomputed here — the same operations as the forward
 * (fma as there), so the same bits as the saved tanh(c') would have been, without saving it.
 */
function lstmBackward(fma = false): Func {
  const f = new Func(Array.from({ length: 13 }, () => I32));
  const m = new VMath(f, { fma });
  const [B, H, act, c, ldc, tc, dh, lddh, dc, lddc, flags, da, dcPrev] = Array.from({ length: 13 }, (_, k) => k);
  const [ig, fg, gg, og, t, dhv, dcv] = Array.from({ length: 7 }, () => f.local(V128));
  const g1 = scaled(f, H, 4), g2 = scaled(f, H, 8), g3 = scaled(f, H, 12);
  const actStep = scaled(f, H, 16), cStep = scaled(f, ldc, 4), dhStep = scaled(f, lddh, 4), dcStep = scaled(f, lddc, 4);
  const one = vconstIn(f, 1);
  // Four copies of the loop, one per (dh' given, dc' given): an absent adjoint is a zero
  // vector, not a load (0·x is kept, so NaN/∞ elsewhere propagate exactly as with a zeros tensor).
  const variant = (hasDh: boolean, hasDc: boolean, recompute = false): void => {
    const rows: Rows[] = [[act, actStep], [c, cStep], [tc, g1], [da, actStep], [dcPrev, g1]];
    if (hasDh) rows.push([dh, dhStep]);
    if (hasDc) rows.push([dc, dcStep]);
    rowLoop(f, get(B), get(H), rows, (io) => {
      f.set(ig, io.load(act)).set(fg, io.load(act, g1)).set(gg, io.load(act, g2)).set(og, io.load(act, g3));
      if (recompute) m.tanh(t, io.load(tc));
      else f.set(t, io.load(tc));
      f.set(dhv, hasDh ? io.load(dh) : vzero());
      const dcIn = hasDc ? io.load(dc) : vzero();
      f.set(dcv, vadd(dcIn, vmul(vmul(get(dhv), get(og)), vsub(one, vmul(get(t), get(t)))))); // dc = dc' + dh'⊙o⊙(1 − t²)
      io.store(da, undefined, vmul(vmul(vmul(get(dcv), get(gg)), get(ig)), vsub(one, get(ig)))); // dc⊙g⊙i(1−i)
      io.store(da, g1, vmul(vmul(vmul(get(dcv), io.load(c)), get(fg)), vsub(one, get(fg)))); // dc⊙c⊙f(1−f)
      io.store(da, g2, vmul(vmul(get(dcv), get(ig)), vsub(one, vmul(get(gg), get(gg))))); // dc⊙i⊙(1−g²)
      io.store(da, g3, vmul(vmul(vmul(get(dhv), get(t)), get(og)), vsub(one, get(og)))); // dh'⊙t⊙o(1−o)
      io.store(dcPrev, undefined, vmul(get(dcv), get(fg))); // dc_prev = dc⊙f
    });
  };
  const bit = (k: number): Expr => and(get(flags), i32(1 << k));
  f.if(bit(2), () => variant(true, true, true), () =>
    f.if(bit(0), () => f.if(bit(1), () => variant(true, true), () => variant(true, false)), () =>
      f.if(bit(1), () => variant(false, true), () => variant(false, false)),
    ),
  );
  return f;
}

/**
 * withBias (./recurrence.ts): act holds h·W_hhᵀ only and b_hh:[3H] (a 9th param, one row read
 * by every b) is added here, p = act + b_hh, and p_n is stored back for the backward pass.
 */
function gruForward(withBias = false, fma = false): Func {
  const f = new Func(Array.from({ length: withBias ? 9 : 8 }, () => I32));
  const [B, H, act, xp, ldxp, h, ldh, hOut, bhh] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const m = new VMath(f, { fma });
  const [rg, zg, ng, pn] = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  const g1 = scaled(f, H, 4), g2 = scaled(f, H, 8), g3 = scaled(f, H, 12);
  const rows: Rows[] = [[act, scaled(f, H, 16)], [xp, scaled(f, ldxp, 4)], [h, scaled(f, ldh, 4)], [hOut, g1]];
  rowLoop(f, get(B), get(H), rows, (io) => {
    const p = (gate?: number): Expr => (withBias ? vadd(io.load(act, gate), io.load(bhh, gate)) : io.load(act, gate));
    m.sigmoid(rg, vadd(io.load(xp), p())); // r = σ(xp_r + p_r)
    m.sigmoid(zg, vadd(io.load(xp, g1), p(g1))); // z = σ(xp_z + p_z)
    f.set(pn, p(g2));
    m.tanh(ng, vadd(io.load(xp, g2), vmul(get(rg), get(pn)))); // n = tanh(xp_n + r⊙p_n)
    io.store(act, undefined, get(rg));
    io.store(act, g1, get(zg));
    if (withBias) io.store(act, g2, get(pn));
    io.store(act, g3, get(ng)); // act:[B,4H] = [r z p_n n]
    io.store(hOut, undefined, vadd(get(ng), vmul(get(zg), vsub(io.load(h), get(ng))))); // h' = n + z⊙(h − n)
  });
  return f;
}

function gruBackward(): Func {
  const f = new Func(Array.from({ length: 10 }, () => I32));
  const [B, H, act, h, ldh, dy, lddy, dx, dh, dp] = Array.from({ length: 10 }, (_, k) => k);
  const [rg, zg, ng, d, dan, dar, daz] = Array.from({ length: 7 }, () => f.local(V128));
  const g1 = scaled(f, H, 4), g2 = scaled(f, H, 8), g3 = scaled(f, H, 12);
  const step3 = g3; // dx, dp:[B,3H]
  const rows: Rows[] = [[act, scaled(f, H, 16)], [h, scaled(f, ldh, 4)], [dy, scaled(f, lddy, 4)], [dx, step3], [dh, g1], [dp, step3]];
  const one = vconstIn(f, 1);
  rowLoop(f, get(B), get(H), rows, (io) => {
    f.set(rg, io.load(act)).set(zg, io.load(act, g1)).set(ng, io.load(act, g3)).set(d, io.load(dy));
    io.store(dh, undefined, vmul(get(d), get(zg))); // dh_direct = dh'⊙z
    f.set(dan, vmul(vmul(get(d), vsub(one, get(zg))), vsub(one, vmul(get(ng), get(ng))))); // dh'⊙(1−z)⊙(1−n²)
    f.set(dar, vmul(vmul(vmul(get(dan), io.load(act, g2)), get(rg)), vsub(one, get(rg)))); // da_n⊙p_n⊙r(1−r)
    f.set(daz, vmul(vmul(vmul(get(d), vsub(io.load(h), get(ng))), get(zg)), vsub(one, get(zg)))); // dh'⊙(h−n)⊙z(1−z)
    io.store(dx, undefined, get(dar));
    io.store(dx, g1, get(daz));
    io.store(dx, g2, get(dan));
    io.store(dp, undefined, get(dar));
    io.store(dp, g1, get(daz));
    io.store(dp, g2, vmul(get(dan), get(rg))); // dp_n = da_n⊙r
  });
  return f;
}

/** withX (./recurrence.ts): y ← φ(y + xp), xp:[B,H] contiguous a 4th param (relu moves to the 5th). */
function rnnForward(withX = false, fma = false): Func {
  const f = new Func(Array.from({ length: withX ? 5 : 4 }, () => I32));
  const [B, H, y] = [0, 1, 2];
  const [xp, relu] = withX ? [3, 4] : [-1, 3];
  const m = new VMath(f, { fma });
  const v = f.local(V128);
  // y is contiguous: one row of B·H elements.
  const loop = (phi: (dst: number, x: Expr) => void): void =>
    rowLoop(f, i32(1), mul(get(B), get(H)), [], (io) => {
      phi(v, withX ? vadd(io.load(y), io.load(xp)) : io.load(y));
      io.store(y, undefined, get(v));
    });
  f.if(get(relu), () => loop((d, x) => m.relu(d, x)), () => loop((d, x) => m.tanh(d, x)));
  return f;
}

function rnnBackward(): Func {
  const f = new Func([I32, I32, I32, I32, I32, I32, I32]);
  const [B, H, y, dy, lddy, da, relu] = [0, 1, 2, 3, 4, 5, 6];
  const v = f.local(V128);
  const rowStep = scaled(f, H, 4);
  const rows: Rows[] = [[y, rowStep], [dy, scaled(f, lddy, 4)], [da, rowStep]];
  f.if(
    get(relu),
    () => rowLoop(f, get(B), get(H), rows, (io) => io.store(da, undefined, vand(io.load(dy), vgt(io.load(y), vzero())))), // y > 0 ? dy : 0
    () =>
      rowLoop(f, get(B), get(H), rows, (io) => {
        f.set(v, io.load(y));
        io.store(da, undefined, vmul(io.load(dy), vsub(vconstIn(f, 1), vmul(get(v), get(v))))); // dy⊙(1 − y²)
      }),
  );
  return f;
}

function map(op: 'exp' | 'sigmoid' | 'tanh', fma = false): Func {
  const f = new Func([I32, I32, I32]);
  const [n, src, dst] = [0, 1, 2];
  const m = new VMath(f, { fma });
  const v = f.local(V128);
  rowLoop(f, i32(1), get(n), [], (io) => {
    m[op](v, io.load(src));
    io.store(dst, undefined, get(v));
  });
  return f;
}

const EXPORTS = ['lstmForward', 'lstmBackward', 'gruForward', 'gruBackward', 'rnnForward', 'rnnBackward', 'exp', 'sigmoid', 'tanh'] as const;

/**
 * The module: imports `env.memory` (shared with a maximum when `mem.shared`, as the arena's),
 * exports the GateKernels functions. Instantiate with `{ env: { memory } }` and cast
 * `instance.exports` to GateKernels.
 */
/**
 * The kernels the whole-sequence loop (./recurrence.ts) calls, as functions to place in its
 * module: forward variants that add xp (LSTM, Elman) or b_hh (GRU) themselves, and the
 * backward kernels as exported here.
 */
/** fma: the nonlinearities' polynomials with relaxed_madd (the module must then validate relaxed SIMD). */
export function recurrenceGateFuncs(fma = false): Func[] {
  return [lstmForward(true, fma), gruForward(true, fma), rnnForward(true, fma), lstmBackward(fma), gruBackward(), rnnBackward()];
}

export function gatesModuleBytes(mem?: MemoryImport, opts: { fma?: boolean } = {}): Uint8Array {
  const fma = opts.fma === true;
  const funcs = [lstmForward(false, fma), lstmBackward(), gruForward(false, fma), gruBackward(), rnnForward(false, fma), rnnBackward(), map('exp', fma), map('sigmoid', fma), map('tanh', fma)];
  return encodeModule(funcs, Object.fromEntries(EXPORTS.map((name, k) => [name, k])), 1, mem);
}
