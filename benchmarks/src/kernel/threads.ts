// The wasm sgemm on one thread vs split by columns over the worker pool
// (packages/tensor/src/wasm/pool.ts), operands already in the shared arena (no copies):
// GFLOP/s = 2·M·N·K / best time of one call; plus the round trip of a call with no work.
// Run: npx tsc -b && node benchmarks/dist/kernel/threads.js [threads=2]
//      node --experimental-wasm-relaxed-simd benchmarks/dist/kernel/threads.js 2 fma   (the FMA micro-kernel; Node 20)
// Other processes on the machine steal the second core: read the load average printed first.
import * as os from 'os';

import {
  KC, MC, NC, arenaAlloc, arenaMemory, heapF32, packedBFloats, poolInfo, poolPing, relaxedSimdSupported, sgemmModuleBytes, sgemmPackedParallel, sgemmParallel, startPool, stopPool,
} from '@unfold/tensor/kernels';

interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** form 'AB': A:[M,K] B:[K,N]; 'ABt': B stored [N,K] (x·Wᵀ). */
interface Case {
  M: number;
  K: number;
  N: number;
  form: 'AB' | 'ABt';
}
const both = (M: number, K: number, N: number): Case[] => [
  { M, K, N, form: 'AB' },
  { M, K, N, form: 'ABt' },
];
const CASES: Case[] = [...both(32, 256, 512), ...both(32, 128, 512), ...both(32, 512, 1024)];
/** Smaller products, for where splitting starts to pay. */
const CROSSOVER: Case[] = [
  { M: 32, K: 32, N: 64, form: 'AB' },
  { M: 32, K: 32, N: 128, form: 'AB' },
  { M: 32, K: 64, N: 128, form: 'AB' },
  { M: 32, K: 64, N: 256, form: 'AB' },
  { M: 32, K: 128, N: 256, form: 'AB' },
  { M: 8, K: 128, N: 512, form: 'AB' },
  { M: 1, K: 256, N: 1024, form: 'ABt' },
];

const REPS = Number(process.env.REPS ?? 15);

/**
 * Best seconds per call of each of `runs` over REPS repetitions of `calls` calls, the runs
 * interleaved rep by rep (after a warm-up rep) so that they see the same machine load.
 */
function best(runs: (() => void)[], calls: number): number[] {
  const t = runs.map(() => Infinity);
  for (let r = -1; r < REPS; r++) {
    runs.forEach((run, k) => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < calls; i++) run();
      const dt = Number(process.hrtime.bigint() - t0) / 1e9 / calls;
      if (r >= 0) t[k] = Math.min(t[k], dt);
    });
  }
  return t;
}

function main(): void {
  const T = Number(process.argv[2] ?? 2);
  const fma = process.argv[3] === 'fma';
  if (fma && !relaxedSimdSupported()) throw new Error('fma: run node --experimental-wasm-relaxed-simd');
  const moduleBytes = sgemmModuleBytes({ shared: true, fma });
  const info = startPool(T, { minFlops: 0, moduleBytes });
  console.log(`threads: node ${process.version}, ${os.cpus()[0].model} ×${info.cpus}, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  if (info.threads < 2) {
    console.log(`pool off: ${info.reason}`);
    return;
  }
  console.log(`pool: ${JSON.stringify(poolInfo())}; micro-kernel ${fma ? 'FMA (relaxed SIMD)' : 'mul+add'}`);
  const memory = arenaMemory();
  type Fn = (...a: number[]) => void;
  const ex = new wasm.Instance(new wasm.Module(moduleBytes), { env: { memory } }).exports;
  const single = ex.sgemm as Fn;
  const packB = ex.packB as Fn;
  const singlePacked = ex.sgemmPacked as Fn;
  const pA = arenaAlloc(4 * MC * KC);
  const pB = arenaAlloc(4 * KC * NC);

  // Round trips: back to back (the worker is still spinning), and after a pause longer
  // than its spin (asleep in Atomics.wait: the post pays a futex wake and a reschedule).
  const [ping] = best([() => poolPing()], 2000);
  const probe = new Int32Array(new SharedArrayBuffer(4));
  const [spinLoop] = best([() => { for (let i = 0; i < info.spinIterations; i++) Atomics.load(probe, 0); }], 20);
  const pause = Math.ceil(spinLoop * 1e3 * 4 + 2); // ms
  let cold = Infinity;
  for (let r = 0; r < 20; r++) {
    const until = Date.now() + pause;
    while (Date.now() < until);
    const t0 = process.hrtime.bigint();
    poolPing();
    cold = Math.min(cold, Number(process.hrtime.bigint() - t0) / 1e3);
  }
  console.log(`empty call round trip: ${(ping * 1e6).toFixed(2)} µs back to back; ${cold.toFixed(1)} µs (best of 20) after a ${pause} ms pause (worker asleep; its spin lasts ~${(spinLoop * 1e6).toFixed(0)} µs)`);

  console.log(`GFLOP/s, best of ${REPS} interleaved reps of ≥ 50 calls (~20 ms); 1 thread vs ${T} threads split by columns;`);
  console.log('"pre-packed": sgemmPacked / sgemmPackedParallel on a B packed once (K ≤ KC only)');
  const rows: string[][] = [['case', 'form', 'Mflop', '1 thread', `${T} threads`, 'speed-up', 'pre-packed 1', `pre-packed ${T}`, 'speed-up']];
  for (const [label, cases] of [['', CASES], ['crossover', CROSSOVER]] as const) {
    if (label) rows.push([`-- ${label}`, '', '', '', '', '', '', '', '']);
    for (const c of cases) {
      const { M, K, N } = c;
      const a = arenaAlloc(4 * M * K) / 4;
      const b = arenaAlloc(4 * K * N) / 4;
      const cc = arenaAlloc(4 * M * N) / 4;
      const h = heapF32();
      for (let i = 0; i < M * K; i++) h[a + i] = Math.random() * 2 - 1;
      for (let i = 0; i < K * N; i++) h[b + i] = Math.random() * 2 - 1;
      const [rsB, csB] = c.form === 'ABt' ? [1, K] : [N, 1];
      const flop = 2 * M * N * K;
      const calls = Math.max(50, Math.ceil(0.02 / (flop / 25e9)));
      const pre = arenaAlloc(4 * packedBFloats(K, N));
      packB(b, rsB, csB, K, N, pre);
      const runs = [
        () => single(M, N, K, 1, 0, 0, a, K, 1, b, rsB, csB, cc, N, 1, pA, pB, 0),
        () => {
          if (!sgemmParallel(M, N, K, 1, 0, 0, a, K, 1, b, rsB, csB, cc, N, 1)) throw new Error(`not split: ${JSON.stringify(c)}`);
        },
      ];
      if (K <= KC) {
        runs.push(
          () => singlePacked(M, N, K, 1, 0, 0, a, K, 1, pre, cc, N, 1, pA, 0),
          () => {
            if (!sgemmPackedParallel(M, N, K, 1, 0, 0, a, K, 1, pre, cc, N, 1)) throw new Error(`not split: ${JSON.stringify(c)}`);
          },
        );
      }
      const t = best(runs, calls);
      const g = (x: number | undefined): string => (x === undefined ? '-' : (flop / x / 1e9).toFixed(1));
      const up = (x: number | undefined, y: number | undefined): string => (x === undefined || y === undefined ? '-' : `${(x / y).toFixed(2)}×`);
      rows.push([`[${M},${K}]×[${K},${N}]`, c.form, (flop / 1e6).toFixed(2), g(t[0]), g(t[1]), up(t[0], t[1]), g(t[2]), g(t[3]), up(t[2], t[3])]);
    }
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((s, i) => (i < 2 ? s.padEnd(w[i]) : s.padStart(w[i]))).join('  '));
  console.log(`load average after: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  stopPool();
}

main();
