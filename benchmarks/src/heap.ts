/**
 * Heap and garbage-collection figures over a long training run (not a test):
 *   node [--min-semi-space-size=64 --max-semi-space-size=64] benchmarks/dist/heap.js [steps=1000] [workload=W4]
 * Reports heap used at steps 10 and N (growth = a leak), the number of GCs and the time they took,
 * and the bytes one training step allocates (JS heap + ArrayBuffers between two GCs, alloc.ts's
 * counter — exact when no GC ran inside the step, which it says). For the figures per time step
 * of every workload and contender, see the `alloc/step` columns of `npm run bench`.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import * as v8 from 'node:v8';
import { Adam, CharRNN } from '@unfold/rnn';
import { measured } from './alloc';

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
  // then three steps between two full GCs each (alloc.ts), their gc entries watched separately
  const gcAt: number[] = [];
  const obs2 = new PerformanceObserver((l) => l.getEntries().forEach((e) => gcAt.push(e.startTime)));
  obs2.observe({ entryTypes: ['gc'] });
  const one = [0, 1, 2].map(() => measured(() => model.trainStep(x, y, [T, B], opt)));
  setTimeout(() => {
    obs2.disconnect();
    const clean = one.filter((w) => !gcAt.some((t) => t >= w.t0 && t <= w.t1));
    if (clean.length === 0) console.log('  allocated by one step: not measured (a GC ran inside each of 3 measured steps; run with --min-semi-space-size=64 --max-semi-space-size=64)');
    else {
      const best = clean.reduce((a, b) => (a.heap + a.ab <= b.heap + b.ab ? a : b));
      console.log(`  allocated by one step (least of ${clean.length} without a GC inside): ${(best.heap / 1024).toFixed(0)} KiB JS heap + ${(best.ab / 1024).toFixed(0)} KiB ArrayBuffers = ${((best.heap + best.ab) / T / 1024).toFixed(1)} KiB per time step`);
    }
  }, 50);
}, 50);
