import { TensorError } from '../errors';
import { Func, V128, encodeModule, f32, splat } from './emitter';
import { KC, MC, MR, NC, NR, SCRATCH_BYTES, packedBFloats, relaxedSimdSupported, sgemmModuleBytes } from './sgemm';

import { recurrenceModuleBytes } from './recurrence';
import { poolInfo, poolSize, sgemmPackedParallel, sgemmParallel, startPool, stopPool } from './pool';
import { RESERVED, addressOf, arenaAlloc, arenaFree, arenaIsShared, arenaMemory, arenaStats, heapF32 } from './arena';

/**
 * Which kernel runs float32 GEMM: the WebAssembly SIMD module of ./sgemm.ts, or the JS
 * kernel of ../gemm.ts (always there: float64, no-SIMD runtimes, tiny products).
 *
 * Selection: UNFOLD_BACKEND=js|wasm forces one at load (wasm without SIMD support is an
 * error, not a silent fallback); unset, wasm is used when `WebAssembly.validate` accepts a
 * v128 module. `setBackend` changes it at run time (tests, benchmarks).
 *
 * Memory: the module imports the arena's memory (./arena.ts). An operand that already lives
 * in the arena (a WasmStorage tensor: weights, saved gate buffers) is addressed where it is,
 * with no copy; any other operand is copied into a workspace block of the arena:
 *   C span          C's elements [lo, hi] (copied in only when beta ≠ 0 or C has gaps)
 *   A span, B span  the operands' elements, copied with one memcpy (`set`) each
 *   pack A, pack B  the MR/NR panels, written by the module's own pack loops
 * The copies keep every stride: the module addresses X[base + i·rs + j·cs] in its copy,
 * so a transpose or a stepped or reversed view costs no JS-side gather (a JS gather runs
 * at ~1 ns/element, `set` at ~0.1; packing in wasm is as fast as the memcpy).
 * A C outside the arena is copied back after the call: alpha, beta (and "beta = 0 never
 * reads C") are applied by the kernel itself.
 */

type Mode = 'js' | 'wasm' | 'auto';

export interface BackendInfo {
  /** Which kernel float32 GEMM currently dispatches to. */
  gemm: 'wasm-simd' | 'js';
  /** Whether this runtime accepts WebAssembly SIMD modules. */
  simd: boolean;
  /** 'js' or 'wasm' when forced by UNFOLD_BACKEND or setBackend; 'auto' otherwise. */
  mode: Mode;
  /** Products with 2·M·N·K below this stay on the JS kernel (call and copy overhead). */
  minFlops: number;
  /** Current size of the wasm arena in bytes (0 until the first wasm call). */
  memoryBytes: number;
  /** Threads large float32 GEMMs are split over (1: the calling thread only). */
  threads: number;
  /** Why `threads` is lower than asked, if it is. */
  threadsNote: string;
  /** Whether the micro-kernel uses relaxed-SIMD fused multiply-add. */
  fma: boolean;
  /** Why float32 work runs on the JS kernels although wasm was wanted ('' when it does not). */
  fallback: string;
}

// Minimal typing of the global: the project's lib is ES2022, which has no WebAssembly.
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
type SgemmFn = (...args: number[]) => void;

/**
 * Measured crossover (Node 20, x64): at 4×4×4 both kernels take ~0.4 µs a call; from
 * 8×8×8 (1 kflop) on wasm is faster (0.4 vs 0.5 µs; 3.3 vs 36 µs at 32³).
 */
const MIN_FLOPS = 512;
/** A view whose index span exceeds SPARSE × its element count (+ slack) is not copied. */
const SPARSE = 4;
/** Products whose copies and packs need more workspace than this stay on JS (copying would dominate anyway). */
const MAX_WORK = 2 ** 30;

// The micro-kernel spills edge tiles at address 0: the arena never hands that out.
if (SCRATCH_BYTES > RESERVED) throw new Error('wasm backend: sgemm scratch exceeds the arena reserve');

const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

/** `() → v128`: f32x4.splat(0). Rejected by runtimes without the SIMD proposal. */
function simdProbe(): Uint8Array {
  return encodeModule([new Func([], [V128]).run(splat(f32(0)))], {});
}

const simd = ((): boolean => {
  try {
    return api !== undefined && api.validate(simdProbe());
  } catch {
    return false;
  }
})();

let mode: Mode = 'auto';
let fallbackReason = '';
/** setBackend's fma choice (undefined: UNFOLD_FMA or what the runtime accepts). */
let fmaWanted: boolean | undefined;

/**
 * The fast path could not load in automatic mode: say so once, plainly (a console warning
 * naming the reason), and keep the reason for backendInfo().fallback — never a silent switch.
 */
export function noteFallback(reason: string): void {
  if (fallbackReason !== '') return;
  fallbackReason = reason;
  const c = (globalThis as { console?: { warn(s: string): void } }).console;
  c?.warn(`@unfold/tensor: WebAssembly SIMD kernels unavailable, float32 work runs on the JS kernels (slower): ${reason}`);
}
let fmaOn = false;

/**
 * The relaxed-SIMD micro-kernel (f32x4.relaxed_madd: one rounding per multiply-add, ~1.8× the
 * flops of separate mul and add on x64 with FMA3) when the runtime accepts relaxed SIMD — on
 * by default from Node 22, behind `--experimental-wasm-relaxed-simd` on Node 20. UNFOLD_FMA=0
 * keeps the plain SIMD kernel. Results are deterministic for either kernel; they differ from
 * each other in the last bits (fused vs separate rounding).
 */
function useFma(): boolean {
  const env = typeof process !== 'undefined' ? process.env.UNFOLD_FMA : undefined;
  if (env !== undefined && env !== '' && env !== '0' && env !== '1') {
    throw new TensorError('backend', `UNFOLD_FMA=${env}: expected 0 or 1`);
  }
  if (env === '0') return false;
  const ok = relaxedSimdSupported();
  if (env === '1' && !ok) {
    throw new TensorError('backend', 'UNFOLD_FMA=1 but this runtime rejects relaxed SIMD (Node 20 needs --experimental-wasm-relaxed-simd)');
  }
  return ok;
}
let wantThreads = 1;
let minFlops = MIN_FLOPS;
let active = false;
let heap: Float32Array = new Float32Array(0);
let sgemm: SgemmFn | null = null;
let sgemmBytes: Uint8Array | null = null;
let packBFn: SgemmFn | null = null;
let sgemmPackedFn: SgemmFn | null = null;

/**
 * A B operand packed once for many products (`withPackedB`): the caller's (array, offset,
 * strides, K, N) and where its packed panels are in the arena.
 */
interface PackedB {
  B: Float32Array;
  off: number;
  rs: number;
  cs: number;
  K: number;
  N: number;
  addr: number;
}
const packedOperands: PackedB[] = [];

function findPacked(B: Float32Array, off: number, rs: number, cs: number, K: number, N: number): PackedB | null {
  for (const p of packedOperands) if (p.B === B && p.off === off && p.rs === rs && p.cs === cs && p.K === K && p.N === N) return p;
  return null;
}

/**
 * Runs fn with the [K, N] operand B(k, n) = B[off + k·rs + n·cs] packed once into the
 * micro-kernel's panel layout: every float32 product inside fn whose B is exactly this view
 * reads the panels instead of packing B again (a recurrent layer's W_hhᵀ, used by all T steps
 * of a forward). The caller promises B does not change inside fn. Same bits as without.
 */
export function withPackedB<T>(B: Float32Array, off: number, rs: number, cs: number, K: number, N: number, fn: () => T): T {
  if (!active || K < 1 || N < 1 || 2 * 32 * N * K < minFlops) return fn();
  try {
    instantiate();
  } catch {
    return fn();
  }
  const lo = off + Math.min(0, (K - 1) * rs) + Math.min(0, (N - 1) * cs);
  const span = Math.abs((K - 1) * rs) + Math.abs((N - 1) * cs) + 1;
  const res = addressOf(B);
  const copy = res < 0 ? arenaAlloc(4 * span) : 0; // a B outside the arena is copied in once
  const addr = arenaAlloc(4 * packedBFloats(K, N));
  try {
    if (copy !== 0) heapF32().set(B.subarray(lo, lo + span), copy / 4);
    const base = res >= 0 ? res / 4 + off : copy / 4 + (off - lo);
    (packBFn as SgemmFn)(base, rs, cs, K, N, addr);
  } finally {
    if (copy !== 0) arenaFree(copy);
  }
  packedOperands.push({ B, off, rs, cs, K, N, addr });
  try {
    return fn();
  } finally {
    packedOperands.splice(packedOperands.findIndex((p) => p.addr === addr), 1);
    arenaFree(addr);
  }
}
/** The workspace block of the arena for copied operands and packs (byte address, size). */
let work = 0;
let workBytes = 0;
/** Views of heap at the workspace start, by length: copying C back allocates nothing in steady state. */
const cViews = new Map<number, Float32Array>();

/**
 * Chooses the float32 GEMM kernel ('auto': wasm when supported). `minFlops` overrides the
 * size below which products stay on JS (tests pass 0 to send every product to wasm).
 */
export function setBackend(m: 'js' | 'wasm' | 'auto', opts: { minFlops?: number; fma?: boolean } = {}): void {
  if (m !== 'js' && m !== 'wasm' && m !== 'auto') {
    throw new TensorError('setBackend', `unknown backend '${String(m)}' (expected 'js', 'wasm' or 'auto')`);
  }
  if (m === 'wasm' && !simd) {
    throw new TensorError(
      'setBackend',
      `wasm backend requested but this runtime has no WebAssembly SIMD (${api === undefined ? 'no WebAssembly global' : 'WebAssembly.validate rejected a v128 module'}); use 'js'`,
    );
  }
  if (opts.fma !== undefined) {
    if (typeof opts.fma !== 'boolean') throw new TensorError('setBackend', `fma must be true or false, got ${String(opts.fma)}`);
    if (opts.fma && !relaxedSimdSupported()) throw new TensorError('setBackend', 'fma: true but this runtime rejects relaxed SIMD (Node 20 needs --experimental-wasm-relaxed-simd)');
    if (fmaWanted !== opts.fma) {
      fmaWanted = opts.fma;
      if (sgemm !== null) {
        // Re-instantiate with the other micro-kernel; a running pool restarts on the same bytes.
        const n = wantThreads;
        stopPool();
        sgemm = null;
        instantiate();
        if (n > 1 && simd) startThreads(n);
      }
    }
  }
  mode = m;
  minFlops = opts.minFlops ?? MIN_FLOPS;
  active = m !== 'js' && simd;
  if (m === 'wasm') instantiate(); // forced: fail here, loudly, if the module cannot be built
}

/**
 * Splits large float32 GEMMs over n threads: n − 1 worker threads (./pool.ts) map the shared
 * arena and run the same sgemm module; 1 stops them. Results are bit-identical for any n (the
 * split is by column panels, each computed exactly as on one thread). Off by default; the
 * environment variable UNFOLD_THREADS=n sets it at load. With one CPU, or without shared
 * memory, the pool stays off and backendInfo().threadsNote says why.
 */
export function setThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 16) throw new TensorError('setThreads', `thread count must be an integer in [1, 16], got ${String(n)}`);
  wantThreads = n;
  if (n === 1) {
    stopPool();
    return;
  }
  if (!simd) return; // no wasm: nothing to split (threadsNote says so)
  instantiate();
  if (poolSize() === n) return;
  stopPool();
  startThreads(n);
}

/** The pool on the backend's sgemm bytes, with the whole-sequence recurrence module (./recurrence.ts, same micro-kernel) as its task module. */
function startThreads(n: number): void {
  const taskBytes = arenaIsShared() ? recurrenceModuleBytes({ fma: fmaOn, shared: true }) : undefined;
  startPool(n, { moduleBytes: sgemmBytes as Uint8Array, taskBytes });
}

/** Whether the backend's sgemm module uses the FMA micro-kernel (instantiating it first); false when wasm cannot load. */
export function sgemmFma(): boolean {
  try {
    instantiate();
  } catch {
    return false;
  }
  return fmaOn;
}

export function backendInfo(): BackendInfo {
  return {
    gemm: active ? 'wasm-simd' : 'js', simd, mode, minFlops, memoryBytes: sgemm ? arenaStats().capacityBytes : 0,
    threads: active ? poolInfo().threads : 1,
    threadsNote: wantThreads > 1 && !active ? 'float32 GEMM runs on the JS kernel (one thread)' : poolInfo().threads < wantThreads ? poolInfo().reason : '',
    fma: sgemm ? fmaOn : fmaWanted ?? useFma(),
    fallback: fallbackReason,
  };
}

function instantiate(): void {
  if (sgemm !== null || api === undefined) return;
  // Synchronous compile: the module is ~3 KB (browsers allow sync compiles that small).
  const memory = arenaMemory();
  fmaOn = fmaWanted ?? useFma();
  const bytes = sgemmModuleBytes({ shared: arenaIsShared(), fma: fmaOn });
  sgemmBytes = bytes; // the pool's workers instantiate the same bytes: identical results
  const instance = new api.Instance(new api.Module(bytes), { env: { memory } });
  sgemm = instance.exports.sgemm as SgemmFn;
  packBFn = instance.exports.packB as SgemmFn;
  sgemmPackedFn = instance.exports.sgemmPacked as SgemmFn;
  heap = heapF32();
}

/** The workspace holds at least `bytes`: a bigger block replaces a smaller one. */
function reserve(bytes: number): void {
  if (bytes > workBytes) {
    if (work !== 0) arenaFree(work);
    workBytes = Math.ceil(bytes * 1.25);
    work = arenaAlloc(workBytes);
    cViews.clear();
  }
  // Any allocation may have grown the memory: a shared one keeps old views valid but short, a plain one detaches them.
  if (heap.length * 4 < work + workBytes) {
    heap = heapF32();
    cViews.clear();
  }
}

const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

/**
 * C[M,N] ← alpha·A·B + beta·C on float32 arrays in wasm, with gemmStrided's operand
 * convention (element (i,j) of X is X[xOff + i·rsX + j·csX]). Returns false, having done
 * nothing, when the JS kernel should run instead: wasm off, a small product, a sparse or
 * self-overlapping view, or an arena over 2 GiB. Callers handle M, N, K = 0 and alpha = 0.
 */
export function sgemmWasm(
  M: number, N: number, K: number, alpha: number,
  A: Float32Array, aOff: number, rsA: number, csA: number,
  B: Float32Array, bOff: number, rsB: number, csB: number,
  beta: number,
  C: Float32Array, cOff: number, rsC: number, csC: number,
): boolean {
  if (!active) {
    if (mode === 'auto' && !simd && fallbackReason === '') noteFallback(api === undefined ? 'this runtime has no WebAssembly global' : 'WebAssembly.validate rejected a v128 (SIMD) module');
    return false;
  }
  if (2 * M * N * K < minFlops) return false;
  if (sgemm === null) {
    try {
      instantiate();
    } catch (e) {
      active = false; // automatic mode only (forced mode instantiates eagerly): fall back to JS
      noteFallback(`the sgemm module did not instantiate: ${String(e)}`);
      return false;
    }
  }
  // An operand in the arena is addressed in place (element index of its first float).
  const aRes = addressOf(A);
  const bRes = addressOf(B);
  const cRes = addressOf(C);
  // Index spans [lo, lo + span) of each view.
  const cLo = cOff + Math.min(0, (M - 1) * rsC) + Math.min(0, (N - 1) * csC);
  const cSpan = Math.abs((M - 1) * rsC) + Math.abs((N - 1) * csC) + 1;
  // A span smaller than M·N means two (i,j) share an element (a zero or overlapping
  // stride): the order of the writes would matter, so leave it to the JS kernel.
  if (cSpan < M * N) return false;
  const slack = 4096;
  const P = packedOperands.length ? findPacked(B, bOff, rsB, csB, K, N) : null;
  let aLo = 0, aSpan = 0, bLo = 0, bSpan = 0;
  if (aRes < 0) {
    aLo = aOff + Math.min(0, (M - 1) * rsA) + Math.min(0, (K - 1) * csA);
    aSpan = Math.abs((M - 1) * rsA) + Math.abs((K - 1) * csA) + 1;
    if (aSpan > SPARSE * M * K + slack) return false;
  }
  if (bRes < 0 && P === null) {
    bLo = bOff + Math.min(0, (K - 1) * rsB) + Math.min(0, (N - 1) * csB);
    bSpan = Math.abs((K - 1) * rsB) + Math.abs((N - 1) * csB) + 1;
    if (bSpan > SPARSE * K * N + slack) return false;
  }
  if (cRes < 0 && cSpan > SPARSE * M * N + slack) return false;

  // Workspace layout in floats: [C copy][A copy][B copy][pack A][pack B], absent parts empty.
  // A and B are copied whole when that is at most twice their span: one `set` of the
  // array itself, no subarray object.
  const aWhole = aRes < 0 && A.length <= 2 * aSpan;
  const bWhole = bRes < 0 && P === null && B.length <= 2 * bSpan;
  const cLen = cRes < 0 ? roundUp(cSpan, 4) : 0;
  const aLen = aRes < 0 ? roundUp(aWhole ? A.length : aSpan, 4) : 0;
  const bLen = bRes < 0 && P === null ? roundUp(bWhole ? B.length : bSpan, 4) : 0;
  const packALen = roundUp(Math.min(M, MC), MR) * Math.min(K, KC);
  const packBLen = P !== null ? 0 : Math.min(K, KC) * roundUp(Math.min(N, NC), NR);
  const need = 4 * (cLen + aLen + bLen + packALen + packBLen);
  if (need > MAX_WORK) return false;
  reserve(need);
  const h = heap;
  const w0 = work / 4;
  const cDst = w0;
  const aDst = cDst + cLen;
  const bDst = aDst + aLen;
  const pA = bDst + bLen;
  const pB = pA + packALen;

  if (aRes < 0) h.set(aWhole ? A : A.subarray(aLo, aLo + aSpan), aDst);
  if (bRes < 0 && P === null) h.set(bWhole ? B : B.subarray(bLo, bLo + bSpan), bDst);
  // beta = 0 with a gap-free C: nothing of C is read, so nothing is copied in.
  const cWhole = cLo === 0 && cSpan === C.length;
  if (cRes < 0 && (beta !== 0 || cSpan !== M * N)) h.set(cWhole ? C : C.subarray(cLo, cLo + cSpan), cDst);

  const aB = aRes >= 0 ? aRes / 4 + aOff : aDst + (aWhole ? aOff : aOff - aLo);
  const bB = P !== null ? 0 : bRes >= 0 ? bRes / 4 + bOff : bDst + (bWhole ? bOff : bOff - bLo);
  const cB = cRes >= 0 ? cRes / 4 + cOff : cDst + cOff - cLo;
  const load = beta !== 0 ? 1 : 0;
  // Split over the pool when it runs and the product pays; else here, on this thread.
  if (P !== null) {
    if (wantThreads === 1 || !sgemmPackedParallel(M, N, K, alpha, beta, load, aB, rsA, csA, P.addr, cB, rsC, csC)) {
      (sgemmPackedFn as SgemmFn)(M, N, K, alpha, beta, load, aB, rsA, csA, P.addr, cB, rsC, csC, 4 * pA, 0, 0, 0);
    }
  } else if (wantThreads === 1 || !sgemmParallel(M, N, K, alpha, beta, load, aB, rsA, csA, bB, rsB, csB, cB, rsC, csC)) {
    (sgemm as SgemmFn)(M, N, K, alpha, beta, load, aB, rsA, csA, bB, rsB, csB, cB, rsC, csC, 4 * pA, 4 * pB, 0);
  }
  if (cRes >= 0) return true;

  let view = cViews.get(cSpan);
  if (view === undefined) {
    if (cViews.size >= 64) cViews.clear(); // bound the cache; products come in a few shapes
    view = h.subarray(cDst, cDst + cSpan);
    cViews.set(cSpan, view);
  }
  C.set(view, cLo);
  return true;
}

/** Reads UNFOLD_THREADS once, at load (after UNFOLD_BACKEND). */
function threadsFromEnv(): void {
  const env = typeof process !== 'undefined' ? process.env.UNFOLD_THREADS : undefined;
  if (env === undefined || env === '') return;
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1 || n > 16) throw new TensorError('backend', `UNFOLD_THREADS=${env}: expected an integer in [1, 16]`);
  setThreads(n);
}

/** Reads UNFOLD_BACKEND once, at load. */
function initFromEnv(): void {
  const env = typeof process !== 'undefined' ? process.env.UNFOLD_BACKEND : undefined;
  if (env === undefined || env === '' || env === 'auto') {
    mode = 'auto';
    active = simd;
    return;
  }
  if (env !== 'js' && env !== 'wasm') {
    throw new TensorError('backend', `UNFOLD_BACKEND=${env}: expected 'js' or 'wasm' (or unset for automatic)`);
  }
  if (env === 'wasm' && !simd) {
    throw new TensorError('backend', 'UNFOLD_BACKEND=wasm but this runtime has no WebAssembly SIMD (WebAssembly.validate rejected a v128 module); unset it or use UNFOLD_BACKEND=js');
  }
  setBackend(env);
}

initFromEnv();
threadsFromEnv();

/** Whether float32 kernels currently dispatch to wasm (resident tensors pay off only then). */
export function wasmActive(): boolean {
  return active;
}
