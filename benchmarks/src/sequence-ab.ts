// Whole-sequence kernels versus the per-step path, alternated in one process on the same model
// and batch (V 65 one-hot, B 32, T 50, Adam): median ms per training step and per inference
// pass, and JS heap growth per time step of an inference pass (a rough figure: GC may run inside).
//   npx tsc -b && node --experimental-wasm-relaxed-simd benchmarks/dist/sequence-ab.js [lstm|gru|rnn] [H] [layers] [reps] [ab]
// ab (default `path`): what is alternated —
//   path     per-step path (1 thread) vs the sequence op (1 thread)
//   threads  the sequence op on 1 thread vs on 2 (setThreads: the pool splits the big GEMMs
//            and runs each thread's half of the batch rows for all T steps)
//   steppath the per-step path on 1 thread vs on 2 (the pool splits each step's GEMM)
//   heap     JS heap allocated by one inference pass at T = 50 and T = 100 (per-step path vs
//            sequence op; the layer alone and the whole evaluate): per step = (A₁₀₀ − A₅₀) / 50.
//            Needs `node --expose-gc --max-semi-space-size=64`: gc() before each pass, and a
//            young generation big enough that no collection runs inside it (passes during which
//            one ran are discarded: a PerformanceObserver counts them).
import { Adam, CharRNN, CellName, setSequenceKernels } from '@unfold/rnn';
import { setBackend, setThreads } from '@unfold/tensor';
import { noGrad } from '@unfold/autodiff';
import * as os from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';

const [cell, H, L, reps] = [(process.argv[2] ?? 'lstm') as CellName, Number(process.argv[3] ?? 128), Number(process.argv[4] ?? 1), Number(process.argv[5] ?? 8)];
const ab = process.argv[6] ?? 'path';
if (!['path', 'threads', 'steppath', 'heap'].includes(ab)) throw new Error(`ab must be path, threads, steppath or heap, got ${ab}`);
setBackend((process.env.UNFOLD_BACKEND as 'js' | 'wasm' | undefined) ?? 'wasm');
const [T, B, V] = [50, 32, 65];
const m = new CharRNN({ cell, vocabSize: V, hiddenSize: H, numLayers: L, input: 'onehot', seed: 0 });
const opt = new Adam(m.parameters(), { lr: 1e-3 });
const x = Array.from({ length: T * B }, (_, i) => (i * 7) % V);
const y = Array.from({ length: T * B }, (_, i) => (i * 11) % V);
type Figures = { train: number[]; infer: number[]; heap: number[] };
if (ab === 'heap') void heapPerStep();
else runAB();

function runAB(): void {
  const modes = ab === 'path' ? (['step', 'seq'] as const) : (['1T', '2T'] as const);
  const res: Record<string, Figures> = Object.fromEntries(modes.map((k) => [k, { train: [], infer: [], heap: [] }]));
  const set = (mode: string): void => {
    if (ab === 'path') setSequenceKernels(mode === 'seq');
    else {
      setSequenceKernels(ab === 'threads');
      setThreads(mode === '2T' ? 2 : 1);
    }
  };
  const load0 = os.loadavg()[0];
  for (let r = 0; r <= reps; r++) {
    for (const mode of modes) {
      set(mode);
      let t0 = performance.now();
      m.trainStep(x, y, [T, B], opt);
      const tr = performance.now() - t0;
      const h0 = process.memoryUsage().heapUsed;
      t0 = performance.now();
      m.evaluate(x, y, [T, B]);
      const inf = performance.now() - t0;
      const h1 = process.memoryUsage().heapUsed;
      if (r === 0) continue; // warm-up
      res[mode].train.push(tr);
      res[mode].infer.push(inf);
      res[mode].heap.push((h1 - h0) / T);
    }
  }
  setSequenceKernels(true);
  setThreads(1);
  const [A, Bm] = modes;
  const med = (a: number[]): number => a.slice().sort((p, q) => p - q)[a.length >> 1];
  const f = (k: 'train' | 'infer'): string => `${med(res[A][k]).toFixed(1)} / ${med(res[Bm][k]).toFixed(1)} ms (×${(med(res[A][k]) / med(res[Bm][k])).toFixed(2)})`;
  const label = ab === 'path' ? 'per-step / sequence' : ab === 'threads' ? 'sequence op 1 thread / 2 threads' : 'per-step path 1 thread / 2 threads';
  console.log(
    `${cell} ${L}×${H}, ${reps} alternated reps: ${label}: train ${f('train')}; infer ${f('infer')}; ` +
      `heap per time step (infer) ${med(res[A].heap).toFixed(0)} / ${med(res[Bm].heap).toFixed(0)} B; load ${load0.toFixed(2)} → ${os.loadavg()[0].toFixed(2)}`,
  );
  process.exit(0); // the pool's workers are unref'd; exit at once rather than wait for their spin
}

async function heapPerStep(): Promise<never> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('heap mode needs node --expose-gc (and --max-semi-space-size=64)');
  let gcs = 0;
  new PerformanceObserver((l) => void (gcs += l.getEntries().length)).observe({ entryTypes: ['gc'] });
  const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));
  const cache = new Map<number, number[]>(); // the inputs are made once, outside the measured passes
  const ids = (n: number): number[] => {
    if (!cache.has(n)) cache.set(n, Array.from({ length: n * B }, (_, i) => (i * 7) % V));
    return cache.get(n)!;
  };
  const passes = {
    layer: (n: number) => noGrad(() => m.rnn.forwardIds(ids(n), [n, B])),
    evaluate: (n: number) => m.evaluate(ids(n), ids(n), [n, B]),
  };
  const out: string[] = [];
  for (const [what, pass] of Object.entries(passes)) {
    for (const sequence of [false, true]) {
      setSequenceKernels(sequence);
      const bytes: Record<number, number[]> = { 50: [], 100: [] };
      for (let r = 0; r < 12; r++) {
        for (const n of [50, 100]) {
          pass(n); // warm (shapes, workspace)
          gc();
          await tick();
          const g0 = gcs;
          const h0 = process.memoryUsage().heapUsed;
          pass(n);
          const h1 = process.memoryUsage().heapUsed;
          await tick();
          if (gcs === g0) bytes[n].push(h1 - h0);
        }
      }
      const med = (a: number[]): number => a.slice().sort((p, q) => p - q)[a.length >> 1];
      const [a50, a100] = [med(bytes[50]), med(bytes[100])];
      out.push(`${what} ${sequence ? 'sequence' : 'per-step'}: ${(a50 / 1024).toFixed(1)} KiB at T 50, ${(a100 / 1024).toFixed(1)} KiB at T 100 → ${((a100 - a50) / 50).toFixed(0)} B per step (${bytes[50].length}+${bytes[100].length} passes without GC)`);
    }
  }
  console.log(`${cell} ${L}×${H}, B ${B}, JS heap allocated per inference pass:\n  ${out.join('\n  ')}`);
  process.exit(0);
}
