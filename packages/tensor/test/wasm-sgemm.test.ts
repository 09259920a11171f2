import * as fc from 'fast-check';
import * as v8 from 'v8';
import { Rng } from '@unfold/tensor';
import { KC, MC, MR, NC, NR, SCRATCH_BYTES, packedBFloats, relaxedSimdSupported, sgemmModuleBytes } from '../src/wasm/sgemm';

/*
 * The raw sgemm module (no backend.ts): operands written straight into its memory with
 * arbitrary signed strides, every entry point (sgemm; packB + sgemmPacked), the FMA
 * variant, a shared memory. Oracle: a float64 loop over the same strided elements.
 *
 * Tolerance, per element of C: with u = 2^-24 (float32 unit roundoff) and exact float32
 * inputs, the kernel's result is alpha·Σ_p a_ip·b_pj + beta·c computed in float32 with
 * K products and K-1 sums per KC slice (|error| ≤ (kc+1)·u·Σ|a·b| to first order; FMA
 * removes the product roundings, which only tightens it), then per slice one multiply by
 * alpha and one add onto C (2 more roundings of partial sums ≤ Σ|alpha·a·b| + |beta·c|),
 * and beta·c once. So
 *   |c − ref| ≤ (K + 2·slices + 3)·u·(Σ_p |alpha·a_ip·b_pj| + |beta·c_ij|),
 * slices = ⌈K/KC⌉. The float64 oracle's own error (K·2^-53 relative) is negligible.
 * The bound scales with Σ|a·b|, not |Σ a·b|: cancellation is allowed to lose digits.
 */

const U = 2 ** -24;
const PAGE = 65536;

interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Memory: new (desc: { initial: number; maximum?: number; shared?: boolean }) => { buffer: ArrayBuffer; grow(pages: number): number };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, (...args: number[]) => void> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** A strided [rows, cols] matrix: element (i,j) at data[off + i·rs + j·cs]. */
interface Mat {
  rows: number;
  cols: number;
  data: Float32Array;
  off: number;
  rs: number;
  cs: number;
}
type Layout = 'row' | 'col' | 'rowPad' | 'revRow' | 'revCol';
const LAYOUTS: Layout[] = ['row', 'col', 'rowPad', 'revRow', 'revCol'];

function mat(rng: Rng, rows: number, cols: number, layout: Layout, scale = 1): Mat {
  const pad = layout === 'rowPad' ? 3 : 0;
  const ld = layout === 'col' || layout === 'revCol' ? rows : cols + pad;
  const size = layout === 'col' || layout === 'revCol' ? cols * ld : rows * ld;
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = (rng.next() * 2 - 1) * scale;
  switch (layout) {
    case 'row':
    case 'rowPad':
      return { rows, cols, data, off: 0, rs: ld, cs: 1 };
    case 'col':
      return { rows, cols, data, off: 0, rs: 1, cs: ld };
    case 'revRow':
      return { rows, cols, data, off: (rows - 1) * ld, rs: -ld, cs: 1 };
    case 'revCol':
      return { rows, cols, data, off: (cols - 1) * ld, rs: 1, cs: -ld };
  }
}

const at = (x: Mat, i: number, j: number): number => x.data[x.off + i * x.rs + j * x.cs];
const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

/** One instance on its own memory; `gemm` copies the operands in, calls, copies C out. */
class Raw {
  private readonly mem: InstanceType<WasmApi['Memory']>;
  private readonly e: Record<string, (...args: number[]) => void>;

  constructor(bytes: Uint8Array, shared = false) {
    this.mem = shared ? new wasm.Memory({ initial: 1, maximum: 1024, shared: true }) : new wasm.Memory({ initial: 1 });
    this.e = new wasm.Instance(new wasm.Module(bytes), { env: { memory: this.mem } }).exports;
  }

  /**
   * C ← alpha·A·B + beta·C through `sgemm`, or `packB` then `sgemmPacked` when prepacked;
   * with `blocks` (first columns, multiples of NR), one sgemmPacked per column block of
   * the packed B (jOff, np), as a thread pool splits it.
   */
  gemm(alpha: number, a: Mat, b: Mat, beta: number, c: Mat, prepacked: boolean, blocks: number[] = [0]): void {
    const [M, K, N] = [a.rows, a.cols, b.cols];
    // Float offsets, 16-byte aligned: scratch | A | B | C | pack A | pack B (or all of B packed).
    const aAt = roundUp(SCRATCH_BYTES / 4, 4);
    const bAt = roundUp(aAt + a.data.length, 4);
    const cAt = roundUp(bAt + b.data.length, 4);
    const pA = roundUp(cAt + c.data.length, 4);
    const pB = roundUp(pA + roundUp(Math.min(M, MC), MR) * Math.min(K, KC), 4);
    const end = pB + (prepacked ? packedBFloats(K, N) : Math.min(K, KC) * roundUp(Math.min(N, NC), NR));
    const have = this.mem.buffer.byteLength;
    if (4 * end > have) this.mem.grow(Math.ceil((4 * end - have) / PAGE));
    const heap = new Float32Array(this.mem.buffer);
    heap.fill(NaN, pA, end); // stale pack buffers must not leak into results
    heap.set(a.data, aAt);
    heap.set(b.data, bAt);
    heap.set(c.data, cAt);
    const load = beta !== 0 ? 1 : 0;
    if (prepacked) {
      this.e.packB(bAt + b.off, b.rs, b.cs, K, N, 4 * pB);
      const np = packedBFloats(K, N) / K;
      blocks.forEach((j0, t) => {
        const n = (t + 1 < blocks.length ? blocks[t + 1] : N) - j0;
        this.e.sgemmPacked(M, n, K, alpha, beta, load, aAt + a.off, a.rs, a.cs, 4 * pB, cAt + c.off + j0 * c.cs, c.rs, c.cs, 4 * pA, 0, j0, np);
      });
    } else {
      this.e.sgemm(M, N, K, alpha, beta, load, aAt + a.off, a.rs, a.cs, bAt + b.off, b.rs, b.cs, cAt + c.off, c.rs, c.cs, 4 * pA, 4 * pB);
    }
    c.data.set(new Float32Array(this.mem.buffer, 4 * cAt, c.data.length));
  }
}

/** Max over C of |c − ref| / bound (≤ 1 passes); NaN when a NaN or ∞ appears. Also checks C's padding is untouched. */
function errorRatio(alpha: number, a: Mat, b: Mat, beta: number, c0: Mat, c: Mat): number {
  const [M, K, N] = [a.rows, a.cols, b.cols];
  const gamma = (K + 2 * Math.ceil(K / KC) + 3) * U;
  let worst = 0;
  const written = new Set<number>();
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      let abs = 0;
      for (let p = 0; p < K; p++) {
        const t = alpha * at(a, i, p) * at(b, p, j);
        s += t;
        abs += Math.abs(t);
      }
      // beta = 0: C is never read, so a NaN there must not reach the result.
      if (beta !== 0) {
        s += beta * at(c0, i, j);
        abs += Math.abs(beta * at(c0, i, j));
      }
      const got = at(c, i, j);
      if (!Number.isFinite(got)) return NaN;
      worst = Math.max(worst, Math.abs(got - s) / (gamma * abs + Number.MIN_VALUE));
      written.add(c.off + i * c.rs + j * c.cs);
    }
  }
  for (let k = 0; k < c.data.length; k++) {
    if (!written.has(k) && !Object.is(c.data[k], c0.data[k])) return NaN; // wrote outside C's M×N elements
  }
  return worst;
}

interface Args {
  M: number;
  N: number;
  K: number;
  la: Layout;
  lb: Layout;
  lc: Layout;
  beta: 0 | 1 | 0.5;
  alpha: number;
  scale: number;
  seed: number;
}

const edge = (values: number[], lo: number, hi: number): fc.Arbitrary<number> => fc.oneof(fc.constantFrom(...values), fc.integer({ min: lo, max: hi }));
const argsArb: fc.Arbitrary<Args> = fc.record({
  M: edge([1, 3, 4, 5, 32, 33], 1, 40),
  N: edge([1, 7, 8, 9, 65], 1, 72),
  K: edge([1, 2, 255, 256, 257], 1, 300),
  la: fc.constantFrom(...LAYOUTS),
  lb: fc.constantFrom(...LAYOUTS),
  lc: fc.constantFrom<Layout>('row', 'rowPad', 'col', 'revRow'),
  beta: fc.constantFrom<0 | 1 | 0.5>(0, 1, 0.5),
  alpha: fc.constantFrom(1, -0.75, 3),
  // Large and tiny magnitudes: the bound is relative, so it must hold at any scale float32 can hold products of.
  scale: fc.constantFrom(1, 2 ** 40, 2 ** -40),
  seed: fc.integer({ min: 0, max: 2 ** 30 }),
});

/** Runs one random case on `raw`; returns the error ratio (≤ 1 passes). */
function trial(raw: Raw, x: Args, prepacked: boolean): number {
  const rng = new Rng(x.seed);
  const a = mat(rng, x.M, x.K, x.la, x.scale);
  const b = mat(rng, x.K, x.N, x.lb, x.scale);
  const c = mat(rng, x.M, x.N, x.lc, x.scale * x.scale);
  if (x.beta === 0) for (let i = 0; i < c.data.length; i++) if (i % 2 === 0) c.data[i] = NaN;
  const c0 = { ...c, data: c.data.slice() };
  raw.gemm(x.alpha, a, b, x.beta, c, prepacked);
  return errorRatio(x.alpha, a, b, x.beta, c0, c);
}

const RUNS = 60;

/** The property on one module: both entry points, every layout, beta 0/0.5/1. */
function holds(raw: Raw, seed: number): void {
  fc.assert(
    fc.property(argsArb, fc.boolean(), (x, prepacked) => {
      const r = trial(raw, x, prepacked);
      return r <= 1; // false on NaN too
    }),
    { seed, numRuns: RUNS },
  );
}

describe('raw wasm sgemm module', () => {
  const simd = new Raw(sgemmModuleBytes());

  test('sgemm and packB + sgemmPacked match a float64 oracle within (K + 2·slices + 3)·u·Σ|a·b|', () => {
    holds(simd, 11);
  });

  test('blocks: K over several KC slices and N over NC, pre-packed and not', () => {
    const rng = new Rng(5);
    for (const prepacked of [false, true]) {
      const x: Args = { M: 5, N: NC + 9, K: 2 * KC + 3, la: 'row', lb: 'col', lc: 'row', beta: 1, alpha: 1, scale: 1, seed: rng.int(0, 1e9) };
      expect(trial(simd, x, prepacked)).toBeLessThanOrEqual(1);
      expect(trial(simd, { ...x, M: MC + 5, N: 20, K: 40, la: 'col', lb: 'row' }, prepacked)).toBeLessThanOrEqual(1);
    }
  });

  test('the RNN shapes in their three forms are bit-identical through sgemm and sgemmPacked', () => {
    // Same loop nest and same packed panels: only who packs B differs, so the sums are too.
    for (const [la, lb] of [['row', 'row'], ['row', 'col'], ['col', 'row']] as const) {
      const rng = new Rng(7);
      const a = mat(rng, 32, 256, la);
      const b = mat(rng, 256, 65, lb);
      const c1 = mat(rng, 32, 65, 'row');
      const c2 = { ...c1, data: c1.data.slice() };
      simd.gemm(1, a, b, 1, c1, false);
      simd.gemm(1, a, b, 1, c2, true);
      expect(c2.data).toEqual(c1.data);
    }
  });

  test('sgemmPacked on column blocks of one packed B (jOff, np) gives the bits of the whole call, K over several slices', () => {
    const rng = new Rng(8);
    for (const [M, K, N] of [[32, 2 * KC + 7, 70], [5, KC, 24], [33, 3, 17]]) {
      const a = mat(rng, M, K, 'row');
      const b = mat(rng, K, N, 'col');
      const c1 = mat(rng, M, N, 'rowPad');
      const c2 = { ...c1, data: c1.data.slice() };
      simd.gemm(1.5, a, b, 0.5, c1, true);
      simd.gemm(1.5, a, b, 0.5, c2, true, [0, NR, 3 * NR, 5 * NR].filter((j0) => j0 < N)); // (every block non-empty: the module needs N ≥ 1)
      expect(c2.data).toEqual(c1.data);
    }
  });

  test('instantiates on a shared memory when built with { shared: true }', () => {
    const raw = new Raw(sgemmModuleBytes({ shared: true }), true);
    const x: Args = { M: 33, N: 65, K: 130, la: 'row', lb: 'col', lc: 'row', beta: 0.5, alpha: 1, scale: 1, seed: 3 };
    expect(trial(raw, x, false)).toBeLessThanOrEqual(1);
    expect(trial(raw, x, true)).toBeLessThanOrEqual(1);
    // And the plain module refuses a shared memory (the import's shared flag must match).
    expect(() => new Raw(sgemmModuleBytes(), true)).toThrow(/shared/);
  });

  test('a broken kernel is caught: one accumulator subtracts instead of adds', () => {
    // f32x4.add is 0xFD 0xE4 0x01; its first occurrence is in the micro-kernel's update of
    // acc[0][0] (row 0, columns 0..3 of every tile). f32x4.sub (0xE5) leaves a valid module.
    const bytes = sgemmModuleBytes();
    let k = 0;
    while (!(bytes[k] === 0xfd && bytes[k + 1] === 0xe4 && bytes[k + 2] === 0x01)) k++;
    const broken = bytes.slice();
    broken[k + 1] = 0xe5;
    expect(wasm.validate(broken)).toBe(true);
    const raw = new Raw(broken);
    expect(() => holds(raw, 11)).toThrow();
    // Even one small case, where only C[0, 0..3] is wrong:
    const x: Args = { M: 1, N: 4, K: 3, la: 'row', lb: 'row', lc: 'row', beta: 0, alpha: 1, scale: 1, seed: 1 };
    expect(trial(raw, x, false)).toBeGreaterThan(1);
  });
});

// Node 20 validates relaxed SIMD only behind --experimental-wasm-relaxed-simd; V8 accepts
// that flag at run time too (before the module is compiled), so the FMA variant is tested
// here rather than skipped. Skipped, with a note, only where even that does not work.
let flagSet = false;
const fma = ((): boolean => {
  if (relaxedSimdSupported()) return true;
  try {
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    flagSet = true;
    return wasm.validate(sgemmModuleBytes({ fma: true }));
  } catch {
    return false;
  }
})();
if (!fma) console.warn('wasm-sgemm.test: relaxed SIMD unavailable in this runtime: FMA variant NOT tested');
// Turn the flag back off: test files after this one in the same jest worker must see the
// runtime as it was (the backend picks its kernel from it), or their numbers would depend on
// which worker ran them.
afterAll(() => {
  if (flagSet) v8.setFlagsFromString('--no-experimental-wasm-relaxed-simd');
});

(fma ? describe : describe.skip)('raw wasm sgemm module, relaxed-SIMD FMA variant', () => {
  test('within the same bound, on every entry point and layout', () => {
    holds(new Raw(sgemmModuleBytes({ fma: true })), 12);
  });

  test('deterministic per variant; differs from the unfused kernel only in rounding', () => {
    const plain = new Raw(sgemmModuleBytes());
    const fused = new Raw(sgemmModuleBytes({ fma: true }));
    const rng = new Rng(9);
    const a = mat(rng, 32, 256, 'row');
    const b = mat(rng, 256, 512, 'col');
    const run = (raw: Raw): Float32Array => {
      const c = mat(new Rng(1), 32, 512, 'row');
      raw.gemm(1, a, b, 0, c, false);
      return c.data;
    };
    const f1 = run(fused);
    expect(run(fused)).toEqual(f1);
    const p = run(plain);
    // Both are within γ·Σ|a·b| of the exact value, so of each other within 2γ·Σ|a·b|.
    const gamma = (256 + 5) * U;
    let worst = 0;
    let differ = 0;
    for (let i = 0; i < 32; i++) {
      for (let j = 0; j < 512; j++) {
        let abs = 0;
        for (let q = 0; q < 256; q++) abs += Math.abs(at(a, i, q) * at(b, q, j));
        worst = Math.max(worst, Math.abs(f1[i * 512 + j] - p[i * 512 + j]) / (2 * gamma * abs));
        if (f1[i * 512 + j] !== p[i * 512 + j]) differ++;
      }
    }
    expect(worst).toBeLessThanOrEqual(1);
    // Informational: on x64 with FMA3 most elements differ in their last bits.
    console.log(`wasm-sgemm.test: FMA vs unfused, ${differ} of ${32 * 512} elements differ, max |Δ| = ${worst.toFixed(3)} of the 2γ·Σ|a·b| bound`);
  });
});
