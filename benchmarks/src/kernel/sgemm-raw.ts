// The WebAssembly sgemm module alone: instantiated here on our own WebAssembly.Memory with
// the operands already in it (no copies in or out, unlike gemmArrays), so what is timed is
// packing + micro-kernel. GFLOP/s = 2·M·N·K / best time of one call, single thread.
// Run: npx tsc -b && node benchmarks/dist/kernel/sgemm-raw.js
//      node --experimental-wasm-relaxed-simd benchmarks/dist/kernel/sgemm-raw.js   (adds the FMA variant; Node 20)

import { KC, MC, MR, NC, NR, SCRATCH_BYTES, packedBFloats, relaxedSimdSupported, sgemmModuleBytes } from '@unfold/tensor/kernels';

interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Memory: new (desc: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, (...args: number[]) => void> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** One product as the RNN issues it. form: 'AB' A:[M,K] B:[K,N]; 'ABt' B stored [N,K]; 'AtB' A stored [K,M], beta = 1. */
interface Case {
  name: string;
  M: number;
  N: number;
  K: number;
  form: 'AB' | 'ABt' | 'AtB';
}

const FORMS = ['AB', 'ABt', 'AtB'] as const;
const rnn = (M: number, K: number, N: number): Case[] => FORMS.map((form) => ({ name: `[${M},${K}]×[${K},${N}]`, M, N, K, form }));
const CASES: Case[] = [
  ...rnn(32, 256, 512),
  ...rnn(32, 128, 512),
  ...rnn(32, 512, 1024),
  ...rnn(32, 128, 65),
  // dW = dGᵀ·h: [G,B]·[B,H] with K = batch = 32, accumulated (beta = 1).
  { name: 'dW [512,32]ᵀ×[32,256]', M: 512, N: 256, K: 32, form: 'AtB' },
  { name: 'square 256', M: 256, N: 256, K: 256, form: 'AB' },
];
/** Roofline "peak": whole tiles, one KC slice, everything in L1/L2, B pre-packed: the micro-kernel alone. */
const PEAK: Case = { name: 'peak [64,256]×[256,64]', M: 64, N: 64, K: 256, form: 'AB' };

const PAGE = 65536;
const memory = new wasm.Memory({ initial: (64 << 20) / PAGE });
const heap = new Float32Array(memory.buffer);

interface Kernel {
  name: string;
  sgemm: (...args: number[]) => void;
  packB: (...args: number[]) => void;
  sgemmPacked: (...args: number[]) => void;
}
function load(name: string, fma: boolean): Kernel {
  const inst = new wasm.Instance(new wasm.Module(sgemmModuleBytes({ fma })), { env: { memory } });
  const e = inst.exports;
  return { name, sgemm: e.sgemm, packB: e.packB, sgemmPacked: e.sgemmPacked };
}

const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

/** Element offsets (floats) of the operands and buffers for one case. */
function layout(c: Case): { a: number; b: number; cc: number; pA: number; pB: number; pre: number } {
  const a = roundUp(SCRATCH_BYTES / 4, 16);
  const b = roundUp(a + c.M * c.K, 16);
  const cc = roundUp(b + c.K * c.N, 16);
  const pA = roundUp(cc + c.M * c.N, 16);
  const pB = roundUp(pA + roundUp(Math.min(c.M, MC), MR) * Math.min(c.K, KC), 16);
  const pre = roundUp(pB + Math.min(c.K, KC) * roundUp(Math.min(c.N, NC), NR), 16);
  return { a, b, cc, pA, pB, pre };
}

/** Best seconds per call over `reps` repetitions of `calls` calls (after a warm-up rep). */
function best(run: () => void, calls: number, reps = 7): number {
  let t = Infinity;
  for (let r = -1; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) run();
    const dt = Number(process.hrtime.bigint() - t0) / 1e9 / calls;
    if (r >= 0) t = Math.min(t, dt);
  }
  return t;
}

interface Result {
  packed: number; // GFLOP/s of sgemm (packs B per call)
  prepacked: number; // sgemmPacked (B packed once, outside the timing)
  packBOnly: number; // µs of one packB
}

function measure(k: Kernel, c: Case): Result {
  const { M, N, K, form } = c;
  const L = layout(c);
  for (let i = 0; i < M * K; i++) heap[L.a + i] = Math.random() * 2 - 1;
  for (let i = 0; i < K * N; i++) heap[L.b + i] = Math.random() * 2 - 1;
  heap.fill(0, L.cc, L.cc + M * N);
  const [rsA, csA] = form === 'AtB' ? [1, M] : [K, 1];
  const [rsB, csB] = form === 'ABt' ? [1, K] : [N, 1];
  const beta = form === 'AtB' ? 1 : 0;
  const flop = 2 * M * N * K;
  // ≥ 100 calls per rep, and ≥ ~20 ms.
  const calls = Math.max(100, Math.ceil(0.02 / (flop / 20e9)));
  const t1 = best(() => k.sgemm(M, N, K, 1, beta, beta, L.a, rsA, csA, L.b, rsB, csB, L.cc, N, 1, 4 * L.pA, 4 * L.pB), calls);
  const tPack = best(() => k.packB(L.b, rsB, csB, K, N, 4 * L.pre), calls);
  const t2 = best(() => k.sgemmPacked(M, N, K, 1, beta, beta, L.a, rsA, csA, 4 * L.pre, L.cc, N, 1, 4 * L.pA), calls);
  return { packed: flop / t1 / 1e9, prepacked: flop / t2 / 1e9, packBOnly: tPack * 1e6 };
}

/** Rounds of the whole table; each cell reports its best round (the host is shared: a busy spell spoils a round, not the figure). */
const ROUNDS = Number(process.env.SGEMM_RAW_ROUNDS ?? 3);

function main(): void {
  const kernels = [load('simd', false)];
  const fma = relaxedSimdSupported();
  if (fma) kernels.push(load('fma', true));
  const os = require('os') as typeof import('os');
  const loadAvg = (): string => os.loadavg().map((x) => x.toFixed(2)).join(' ');
  console.log(`sgemm-raw: node ${process.version}, ${os.cpus()[0].model}, ${os.cpus().length} CPUs, load average ${loadAvg()}`);
  console.log(`tile ${MR}×${NR}, KC ${KC}, MC ${MC}, NC ${NC}; relaxed SIMD ${fma ? 'on' : 'off (run node --experimental-wasm-relaxed-simd for the FMA variant)'}`);
  console.log(`GFLOP/s, best of ${ROUNDS} rounds × 7 reps of ≥ 100 calls; "sgemm" packs B in every call, "pre-packed" is sgemmPacked on a B packed once (packB); packB µs = one packB`);
  const cases = [...CASES, PEAK];
  const best: Result[][] = cases.map(() => kernels.map(() => ({ packed: 0, prepacked: 0, packBOnly: Infinity })));
  for (let round = 0; round < ROUNDS; round++) {
    cases.forEach((c, i) =>
      kernels.forEach((k, j) => {
        const r = measure(k, c);
        const b = best[i][j];
        best[i][j] = { packed: Math.max(b.packed, r.packed), prepacked: Math.max(b.prepacked, r.prepacked), packBOnly: Math.min(b.packBOnly, r.packBOnly) };
      }),
    );
  }
  const head = ['case', 'form', ...kernels.flatMap((k) => [`${k.name} sgemm`, `${k.name} pre-packed`, `${k.name} packB µs`])];
  const rows: string[][] = [head];
  cases.forEach((c, i) => rows.push([c.name, c.form, ...best[i].flatMap((r) => [r.packed.toFixed(1), r.prepacked.toFixed(1), r.packBOnly.toFixed(1)])]));
  const w = head.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((s, i) => (i < 2 ? s.padEnd(w[i]) : s.padStart(w[i]))).join('  '));
  console.log(`load average at the end ${loadAvg()}`);
}

main();
