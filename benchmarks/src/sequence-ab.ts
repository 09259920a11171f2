// Whole-sequence kernels versus the per-step path, alternated in one process on the same model
// and batch (V 65 one-hot, B 32, T 50, Adam): median ms per training step and per inference
// pass, and JS heap growth per time step of an inference pass (a rough figure: GC may run inside).
//   npx tsc -b && node --experimental-wasm-relaxed-simd benchmarks/dist/sequence-ab.js [lstm|gru|rnn] [H] [layers] [reps] [ab]
// ab (default `path`): what is alternated —
//   path     per-step path (1 thread) vs the sequence op (1 thread)
//   threads  the sequence op on 1 thread vs on 2 (setThreads: the pool splits the big GEMMs
//            and runs each thread's half of the batch rows for all T steps)
//   steppath the per-step path on 1 thread vs on 2 (the pool splits each step's GEMM)
import { Adam, CharRNN, CellName, setSequenceKernels } from '@unfold/rnn';
import { setBackend, setThreads } from '@unfold/tensor';
import * as os from 'node:os';

const [cell, H, L, reps] = [(process.argv[2] ?? 'lstm') as CellName, Number(process.argv[3] ?? 128), Number(process.argv[4] ?? 1), Number(process.argv[5] ?? 8)];
const ab = process.argv[6] ?? 'path';
if (!['path', 'threads', 'steppath'].includes(ab)) throw new Error(`ab must be path, threads or steppath, got ${ab}`);
setBackend((process.env.UNFOLD_BACKEND as 'js' | 'wasm' | undefined) ?? 'wasm');
const [T, B, V] = [50, 32, 65];
const m = new CharRNN({ cell, vocabSize: V, hiddenSize: H, numLayers: L, input: 'onehot', seed: 0 });
const opt = new Adam(m.parameters(), { lr: 1e-3 });
const x = Array.from({ length: T * B }, (_, i) => (i * 7) % V);
const y = Array.from({ length: T * B }, (_, i) => (i * 11) % V);
type Figures = { train: number[]; infer: number[]; heap: number[] };
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
