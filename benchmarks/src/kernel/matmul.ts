// GEMM throughput of the @unfold/tensor kernels (JS, and WebAssembly SIMD for float32)
// against a naive triple loop, single thread, in one run.
// Run: npx tsc -b && node benchmarks/dist/kernel/matmul.js
import { DType, TypedArray, allocArray, backendInfo, gemmArrays, setBackend } from '@unfold/tensor';

export interface Row {
  /** e.g. "square 256", "rnn x·W", "rnn h·Whhᵀ", "rnn xᵀ·dy" */
  name: string;
  /** The product as written, e.g. "[32,512]×[512,128]ᵀ". */
  shapes: string;
  dtype: DType;
  M: number;
  N: number;
  K: number;
  /** JS kernel: 2·M·N·K / median seconds / 1e9. */
  gflops: number;
  /** The same from the fastest rep: what the kernel does when the (shared) host leaves it alone. */
  bestGflops: number;
  /** WebAssembly SIMD kernel, median and best (null: float64, which has no wasm kernel, or no SIMD). */
  wasmGflops: number | null;
  wasmBestGflops: number | null;
  naiveGflops: number;
  /** Timed repetitions after warm-up (JS kernel, wasm kernel, naive). */
  reps: number;
  wasmReps: number;
  naiveReps: number;
}

interface Case {
  name: string;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
}

const square = (n: number): Case => ({ name: `square ${n}`, M: n, N: n, K: n, transA: false, transB: false });

// The three products of an RNN step with batch 32: the input projection x:[32,256]·Wih:[256,512]
// (4 LSTM gates of 128), the recurrent h:[32,512]·Whh[128,512]ᵀ, and the weight gradient
// dW = xᵀ·dy, [32,256]ᵀ·[32,512] → [256,512] (K = batch = 32).
const CASES: Case[] = [
  ...[64, 128, 256, 512, 1024].map(square),
  { name: 'rnn x·W', M: 32, N: 512, K: 256, transA: false, transB: false },
  { name: 'rnn h·Wᵀ', M: 32, N: 128, K: 512, transA: false, transB: true },
  { name: 'rnn xᵀ·dy', M: 256, N: 512, K: 32, transA: true, transB: false },
];

function shapesOf(c: Case): string {
  const a = c.transA ? `[${c.K},${c.M}]ᵀ` : `[${c.M},${c.K}]`;
  const b = c.transB ? `[${c.N},${c.K}]ᵀ` : `[${c.K},${c.N}]`;
  return `${a}×${b}`;
}

/** The baseline: C = op(A)·op(B) as the textbook i-j-p loop, strides standing in for transposes. */
function naiveGemm(c: Case, A: TypedArray, B: TypedArray, C: TypedArray): void {
  const { M, N, K } = c;
  const [rsA, csA] = c.transA ? [1, M] : [K, 1];
  const [rsB, csB] = c.transB ? [1, K] : [N, 1];
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let p = 0; p < K; p++) s += A[i * rsA + p * csA] * B[p * rsB + j * csB];
      C[i * N + j] = s;
    }
  }
}

/**
 * Wall times of `run` in seconds: warm-up for `warmup` s (at least 2 runs, so V8 has
 * optimised the kernel; none when warmup = 0), then as many timed runs as fit in `budget`
 * seconds, clamped to [minReps, maxReps]. Returns the median and the best.
 */
function timeRuns(run: () => void, warmup: number, budget: number, minReps: number, maxReps: number): { median: number; best: number; reps: number } {
  const now = (): number => Number(process.hrtime.bigint()) / 1e9;
  const warmStart = now();
  let last = 0;
  for (let w = 0; warmup > 0 && (w < 2 || now() - warmStart < warmup); w++) {
    const t = now();
    run();
    last = now() - t;
  }
  const reps = last > 0 ? Math.max(minReps, Math.min(maxReps, Math.floor(budget / last))) : minReps;
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = now();
    run();
    times.push(now() - t);
  }
  times.sort((x, y) => x - y);
  return { median: times[times.length >> 1], best: times[0], reps };
}

function randomArray(dtype: DType, n: number): TypedArray {
  const a = allocArray(dtype, n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
  return a;
}

export async function matmulBench(): Promise<Row[]> {
  const rows: Row[] = [];
  const initial = backendInfo().mode;
  const wasm = backendInfo().simd;
  for (const dtype of ['float32', 'float64'] as const) {
    for (const c of CASES) {
      const { M, N, K, transA, transB } = c;
      const A = randomArray(dtype, M * K);
      const B = randomArray(dtype, K * N);
      const C = allocArray(dtype, M * N);
      const flop = 2 * M * N * K;
      const big = flop > 1e9; // 1024³: fewer reps
      const time = (): ReturnType<typeof timeRuns> =>
        timeRuns(
          () => gemmArrays(transA, transB, M, N, K, 1, A, 0, transA ? M : K, B, 0, transB ? K : N, 0, C, 0, N),
          0.3,
          big ? 3 : 1,
          big ? 3 : 9,
          big ? 7 : 300,
        );
      setBackend('js');
      const kernel = time();
      // minFlops 0: time the wasm kernel itself even where dispatch would keep a product on JS.
      if (wasm && dtype === 'float32') setBackend('wasm', { minFlops: 0 });
      const wasmKernel = wasm && dtype === 'float32' ? time() : null;
      setBackend(initial);
      // 1024³ naive takes tens of seconds (column walks of B miss cache): one cold run.
      const naive = big ? timeRuns(() => naiveGemm(c, A, B, C), 0, 0, 1, 1) : timeRuns(() => naiveGemm(c, A, B, C), 0.2, 0.5, 3, 50);
      rows.push({
        name: c.name,
        shapes: shapesOf(c),
        dtype,
        M,
        N,
        K,
        gflops: flop / kernel.median / 1e9,
        bestGflops: flop / kernel.best / 1e9,
        wasmGflops: wasmKernel && flop / wasmKernel.median / 1e9,
        wasmBestGflops: wasmKernel && flop / wasmKernel.best / 1e9,
        naiveGflops: flop / naive.median / 1e9,
        reps: kernel.reps,
        wasmReps: wasmKernel ? wasmKernel.reps : 0,
        naiveReps: naive.reps,
      });
      await new Promise((resolve) => setImmediate(resolve)); // let a caller's timers/logging run
    }
  }
  return rows;
}

export function formatRows(rows: readonly Row[]): string {
  const head = ['case', 'product', 'dtype', 'js', 'js best', 'wasm', 'wasm best', 'wasm/js', 'naive', 'best/naive', 'reps'];
  const body = rows.map((r) => {
    const top = Math.max(r.gflops, r.wasmGflops ?? 0);
    return [
      r.name,
      r.shapes,
      r.dtype,
      r.gflops.toFixed(2),
      r.bestGflops.toFixed(2),
      r.wasmGflops === null ? '—' : r.wasmGflops.toFixed(2),
      r.wasmBestGflops === null ? '—' : r.wasmBestGflops.toFixed(2),
      r.wasmGflops === null ? '—' : `${(r.wasmGflops / r.gflops).toFixed(1)}×`,
      r.naiveGflops.toFixed(2),
      `${(top / r.naiveGflops).toFixed(1)}×`,
      `${r.reps}/${r.wasmReps}/${r.naiveReps}`,
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string => cells.map((s, i) => (i < 3 ? s.padEnd(widths[i]) : s.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

if (require.main === module) {
  matmulBench().then(
    (rows) => {
      console.log(`matmul (gemmArrays, beta = 0): single thread, Node ${process.version}; GFLOP/s = median of timed reps after warm-up,`);
      console.log('js / wasm = the JS and WebAssembly SIMD kernels (wasm: float32 only; copies in and out included), best = fastest rep,');
      console.log('naive = textbook i-j-p loop (median), best/naive = faster kernel (median) / naive, reps = js/wasm/naive');
      console.log(formatRows(rows));
    },
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
