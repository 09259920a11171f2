import { MAX_PAGES, addressOf, arenaAlloc, arenaFree, arenaIsShared, arenaMemory, heapF32 } from './arena';
import { noteFallback, wasmActive } from './backend';
import { GateKernels, gatesModuleBytes } from './gates';

/**
 * The gate-nonlinearity kernels of ./gates.ts instantiated on the arena, and the staging area
 * through which a fused cell hands them operands that do not live in the arena.
 *
 * A cell step calls `stage.begin(floats)` with an upper bound of what it will stage, then
 * `stage.in(...)` per operand (in place when already resident, else one copy into the
 * staging block) and `stage.out(n)` per output, runs the kernel, and copies outputs back
 * with `stage.copyOut`. The block is one arena allocation reused call after call: the
 * staged addresses are valid until the next `begin`.
 */

interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

let kernels: GateKernels | null | undefined;

/** The gate kernels when float32 work goes to wasm (and the module instantiated), else null. */
export function gateKernels(): GateKernels | null {
  if (!wasmActive()) return null;
  if (kernels === undefined) {
    try {
      const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly as WasmApi;
      const bytes = gatesModuleBytes(arenaIsShared() ? { shared: true, maxPages: MAX_PAGES } : undefined);
      const inst = new api.Instance(new api.Module(bytes), { env: { memory: arenaMemory() } });
      kernels = inst.exports as unknown as GateKernels;
    } catch (e) {
      kernels = null; // the JS loops stay correct, and the reason is told once
      noteFallback(`the gate-kernel module did not instantiate: ${String(e)}`);
    }
  }
  return kernels;
}

let block = 0;
let blockBytes = 0;
let used = 0;
let heap: Float32Array = new Float32Array(0);

/** Rounds a byte count up to 16 (SIMD-friendly starts for each staged operand). */
const align16 = (n: number): number => (n + 15) & ~15;

export const stage = {
  /** Leading dimension (elements) of the operand `in` last returned. */
  ld: 0,

  /** Starts a call that stages at most `floats` floats in all (plus per-operand alignment). */
  begin(floats: number): void {
    const need = 4 * floats + 16 * 16;
    if (need > blockBytes) {
      if (block !== 0) arenaFree(block);
      blockBytes = Math.ceil(need * 1.5);
      block = arenaAlloc(blockBytes);
    }
    if (heap.length * 4 < block + blockBytes) heap = heapF32();
    used = 0;
  },

  /**
   * Byte address of the [rows, cols] operand X(b, j) = d[o + b·ld + j] for a kernel; `stage.ld`
   * is its leading dimension. Resident operands are addressed in place, others copied in.
   */
  in(d: Float32Array, o: number, ld: number, rows: number, cols: number): number {
    const at = addressOf(d);
    if (at >= 0) {
      stage.ld = ld;
      return at + 4 * o;
    }
    const addr = block + used;
    const base = addr >> 2;
    if (ld === cols || rows <= 1) heap.set(d.subarray(o, o + rows * cols), base);
    else for (let b = 0; b < rows; b++) heap.set(d.subarray(o + b * ld, o + b * ld + cols), base + b * cols);
    used += align16(4 * rows * cols);
    stage.ld = cols;
    return addr;
  },

  /** Byte address of a contiguous staged output of n floats. */
  out(n: number): number {
    const addr = block + used;
    used += align16(4 * n);
    return addr;
  },

  /**
   * A Float32Array over n staged floats at addr (a GEMM operand read in place). On a non-shared
   * memory a later grow would detach it, so there it is a copy.
   */
  view(addr: number, n: number): Float32Array {
    const v = heap.subarray(addr >> 2, (addr >> 2) + n);
    return arenaIsShared() ? v : v.slice();
  },

  /** dst[dOff .. dOff + n) ← the n staged floats at addr. */
  copyOut(addr: number, dst: Float32Array, dOff: number, n: number): void {
    dst.set(heap.subarray(addr >> 2, (addr >> 2) + n), dOff);
  },
};

/**
 * dst[dOff + i] = e^src[sOff + i] for i < n on the wasm vector exp (within 1.4 ulp); false,
 * having done nothing, when the kernels are not in use (the caller runs Math.exp).
 */
export function expWasm(src: Float32Array, sOff: number, dst: Float32Array, dOff: number, n: number): boolean {
  const k = gateKernels();
  if (k === null || n < 64) return false;
  // In chunks: the staging block stays small (and in cache) whatever the size of the tensor.
  for (let at = 0; at < n; at += EXP_CHUNK) {
    const m = Math.min(EXP_CHUNK, n - at);
    stage.begin(2 * m);
    const a = stage.in(src, sOff + at, m, 1, m);
    const d = addressOf(dst);
    const o = d >= 0 ? d + 4 * (dOff + at) : stage.out(m);
    k.exp(m, a, o);
    if (d < 0) stage.copyOut(o, dst, dOff + at, m);
  }
  return true;
}
const EXP_CHUNK = 16384;
