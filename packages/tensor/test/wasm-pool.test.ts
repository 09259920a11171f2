import * as os from 'os';
import fc from 'fast-check';
import { Rng, TensorError, backendInfo, gemmArrays, normal, setBackend, setThreads } from '@unfold/tensor';
import { arenaAlloc, arenaFree, arenaIsShared, arenaMemory, heapF32 } from '../src/wasm/arena';
import { POOL_MIN_FLOPS, blockCount, blockStart, poolInfo, poolPing, sgemmPackedParallel, sgemmParallel, startPool, stopPool } from '../src/wasm/pool';
import { KC, MC, NC, NR, packedBFloats, sgemmModuleBytes } from '../src/wasm/sgemm';

// The worker pool (packages/tensor/src/wasm/pool.ts): a product split by columns over 2 or 3
// threads gives C bit for bit equal to the one-thread sgemm call, call after call; worker
// failures and hangs surface as TensorErrors on the calling thread.

const shared = arenaIsShared();
const cpus = os.availableParallelism?.() ?? os.cpus().length;
const describePool = shared && cpus >= 2 ? describe : describe.skip;
if (!shared) console.warn('wasm-pool tests skipped: the wasm memory is not shared (no SharedArrayBuffer)');
else if (cpus < 2) console.warn('wasm-pool tests skipped: one CPU (the pool stays off there)');

type Fn = (...args: number[]) => void;
interface WasmApi {
  Module: new (b: Uint8Array) => object;
  Instance: new (m: object, i: object) => { exports: Record<string, unknown> };
}

/** The one-thread reference: the same module bytes, its own pack buffers, spill at 0; and its packB. */
function single(): { ref: Fn; packB: Fn } {
  const api = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  const ex = new api.Instance(new api.Module(sgemmModuleBytes({ shared: true })), { env: { memory: arenaMemory() } }).exports;
  const fn = ex.sgemm as Fn;
  const pA = arenaAlloc(4 * MC * KC);
  const pB = arenaAlloc(4 * KC * NC);
  return { ref: (...a: number[]) => fn(...a, pA, pB, 0), packB: ex.packB as Fn };
}

interface Case {
  M: number;
  N: number;
  K: number;
  tA: boolean; // A stored [K,M]
  tB: boolean; // B stored [N,K]
  cCol: boolean; // C column-major (csC ≠ 1: every tile spills)
  beta: 0 | 1 | 0.5;
  alpha: number;
  seed: number;
}

/**
 * Operands in fresh arena blocks (random, seeded); runs `calls` products both ways and
 * compares the bits of C. With `packB`, the threaded side is sgemmPackedParallel on B packed once.
 */
function check(c: Case, ref: Fn, calls: number, packB?: Fn): void {
  const { M, N, K } = c;
  const a = arenaAlloc(4 * M * K);
  const b = arenaAlloc(4 * K * N);
  const pre = packB ? arenaAlloc(4 * packedBFloats(K, N)) : 0;
  const c1 = arenaAlloc(4 * M * N);
  const c2 = arenaAlloc(4 * M * N);
  try {
    const h = heapF32();
    let s = c.seed >>> 0 || 1;
    const rnd = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
    for (let i = 0; i < M * K; i++) h[a / 4 + i] = rnd();
    for (let i = 0; i < K * N; i++) h[b / 4 + i] = rnd();
    for (let i = 0; i < M * N; i++) h[c1 / 4 + i] = h[c2 / 4 + i] = rnd();
    const [rsA, csA] = c.tA ? [1, M] : [K, 1];
    const [rsB, csB] = c.tB ? [1, K] : [N, 1];
    const [rsC, csC] = c.cCol ? [1, M] : [N, 1];
    const load = c.beta !== 0 ? 1 : 0;
    if (packB) packB(b / 4, rsB, csB, K, N, pre);
    for (let r = 0; r < calls; r++) {
      const ok = packB
        ? sgemmPackedParallel(M, N, K, c.alpha, c.beta, load, a / 4, rsA, csA, pre, c1 / 4, rsC, csC)
        : sgemmParallel(M, N, K, c.alpha, c.beta, load, a / 4, rsA, csA, b / 4, rsB, csB, c1 / 4, rsC, csC);
      expect(ok).toBe(true);
      ref(M, N, K, c.alpha, c.beta, load, a / 4, rsA, csA, b / 4, rsB, csB, c2 / 4, rsC, csC);
    }
    const u = new Uint32Array(arenaMemory().buffer);
    let bad = -1;
    for (let i = 0; i < M * N && bad < 0; i++) if (u[c1 / 4 + i] !== u[c2 / 4 + i]) bad = i;
    if (bad >= 0) throw new Error(`${JSON.stringify(c)}: C differs at element ${bad}: ${h[c1 / 4 + bad]} vs ${h[c2 / 4 + bad]}`);
    // And the product is right (one call, beta = 0: C = alpha·A·B), checked in float64 on a few elements.
    if (c.beta === 0) {
      for (const [i, j] of [[0, 0], [M - 1, N - 1], [M >> 1, N >> 1]]) {
        let e = 0, m = 0;
        for (let p = 0; p < K; p++) {
          const x = h[a / 4 + i * rsA + p * csA] * h[b / 4 + p * rsB + j * csB];
          e += x;
          m += Math.abs(x);
        }
        expect(Math.abs(h[c1 / 4 + i * rsC + j * csC] - c.alpha * e)).toBeLessThanOrEqual(Math.abs(c.alpha) * m * K * 2 ** -22 + 1e-30);
      }
    }
  } finally {
    for (const x of [a, b, c1, c2]) arenaFree(x);
    if (pre) arenaFree(pre);
  }
}

const caseArb = (minN: number): fc.Arbitrary<Case> =>
  fc.record({
    M: fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 140 })),
    N: fc.oneof(fc.integer({ min: minN, max: minN + 20 }), fc.integer({ min: minN, max: 1100 })),
    K: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 600 })),
    tA: fc.boolean(),
    tB: fc.boolean(),
    cCol: fc.boolean(),
    beta: fc.constantFrom(0 as const, 1 as const, 0.5 as const),
    alpha: fc.constantFrom(1, -0.75, 3),
    seed: fc.integer(),
  });

describe('column split', () => {
  test('blocks are non-empty whole NR panels covering N in order, block 0 the widest', () => {
    for (const T of [2, 3, 4]) {
      for (let N = 2 * NR * T; N < 1200; N += 7) {
        const nb = blockCount(N, T);
        expect(nb).toBeGreaterThanOrEqual(T);
        expect(nb).toBeLessThanOrEqual(4 * T);
        expect(blockStart(N, nb, 0)).toBe(0);
        expect(blockStart(N, nb, nb)).toBe(N);
        for (let b = 0; b < nb; b++) {
          const j0 = blockStart(N, nb, b);
          const j1 = blockStart(N, nb, b + 1);
          if (j0 % NR !== 0 || j1 <= j0 || j1 - j0 > blockStart(N, nb, 1)) throw new Error(`N ${N} T ${T}: block ${b} is [${j0}, ${j1})`);
        }
      }
    }
  });
});

describePool(shared ? 'wasm pool over the shared arena' : 'wasm pool: SKIPPED, the wasm memory is not shared (no SharedArrayBuffer)', () => {
  let ref: Fn;
  let packB: Fn;
  beforeAll(() => {
    ({ ref, packB } = single());
  });
  afterEach(() => stopPool());

  for (const T of [2, 3]) {
    test(`${T} threads: random shapes, strides, beta give C bit for bit equal to one thread`, () => {
      const info = startPool(T, { minFlops: 0 });
      expect(info.threads).toBe(T);
      expect(info.reason).toBe('');
      // Without a per-thread spill address the pool splits only spill-free products.
      const arb = caseArb(2 * NR * T).filter((c) => info.spillParam || (c.M % 4 === 0 && !c.cCol));
      fc.assert(fc.property(arb, (c) => check(c, ref, 3)), { numRuns: 60 });
    });
  }

  test('pre-packed B (K ≤ KC) split the same way gives the same bits; K > KC is left to one thread', () => {
    for (const T of [2, 3]) {
      const info = startPool(T, { minFlops: 0 });
      const arb = caseArb(2 * NR * T).map((c) => ({ ...c, K: 1 + (c.K % KC) })).filter((c) => info.spillParam || (c.M % 4 === 0 && !c.cCol));
      fc.assert(fc.property(arb, (c) => check(c, ref, 2, packB)), { numRuns: 25 });
      expect(sgemmPackedParallel(32, 512, KC + 1, 1, 0, 0, 0, KC + 1, 1, 0, 0, 512, 1)).toBe(false);
    }
  });

  test('edge tiles on every thread at once (each spills to its own area)', () => {
    const info = startPool(3, { minFlops: 0 });
    expect(info.spillParam).toBe(true);
    // Column-major C: every tile takes the spill path; K = 2 keeps the tiles short, so the
    // threads' spills overlap in time (with one shared area this test fails).
    check({ M: 126, N: 1024, K: 2, tA: false, tB: false, cCol: true, beta: 1, alpha: 1, seed: 1 }, ref, 400);
  });

  test('thousands of calls in a row (sequence numbers) and a round trip with no work', () => {
    const info = startPool(2, { minFlops: 0, spinIterations: 200 }); // short spins: exercise the sleep/notify path too
    const shapes: Case[] = [
      { M: 4, N: 40, K: 8, tA: false, tB: false, cCol: false, beta: 0, alpha: 1, seed: 1 },
      { M: 8, N: 64, K: 3, tA: true, tB: true, cCol: false, beta: 1, alpha: 1, seed: 2 },
    ];
    for (let r = 0; r < 300; r++) check(shapes[r % 2], ref, 5);
    for (let r = 0; r < 1000; r++) expect(poolPing()).toBe(true);
  });

  test('memory grown after the workers started is visible to them', () => {
    const info = startPool(2, { minFlops: 0 });
    const big = arenaAlloc(64 << 20); // pushes the next blocks past the memory the workers first saw
    try {
      check({ M: 32, N: 512, K: 256, tA: false, tB: true, cCol: false, beta: 1, alpha: 1, seed: 7 }, ref, 2);
    } finally {
      arenaFree(big);
    }
  });

  test('small or narrow products are left to one thread', () => {
    const info = startPool(2);
    const x = arenaAlloc(4 * (64 * 4096 + 4096 * 64 + 32 * 512)) / 4; // room for every operand below, should a call run
    try {
      const K = Math.floor((POOL_MIN_FLOPS - 1) / (2 * 32 * 512));
      expect(sgemmParallel(32, 512, K, 1, 0, 0, x, K, 1, x, 512, 1, x, 512, 1)).toBe(false); // 2·M·N·K below minFlops
      expect(sgemmParallel(64, 16, 4096, 1, 0, 0, x, 4096, 1, x, 16, 1, x, 16, 1)).toBe(false); // N < 2·NR·threads
      stopPool();
      expect(poolInfo()).toMatchObject({ threads: 1, reason: 'stopped' });
      expect(sgemmParallel(32, 512, 256, 1, 0, 0, x, 256, 1, x, 512, 1, x, 512, 1)).toBe(false);
    } finally {
      arenaFree(4 * x);
    }
  });

  test('a worker that fails to start, fails a call or hangs is a TensorError naming it', () => {
    expect(() => startPool(2, { inject: 'start' })).toThrow(/startPool: worker 0 failed to start: Error: injected failure at start/);
    expect(poolInfo().threads).toBe(1);
    expect(() => startPool(3, { moduleBytes: Uint8Array.of(0, 0x61, 0x73, 0x6d, 9, 9) })).toThrow(/startPool: the sgemm module did not instantiate: CompileError/);
    const a = arenaAlloc(4 * (8 * 256 + 32 * 256)); // A, B share the first 2048 floats; C after
    try {
      const x = a / 4;
      // Blocks go to whichever thread claims them first: call until the worker has taken one.
      const calls = (): void => {
        for (let i = 0; i < 2000; i++) sgemmParallel(32, 256, 8, 1, 0, 0, x, 8, 1, x, 256, 1, x + 2048, 256, 1);
      };
      startPool(2, { inject: 'call', minFlops: 0 });
      expect(calls).toThrow(TensorError);
      expect(calls).toThrow(/sgemmParallel: \[32,8\]×\[8,256\] on 2 threads: worker 0 failed: Error: injected failure at call/);
      startPool(2, { inject: 'hang', minFlops: 0, timeoutMs: 300 });
      expect(calls).toThrow(/worker 0 \(block \d\) did not finish within 300 ms; the pool was stopped/);
      expect(poolInfo().threads).toBe(1);
      expect(poolInfo().reason).toMatch(/^worker 0 \(block \d\) timed out$/);
    } finally {
      arenaFree(a);
    }
  });
});

describePool('setThreads: the pool behind the public GEMM', () => {
  afterAll(() => {
    setThreads(1);
    setBackend('auto');
  });

  test('gemmArrays on 2 threads gives the same bits as on 1, and backendInfo reports the threads', () => {
    setBackend('wasm');
    const rng = new Rng(8);
    const [M, K, N] = [33, 200, 300];
    const A = normal([M, K], 0, 1, { rng });
    const B = normal([N, K], 0, 1, { rng });
    const one = new Float32Array(M * N);
    setThreads(1);
    gemmArrays(false, true, M, N, K, 1, A.data, 0, K, B.data, 0, K, 0, one, 0, N);
    setThreads(2);
    const info = backendInfo();
    expect(info.threadsNote).toBe('');
    expect(info.threads).toBe(2);
    for (let rep = 0; rep < 5; rep++) {
      const two = new Float32Array(M * N);
      gemmArrays(false, true, M, N, K, 1, A.data, 0, K, B.data, 0, K, 0, two, 0, N);
      expect(Buffer.from(two.buffer).equals(Buffer.from(one.buffer))).toBe(true);
    }
    expect(() => setThreads(0)).toThrow(/setThreads: thread count must be an integer in \[1, 16\], got 0/);
    setThreads(1);
    expect(backendInfo().threads).toBe(1);
  });
});
