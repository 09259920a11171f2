import { Rng, TensorError, gemmArrays, gemmStrided } from '@unfold/tensor';
import { backendInfo, setBackend } from '../src/wasm/backend';
import { sleb, uleb } from '../src/wasm/emitter';
import { KC, MC, NC, sgemmModuleBytes } from '../src/wasm/sgemm';

/*
 * Wasm-specific behaviour of float32 GEMM: arena growth, beta = 0 with NaN in C, K split
 * into several KC slices, sizes off the 4×8 tile, determinism, fallbacks, and backend
 * selection. The oracle is a float64 loop over the raw strided arrays; the tolerance is
 * the float32 dot-product bound (K+2)·2^-24·Σ|alpha·a·b| (+ the beta·C term).
 */

const U32 = 2 ** -24;

interface Mat {
  data: Float32Array;
  off: number;
  rs: number;
  cs: number;
}

/** Uniform in [-1, 1): xorshift32 seeded from rng, cheap enough for the 16M-element operands. */
function randArray(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  let x = rng.nextUint32() | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    a[i] = (x >>> 0) / 2 ** 31 - 1;
  }
  return a;
}

/** A dense [rows, cols] matrix in a buffer with `pad` extra columns, row-major or transposed. */
function mat(rng: Rng, rows: number, cols: number, trans = false, pad = 0): Mat {
  const [r, c] = trans ? [cols, rows] : [rows, cols];
  const ld = c + pad;
  const data = randArray(rng, 1 + r * ld);
  return trans ? { data, off: 1, rs: 1, cs: ld } : { data, off: 1, rs: ld, cs: 1 };
}

const at = (x: Mat, i: number, j: number): number => x.data[x.off + i * x.rs + j * x.cs];

function run(M: number, N: number, K: number, alpha: number, a: Mat, b: Mat, beta: number, c: Mat): void {
  gemmStrided(M, N, K, alpha, a.data, a.off, a.rs, a.cs, b.data, b.off, b.rs, b.cs, beta, c.data, c.off, c.rs, c.cs);
}

const range = (lo: number, hi: number, step = 1): number[] => Array.from({ length: Math.ceil((hi - lo) / step) }, (_, k) => lo + k * step);

/**
 * Checks c (after the call) against alpha·A·B + beta·c0, c0 = C before the call, on the
 * columns `cols` (all by default: the big products sample them to keep the oracle quick).
 */
function check(M: number, N: number, K: number, alpha: number, a: Mat, b: Mat, beta: number, c0: Mat, c: Mat, cols = range(0, N)): void {
  let worst = 0;
  for (let i = 0; i < M; i++) {
    for (const j of cols) {
      let s = 0;
      let abs = 0;
      for (let p = 0; p < K; p++) {
        const t = at(a, i, p) * at(b, p, j);
        s += t;
        abs += Math.abs(t);
      }
      const cij = beta === 0 ? 0 : beta * at(c0, i, j);
      const want = alpha * s + cij;
      const tol = (K + 2) * U32 * (Math.abs(alpha) * abs + Math.abs(cij)) + 1e-30;
      const err = Math.abs(at(c, i, j) - want);
      if (!(err <= tol)) throw new Error(`[${M},${K}]×[${K},${N}] (${i},${j}): got ${at(c, i, j)}, want ${want}, err ${err} > tol ${tol}`);
      worst = Math.max(worst, err / tol);
    }
  }
  expect(worst).toBeLessThanOrEqual(1);
}

const copyMat = (x: Mat): Mat => ({ ...x, data: x.data.slice() });

beforeAll(() => setBackend('wasm', { minFlops: 0 }));
afterAll(() => setBackend('auto'));

describe('emitter', () => {
  test('LEB128 encodings match the spec examples', () => {
    const u = (n: number): number[] => {
      const out: number[] = [];
      uleb(n, out);
      return out;
    };
    const s = (n: number): number[] => {
      const out: number[] = [];
      sleb(n, out);
      return out;
    };
    expect(u(0)).toEqual([0]);
    expect(u(127)).toEqual([0x7f]);
    expect(u(128)).toEqual([0x80, 0x01]);
    expect(u(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(s(-1)).toEqual([0x7f]);
    expect(s(63)).toEqual([0x3f]);
    expect(s(64)).toEqual([0xc0, 0x00]);
    expect(s(-64)).toEqual([0x40]);
    expect(s(-123456)).toEqual([0xc0, 0xbb, 0x78]);
  });

  test('the generated sgemm module validates', () => {
    const wasm = (globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } }).WebAssembly;
    expect(wasm.validate(sgemmModuleBytes())).toBe(true);
  });
});

describe('wasm sgemm', () => {
  test('dispatches to wasm', () => {
    expect(backendInfo()).toMatchObject({ gemm: 'wasm-simd', simd: true, mode: 'wasm', minFlops: 0 });
  });

  test('odd sizes around the 4×8 tile and KC, every trans combination', () => {
    const rng = new Rng(1);
    for (const M of [1, 3, 4, 5, 9]) {
      for (const N of [1, 7, 8, 9, 17]) {
        for (const K of [1, 2, 255, 257]) {
          for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]]) {
            const a = mat(rng, M, K, tA, 1);
            const b = mat(rng, K, N, tB, 2);
            const c = mat(rng, M, N, false, 3);
            const c0 = copyMat(c);
            run(M, N, K, 1, a, b, 0.5, c);
            check(M, N, K, 1, a, b, 0.5, c0, c);
          }
        }
      }
    }
  });

  test('large K: several KC slices, alpha on every slice, beta on the first only', () => {
    const rng = new Rng(2);
    for (const K of [KC + 1, 2 * KC, 3 * KC + 5, 1000]) {
      const [M, N] = [6, 13];
      const a = mat(rng, M, K);
      const b = mat(rng, K, N, true);
      const c = mat(rng, M, N);
      const c0 = copyMat(c);
      run(M, N, K, -1.5, a, b, 0.25, c);
      check(M, N, K, -1.5, a, b, 0.25, c0, c);
    }
  });

  test('blocks: M across MC, N across NC', () => {
    const rng = new Rng(3);
    const [M, N, K] = [MC + 5, NC + 9, 40];
    const a = mat(rng, M, K, true);
    const b = mat(rng, K, N);
    const c = mat(rng, M, N);
    const c0 = copyMat(c);
    run(M, N, K, 1, a, b, 1, c);
    // Both sides of every NR panel and of the NC block edge; all rows (MC edge included).
    check(M, N, K, 1, a, b, 1, c0, c, [...range(0, 17), ...range(NC - 9, N)]);
  });

  test('beta = 0 never reads C: NaN and Inf in C do not leak, and gaps in C keep theirs', () => {
    const rng = new Rng(4);
    for (const [M, N, K] of [[4, 8, 16], [5, 9, 300], [32, 64, 7]]) {
      for (const trans of [false, true]) {
        const a = mat(rng, M, K);
        const b = mat(rng, K, N);
        const c = mat(rng, M, N, trans, 2); // strided C with 2 padding columns (gaps)
        c.data.fill(NaN);
        c.data[c.off] = Infinity;
        run(M, N, K, 2, a, b, 0, c);
        check(M, N, K, 2, a, b, 0, c, c);
        // Padding between the rows (or columns) of the view is untouched: still NaN.
        let gaps = 0;
        const inView = new Set<number>();
        for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) inView.add(c.off + i * c.rs + j * c.cs);
        for (let k = 0; k < c.data.length; k++) if (!inView.has(k)) gaps += Number.isNaN(c.data[k]) ? 0 : 1;
        expect(gaps).toBe(0);
      }
    }
  });

  test('negative, zero (broadcast) and stepped strides on A and B', () => {
    const rng = new Rng(5);
    const [M, N, K] = [7, 11, 19];
    const A = randArray(rng, 3 * M * K + 10);
    const B = randArray(rng, K * N + 10);
    const reversed: Mat = { data: A, off: (M - 1) * K + (K - 1), rs: -K, cs: -1 };
    const stepped: Mat = { data: A, off: 2, rs: 3 * K, cs: 2 };
    const broadcast: Mat = { data: B, off: 3, rs: 0, cs: 1 }; // every row of B the same
    const bRev: Mat = { data: B, off: K * N - 1, rs: -N, cs: -1 };
    for (const a of [reversed, stepped]) {
      for (const b of [broadcast, bRev]) {
        const c = mat(rng, M, N);
        const c0 = copyMat(c);
        run(M, N, K, 1, a, b, -1, c);
        check(M, N, K, 1, a, b, -1, c0, c);
      }
    }
  });

  test('the arena grows and the kernel keeps working on fresh views (old ones are detached)', () => {
    const rng = new Rng(6);
    const small = (): void => {
      const a = mat(rng, 5, 9);
      const b = mat(rng, 9, 6);
      const c = mat(rng, 5, 6);
      const c0 = copyMat(c);
      run(5, 6, 9, 1, a, b, 1, c);
      check(5, 6, 9, 1, a, b, 1, c0, c);
    };
    small();
    const before = backendInfo().memoryBytes;
    // B alone is 4·K·N = 16 MB more than any product above has used.
    const [M, N, K] = [3, 4096, 1024];
    expect(4 * N * K).toBeGreaterThan(before);
    const a = mat(rng, M, K);
    const b = mat(rng, K, N);
    const c = mat(rng, M, N);
    const c0 = copyMat(c);
    run(M, N, K, 1, a, b, 1, c);
    expect(backendInfo().memoryBytes).toBeGreaterThan(before);
    check(M, N, K, 1, a, b, 1, c0, c, [...range(0, N, 61), N - 1]);
    small(); // the cached C view and heap were re-made after the grow
  });

  test('deterministic: the same call gives the same bits, also after the arena has grown', () => {
    const rng = new Rng(7);
    const [M, N, K] = [33, 70, 600];
    const a = mat(rng, M, K);
    const b = mat(rng, K, N, true);
    const c = mat(rng, M, N);
    const outs: Float32Array[] = [];
    for (let r = 0; r < 3; r++) {
      const cr = copyMat(c);
      run(M, N, K, 0.7, a, b, 0.3, cr);
      outs.push(cr.data);
      if (r === 1) run(2, 8192, 1024, 1, mat(rng, 2, 1024), mat(rng, 1024, 8192), 0, mat(rng, 2, 8192)); // grow
    }
    expect(Buffer.from(outs[1].buffer).equals(Buffer.from(outs[0].buffer))).toBe(true);
    expect(Buffer.from(outs[2].buffer).equals(Buffer.from(outs[0].buffer))).toBe(true);
  });

  test('float64 stays on the JS kernel (double-precision accuracy)', () => {
    const rng = new Rng(8);
    const [M, N, K] = [9, 10, 300];
    const A = Float64Array.from(randArray(rng, M * K), (x) => x + 1e-9 * rng.next());
    const B = Float64Array.from(randArray(rng, K * N), (x) => x + 1e-9 * rng.next());
    const C = new Float64Array(M * N);
    gemmArrays(false, false, M, N, K, 1, A, 0, K, B, 0, N, 0, C, 0, N);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        let abs = 0;
        for (let p = 0; p < K; p++) {
          s += A[i * K + p] * B[p * N + j];
          abs += Math.abs(A[i * K + p] * B[p * N + j]);
        }
        expect(Math.abs(C[i * N + j] - s)).toBeLessThanOrEqual((K + 2) * 2 ** -53 * abs);
      }
    }
  });

  test('a sparse view (span ≫ elements) and an overlapping C fall back to JS, still correct', () => {
    const rng = new Rng(9);
    const [M, N, K] = [4, 5, 6];
    const big = randArray(rng, 200_000);
    const sparse: Mat = { data: big, off: 7, rs: 30_000, cs: 1 }; // 4 rows 30 000 apart
    const b = mat(rng, K, N);
    const c = mat(rng, M, N);
    const c0 = copyMat(c);
    run(M, N, K, 1, sparse, b, 1, c);
    check(M, N, K, 1, sparse, b, 1, c0, c);
  });
});

describe('backend selection', () => {
  afterEach(() => setBackend('wasm', { minFlops: 0 }));

  test('setBackend switches kernels; unknown names are rejected with the name', () => {
    setBackend('js');
    expect(backendInfo().gemm).toBe('js');
    setBackend('auto');
    expect(backendInfo()).toMatchObject({ gemm: 'wasm-simd', mode: 'auto' });
    expect(backendInfo().minFlops).toBeGreaterThan(0);
    expect(() => setBackend('gpu' as 'js')).toThrow(TensorError);
    expect(() => setBackend('gpu' as 'js')).toThrow("setBackend: unknown backend 'gpu'");
  });

  // A fresh copy of the module under a given environment (module state is read at load).
  const load = (env: string | undefined, hideWasm = false): typeof import('../src/wasm/backend') => {
    const saved = process.env.UNFOLD_BACKEND;
    const g = globalThis as { WebAssembly?: unknown };
    const wasm = g.WebAssembly;
    if (env === undefined) delete process.env.UNFOLD_BACKEND;
    else process.env.UNFOLD_BACKEND = env;
    if (hideWasm) delete g.WebAssembly;
    try {
      let mod: typeof import('../src/wasm/backend') | undefined;
      jest.isolateModules(() => {
        mod = require('../src/wasm/backend');
      });
      return mod as typeof import('../src/wasm/backend');
    } finally {
      if (saved === undefined) delete process.env.UNFOLD_BACKEND;
      else process.env.UNFOLD_BACKEND = saved;
      g.WebAssembly = wasm;
    }
  };

  test('UNFOLD_BACKEND forces a backend at load', () => {
    expect(load('js').backendInfo()).toMatchObject({ gemm: 'js', mode: 'js', simd: true });
    expect(load('wasm').backendInfo()).toMatchObject({ gemm: 'wasm-simd', mode: 'wasm' });
    expect(load(undefined).backendInfo()).toMatchObject({ gemm: 'wasm-simd', mode: 'auto' });
    expect(() => load('gpu')).toThrow("backend: UNFOLD_BACKEND=gpu: expected 'js' or 'wasm'");
  });

  test('without WebAssembly: automatic mode falls back to JS, forced wasm is a clear error', () => {
    expect(load(undefined, true).backendInfo()).toMatchObject({ gemm: 'js', simd: false });
    expect(() => load('wasm', true)).toThrow(/UNFOLD_BACKEND=wasm but this runtime has no WebAssembly SIMD/);
    const mod = load('js', true);
    expect(() => mod.setBackend('wasm')).toThrow(/setBackend: wasm backend requested but this runtime has no WebAssembly SIMD/);
  });
});
