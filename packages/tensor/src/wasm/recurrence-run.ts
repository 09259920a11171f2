import { TensorError } from '../errors';
import { arenaAlloc, arenaFree, arenaIsShared, arenaMemory } from './arena';
import { sgemmFma, wasmActive } from './backend';
import { runTask, taskThreads } from './pool';
import { D, DESC_INTS, MAX_PARTS, recurrenceModuleBytes } from './recurrence';
import { KC, MC, MR, packedBFloats } from './sgemm';

/**
 * The whole-sequence recurrence kernels of ./recurrence.ts, instantiated on the arena, and
 * their calls: a RecurrenceCall names every buffer by byte address (0 = absent); `forward` and
 * `backward` write it into a descriptor block and run its row parts, on the pool's threads
 * when it runs with the task module (setThreads), else one after another on this thread.
 * Only on a shared arena (the worker threads' memory, and views that never detach).
 */

export type RecurrenceKind = 'rnn_tanh' | 'rnn_relu' | 'lstm' | 'gru';
const KIND: Record<RecurrenceKind, number> = { rnn_tanh: 0, rnn_relu: 1, lstm: 2, gru: 3 };

export interface RecurrenceCall {
  kind: RecurrenceKind;
  T: number;
  B: number;
  H: number;
  reverse: boolean;
  /** xp [T,B,G·H] (real time order), or with `ids` the table [I, G·H] whose rows ids[t, b] are xp_t; forward only. */
  xp: number;
  /** One-hot input: int32 ids [T,B] (real time order), and a [B, G·H] block the rows are gathered into per step; 0 otherwise. */
  ids?: number;
  xg?: number;
  /** W_hhᵀ packed as the [H, G·H] B operand (forward) or W_hh as the [G·H, H] one (backward): packB's layout. */
  pW: number;
  /** States [sRing,B,H] (slot i = the state before step i mod sRing), LSTM cells C likewise. */
  S: number;
  sRing: number;
  /** Activated gates [actRing,B,W] (W = 4H for LSTM and GRU), LSTM tanh(c') [actRing,B,H]. */
  act: number;
  actRing: number;
  C: number;
  /** LSTM tanh(c') [tcRing,B,H] (tcRing defaults to actRing); backward: 0 = recompute it from C. */
  TC: number;
  tcRing?: number;
  /** GRU b_hh [3H]. */
  bhh: number;
  /** Int32 lengths [B], or 0. */
  lengths: number;
  /** Outputs [T,B,H] (real time order; frozen rows 0), or 0: forward only. */
  out: number;
  /** Backward: output adjoints [T,B,H] (or 0), carried adjoints [4,B,H], gate adjoints DA, GRU dxp DX [T,B,G·H]. */
  dOut: number;
  carry: number;
  DA: number;
  DX: number;
}

export interface Recurrence {
  /** Runs the forward loop of c in `parts` row parts (1: all rows at once; default: 4 per thread, of at least 4 rows). */
  forward(c: RecurrenceCall, parts?: number): void;
  backward(c: RecurrenceCall, parts?: number): void;
  /** packB(bBase, rsB, csB, K, N, dst): B(k, n) = f32[bBase + k·rsB + n·csB] (element index) packed at byte address dst (packedBFloats(K, N) floats). */
  packB(bBase: number, rsB: number, csB: number, K: number, N: number, dst: number): void;
  /** Floats packB writes for a [K, N] operand. */
  packedFloats(K: number, N: number): number;
  /** dst[j] += Σ_r src[r·cols + j] over rows r in order (byte addresses, contiguous). */
  colSum(rows: number, cols: number, src: number, dst: number): void;
  /** scatterAdd(n, cols, ids, src, dst): dst[ids[r]·cols + j] += src[r·cols + j], r = 0…n−1 in order (byte addresses; ids int32). */
  scatterAdd(n: number, cols: number, ids: number, src: number, dst: number): void;
  /** Threads a call runs on now. */
  threads(): number;
  /** A Float32Array over the whole arena as it is now (take it after the call's allocations). */
  heap(): Float32Array;
}

type Fn = (...a: number[]) => void;
interface Instance {
  fma: boolean;
  seqForward: Fn;
  seqBackward: Fn;
  packB: Fn;
  colSum: Fn;
  scatterAdd: Fn;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

let inst: Instance | null = null;
let failed = '';
let desc = 0;
let pA = 0;
let pALen = 0;

/** The recurrence kernels when float32 work goes to wasm on a shared arena, else null. */
export function recurrence(): Recurrence | null {
  if (!wasmActive() || !arenaIsShared() || failed !== '') return null;
  const fma = sgemmFma();
  if (inst === null || inst.fma !== fma) {
    try {
      const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly as WasmApi;
      const ex = new api.Instance(new api.Module(recurrenceModuleBytes({ fma, shared: true })), { env: { memory: arenaMemory() } }).exports;
      inst = { fma, seqForward: ex.seqForward as Fn, seqBackward: ex.seqBackward as Fn, packB: ex.packB as Fn, colSum: ex.colSum as Fn, scatterAdd: ex.scatterAdd as Fn };
    } catch (e) {
      failed = String(e); // the JS-driven loop stays correct
      return null;
    }
  }
  return api;
}

/** Row starts of `parts` parts of B rows, each a multiple of MR rows where B allows (the GEMM's tiles). */
function rowStarts(B: number, parts: number): number[] {
  const n = Math.max(1, Math.min(parts, MAX_PARTS, B));
  const q = B >= MR * n ? Math.ceil(B / n / MR) * MR : Math.ceil(B / n);
  const s: number[] = [];
  for (let p = 0; p <= n; p++) s.push(Math.min(B, p * q));
  while (s.length > 2 && s[s.length - 2] === B) s.pop(); // no empty parts at the end
  return s;
}

function run(fn: 0 | 1, c: RecurrenceCall, parts: number | undefined): void {
  const k = inst as Instance;
  if (!Number.isInteger(c.T) || c.T < 1 || c.B < 1 || c.H < 1) throw new TensorError('recurrence', `T, B, H must be ≥ 1, got ${c.T}, ${c.B}, ${c.H}`);
  if (desc === 0) desc = arenaAlloc(4 * DESC_INTS);
  const G = c.kind === 'lstm' ? 4 : c.kind === 'gru' ? 3 : 1;
  // Default: 4 parts per thread of ≥ MR rows each. Parts are claimed, not assigned, so finer parts
  // let the caller take over the rows of a worker the OS is not running (another process on its
  // core): measured at load 2.7 on 2 cores, W1 training 2 threads 18.5 ms with 2 parts, 15.8 with 4 or 8 (28.1 on one thread).
  const th = taskThreads();
  const starts = rowStarts(c.B, parts ?? (th > 1 ? Math.min(4 * th, Math.ceil(c.B / MR)) : 1));
  const P = starts.length - 1;
  const I = new Int32Array(arenaMemory().buffer, desc, DESC_INTS);
  I[D.KIND] = KIND[c.kind]; I[D.T] = c.T; I[D.B] = c.B; I[D.H] = c.H; I[D.REV] = c.reverse ? 1 : 0;
  I[D.XP] = c.xp; I[D.PW] = c.pW; I[D.S] = c.S; I[D.S_RING] = c.sRing; I[D.ACT] = c.act; I[D.ACT_RING] = c.actRing;
  I[D.C] = c.C; I[D.TC] = c.TC; I[D.BHH] = c.bhh; I[D.LENS] = c.lengths; I[D.OUT] = c.out;
  I[D.DOUT] = c.dOut; I[D.CARRY] = c.carry; I[D.DA] = c.DA; I[D.DX] = c.DX; I[D.PARTS] = P;
  I[D.IDS] = c.ids ?? 0; I[D.XG] = c.xg ?? 0; I[D.TC_RING] = c.tcRing ?? c.actRing;
  for (let p = 0; p <= P; p++) I[D.ROWS + p] = starts[p];
  const M = starts[1] - starts[0]; // the largest part
  const K = G * c.H; // A operands: h [·, H] forward, da [·, G·H] backward
  const f = fn === 0 ? k.seqForward : k.seqBackward;
  const local = (part: number, a: number, spill: number): void => f(desc, part, a, spill);
  if (P > 1 && runTask(fn, desc, P, M, K, local)) return;
  const need = Math.ceil(Math.min(M, MC) / MR) * MR * Math.min(K, KC);
  if (need > pALen) {
    if (pALen) arenaFree(pA);
    pA = arenaAlloc(4 * need);
    pALen = need;
  }
  for (let p = 0; p < P; p++) f(desc, p, pA, 0);
}

const api: Recurrence = {
  forward: (c, parts) => run(0, c, parts),
  backward: (c, parts) => run(1, c, parts),
  packB: (bBase, rsB, csB, K, N, dst) => (inst as Instance).packB(bBase, rsB, csB, K, N, dst),
  packedFloats: (K, N) => packedBFloats(K, N),
  colSum: (rows, cols, src, dst) => (inst as Instance).colSum(rows, cols, src, dst),
  scatterAdd: (n, cols, ids, src, dst) => (inst as Instance).scatterAdd(n, cols, ids, src, dst),
  threads: () => taskThreads(),
  heap: () => new Float32Array(arenaMemory().buffer),
};
