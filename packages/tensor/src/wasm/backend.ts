import { TensorError } from '../errors';
import { Func, V128, encodeModule, f32, splat } from './emitter';
import { KC, MC, MR, NC, NR, SCRATCH_BYTES, sgemmModuleBytes } from './sgemm';

/**
 * Which kernel runs float32 GEMM: the WebAssembly SIMD module of ./sgemm.ts, or the JS
 * kernel of ../gemm.ts (always there: float64, no-SIMD runtimes, tiny products).
 *
 * Selection: UNFOLD_BACKEND=js|wasm forces one at load (wasm without SIMD support is an
 * error, not a silent fallback); unset, wasm is used when `WebAssembly.validate` accepts a
 * v128 module. `setBackend` changes it at run time (tests, benchmarks).
 *
 * Memory: one WebAssembly.Memory arena, grown on demand and never shrunk. Per call:
 *   [0, SCRATCH)    edge-tile spill of the micro-kernel
 *   C span          C's elements [lo, hi] (copied in only when beta ≠ 0 or C has gaps)
 *   A span, B span  the operands' elements, copied with one memcpy (`set`) each
 *   pack A, pack B  the MR/NR panels, written by the module's own pack loops
 * The copies keep every stride: the module addresses X[base + i·rs + j·cs] in its copy,
 * so a transpose or a stepped or reversed view costs no JS-side gather (a JS gather runs
 * at ~1 ns/element, `set` at ~0.1; packing in wasm is as fast as the memcpy).
 * After the call C's span is copied back: alpha, beta (and "beta = 0 never reads C") are
 * applied by the kernel itself.
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
}

// Minimal typing of the global: the project's lib is ES2022, which has no WebAssembly.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Memory: new (desc: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
type SgemmFn = (...args: number[]) => void;

const PAGE = 65536;
/** Byte addresses stay below 2 GiB so element indices (×4) and signed strides fit in i32. */
const MAX_BYTES = 2 ** 31;
/**
 * Measured crossover (Node 20, x64): at 4×4×4 both kernels take ~0.4 µs a call; from
 * 8×8×8 (1 kflop) on wasm is faster (0.4 vs 0.5 µs; 3.3 vs 36 µs at 32³).
 */
const MIN_FLOPS = 512;
/** A view whose index span exceeds SPARSE × its element count (+ slack) is not copied. */
const SPARSE = 4;
const C_BASE = SCRATCH_BYTES / 4;

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
let minFlops = MIN_FLOPS;
let active = false;
let memory: WasmMemory | null = null;
let heap = new Float32Array(0);
let sgemm: SgemmFn | null = null;
/** Views of heap at C_BASE, by length: copying C back allocates nothing in steady state. */
const cViews = new Map<number, Float32Array>();

/**
 * Chooses the float32 GEMM kernel ('auto': wasm when supported). `minFlops` overrides the
 * size below which products stay on JS (tests pass 0 to send every product to wasm).
 */
export function setBackend(m: 'js' | 'wasm' | 'auto', opts: { minFlops?: number } = {}): void {
  if (m !== 'js' && m !== 'wasm' && m !== 'auto') {
    throw new TensorError('setBackend', `unknown backend '${String(m)}' (expected 'js', 'wasm' or 'auto')`);
  }
  if (m === 'wasm' && !simd) {
    throw new TensorError(
      'setBackend',
      `wasm backend requested but this runtime has no WebAssembly SIMD (${api === undefined ? 'no WebAssembly global' : 'WebAssembly.validate rejected a v128 module'}); use 'js'`,
    );
  }
  mode = m;
  minFlops = opts.minFlops ?? MIN_FLOPS;
  active = m !== 'js' && simd;
  if (m === 'wasm') instantiate(); // forced: fail here, loudly, if the module cannot be built
}

export function backendInfo(): BackendInfo {
  return { gemm: active ? 'wasm-simd' : 'js', simd, mode, minFlops, memoryBytes: memory ? memory.buffer.byteLength : 0 };
}

function instantiate(): void {
  if (sgemm !== null || api === undefined) return;
  // Synchronous compile: the module is ~3 KB (browsers allow sync compiles that small).
  memory = new api.Memory({ initial: 1 });
  const instance = new api.Instance(new api.Module(sgemmModuleBytes()), { env: { memory } });
  sgemm = instance.exports.sgemm as SgemmFn;
  heap = new Float32Array(memory.buffer);
}

/** Grows the arena to at least `bytes`; every Float32Array over the old buffer is detached by the grow, so views are re-made. */
function reserve(bytes: number): void {
  const mem = memory as WasmMemory;
  const have = mem.buffer.byteLength;
  if (bytes <= have) return;
  mem.grow(Math.ceil((bytes - have) / PAGE));
  heap = new Float32Array(mem.buffer);
  cViews.clear();
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
  if (!active || 2 * M * N * K < minFlops) return false;
  if (sgemm === null) {
    try {
      instantiate();
    } catch {
      active = false; // automatic mode only (forced mode instantiates eagerly): fall back to JS
      return false;
    }
  }
  // Index spans [lo, lo + span) of each view.
  const aLo = aOff + Math.min(0, (M - 1) * rsA) + Math.min(0, (K - 1) * csA);
  const aSpan = Math.abs((M - 1) * rsA) + Math.abs((K - 1) * csA) + 1;
  const bLo = bOff + Math.min(0, (K - 1) * rsB) + Math.min(0, (N - 1) * csB);
  const bSpan = Math.abs((K - 1) * rsB) + Math.abs((N - 1) * csB) + 1;
  const cLo = cOff + Math.min(0, (M - 1) * rsC) + Math.min(0, (N - 1) * csC);
  const cSpan = Math.abs((M - 1) * rsC) + Math.abs((N - 1) * csC) + 1;
  const slack = 4096;
  if (aSpan > SPARSE * M * K + slack || bSpan > SPARSE * K * N + slack || cSpan > SPARSE * M * N + slack) return false;
  // A span smaller than M·N means two (i,j) share an element (a zero or overlapping
  // stride): the order of the writes would matter, so leave it to the JS kernel.
  if (cSpan < M * N) return false;

  // A and B are copied whole when that is at most twice their span: one `set` of the
  // array itself, no subarray object. Element offsets below are in floats.
  const aWhole = A.length <= 2 * aSpan;
  const bWhole = B.length <= 2 * bSpan;
  const aDst = roundUp(C_BASE + cSpan, 4);
  const bDst = roundUp(aDst + (aWhole ? A.length : aSpan), 4);
  const pA = roundUp(bDst + (bWhole ? B.length : bSpan), 4);
  const pB = pA + roundUp(Math.min(M, MC), MR) * Math.min(K, KC);
  const end = pB + Math.min(K, KC) * roundUp(Math.min(N, NC), NR);
  if (4 * end > MAX_BYTES) return false;
  reserve(4 * end);
  const h = heap;

  h.set(aWhole ? A : A.subarray(aLo, aLo + aSpan), aDst);
  h.set(bWhole ? B : B.subarray(bLo, bLo + bSpan), bDst);
  const cWhole = cLo === 0 && cSpan === C.length;
  // beta = 0 with a gap-free C: nothing of C is read, so nothing is copied in.
  if (beta !== 0 || cSpan !== M * N) h.set(cWhole ? C : C.subarray(cLo, cLo + cSpan), C_BASE);

  (sgemm as SgemmFn)(
    M, N, K, alpha, beta, beta !== 0 ? 1 : 0,
    aDst + (aWhole ? aOff : aOff - aLo), rsA, csA,
    bDst + (bWhole ? bOff : bOff - bLo), rsB, csB,
    C_BASE + cOff - cLo, rsC, csC,
    4 * pA, 4 * pB,
  );

  let view = cViews.get(cSpan);
  if (view === undefined) {
    if (cViews.size >= 64) cViews.clear(); // bound the cache; products come in a few shapes
    view = h.subarray(C_BASE, C_BASE + cSpan);
    cViews.set(cSpan, view);
  }
  C.set(view, cLo);
  return true;
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
