// Whole-sequence kernels versus the per-step path, alternated in one process on the same model
// and batch (V 65 one-hot, B 32, T 50, Adam): median ms per training step and per inference
// pass, and JS heap growth per time step of an inference pass (a rough figure: GC may run inside).
//   npx tsc -b && node --experimental-wasm-relaxed-simd benchmarks/dist/sequence-ab.js [lstm|gru|rnn] [H] [layers] [reps]
import { Adam, CharRNN, CellName, setSequenceKernels } from '@unfold/rnn';
import { setBackend } from '@unfold/tensor';

const [cell, H, L, reps] = [(process.argv[2] ?? 'lstm') as CellName, Number(process.argv[3] ?? 128), Number(process.argv[4] ?? 1), Number(process.argv[5] ?? 8)];
setBackend((process.env.UNFOLD_BACKEND as 'js' | 'wasm' | undefined) ?? 'wasm');
const [T, B, V] = [50, 32, 65];
const m = new CharRNN({ cell, vocabSize: V, hiddenSize: H, numLayers: L, input: 'onehot', seed: 0 });
const opt = new Adam(m.parameters(), { lr: 1e-3 });
const x = Array.from({ length: T * B }, (_, i) => (i * 7) % V);
const y = Array.from({ length: T * B }, (_, i) => (i * 11) % V);
type Figures = { train: number[]; infer: number[]; heap: number[] };
const res: Record<'step' | 'seq', Figures> = { step: { train: [], infer: [], heap: [] }, seq: { train: [], infer: [], heap: [] } };
for (let r = 0; r <= reps; r++) {
  for (const mode of ['step', 'seq'] as const) {
    setSequenceKernels(mode === 'seq');
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
const med = (a: number[]): number => a.slice().sort((p, q) => p - q)[a.length >> 1];
const f = (k: 'train' | 'infer'): string => `${med(res.step[k]).toFixed(1)} / ${med(res.seq[k]).toFixed(1)} ms (×${(med(res.step[k]) / med(res.seq[k])).toFixed(2)})`;
console.log(`${cell} ${L}×${H}, ${reps} alternated reps: per-step / sequence: train ${f('train')}; infer ${f('infer')}; heap per time step (infer) ${med(res.step.heap).toFixed(0)} / ${med(res.seq.heap).toFixed(0)} B`);
