// The output head, old (fc.forward → reshape → crossEntropy: three records, logits and
// log-probabilities kept) versus new (linearCrossEntropy: one record, the wasm row kernel),
// alternated in one process on the same model and batch (V 65 one-hot, B 32, T 50, Adam,
// wasm backend, 1 thread): median ms of CharRNN.evaluate and trainStep, and JS heap bytes
// allocated per evaluate call (heapUsed and arrayBuffers growth over one call after a gc(), calls with a GC inside dropped).
//   npx tsc -b && node --expose-gc --min-semi-space-size=64 --max-semi-space-size=64 --experimental-wasm-relaxed-simd scripts/head-ab.mjs [W1|W4|...] [reps]
import * as ad from '@unfold/autodiff';
import { Adam, CharRNN } from '@unfold/rnn';
import { Rng, normal, setBackend } from '@unfold/tensor';
import { GCProfiler } from 'node:v8';

const cfg = { W1: ['lstm', 128, 1], W2: ['lstm', 256, 2], W3: ['gru', 128, 1], W4: ['rnn', 128, 1] };
const workloads = (process.argv[2] ?? 'W1,W4').split(',');
const reps = Number(process.argv[3] ?? 15);
setBackend('wasm');

/** CharRNN with the head it had before linearCrossEntropy, switchable per call. */
class Switchable extends CharRNN {
  old = false;
  loss(x, y, shape, state) {
    if (!this.old) return super.loss(x, y, shape, state);
    const { logits, state: next } = this.forward(x, shape, state);
    return { loss: ad.crossEntropy(ad.reshape(logits, [-1, this.opts.vocabSize]), y), state: next };
  }
}

const gc = globalThis.gc;
const med = (a) => a.slice().sort((p, q) => p - q)[a.length >> 1];
for (const wl of workloads) {
  const [cell, H, L] = cfg[wl];
  const [T, B, V] = [50, 32, 65];
  const m = new Switchable({ cell, vocabSize: V, hiddenSize: H, numLayers: L, input: 'onehot', seed: 0 });
  const opt = new Adam(m.parameters(), { lr: 1e-3 });
  const x = Int32Array.from({ length: T * B }, (_, i) => (i * 7) % V);
  const y = Int32Array.from({ length: T * B }, (_, i) => (i * 11 + 3) % V);
  const res = { old: { train: [], infer: [], heap: [], ab: [], loss: 0 }, new: { train: [], infer: [], heap: [], ab: [], loss: 0 } };
  for (let r = 0; r <= reps; r++) {
    for (const mode of ['old', 'new']) {
      m.old = mode === 'old';
      const R = res[mode];
      let t0 = performance.now();
      m.trainStep(x, y, [T, B], opt);
      const tr = performance.now() - t0;
      t0 = performance.now();
      const lossInfer = m.evaluate(x, y, [T, B]);
      const inf = performance.now() - t0;
      R.loss = lossInfer;
      if (r === 0) continue; // warm-up
      R.train.push(tr);
      R.infer.push(inf);
    }
  }
  // allocation per evaluate call: one call per head after a gc(), 20 times (a call with a GC
  // inside, seen by v8.GCProfiler, is dropped). heapUsed also moves with the concurrent sweeper
  // finishing after gc(): the median is an upper figure, the minimum the closer one. Array
  // buffers can be freed by a background thread mid-call: their median is the figure.
  for (let r = 0; r < 20; r++) {
    for (const mode of ['old', 'new']) {
      m.old = mode === 'old';
      for (let k = 0; k < 3; k++) m.evaluate(x, y, [T, B]);
      if (gc) gc();
      const prof = new GCProfiler();
      prof.start();
      const u0 = process.memoryUsage();
      m.evaluate(x, y, [T, B]);
      const u1 = process.memoryUsage();
      const gcs = prof.stop().statistics.length;
      if (gcs === 0) {
        res[mode].heap.push(u1.heapUsed - u0.heapUsed);
        res[mode].ab.push(u1.arrayBuffers - u0.arrayBuffers);
      }
    }
  }
  // the same weights give the same loss either way (float rounding apart)
  m.old = true;
  const lo = m.evaluate(x, y, [T, B]);
  m.old = false;
  const ln = m.evaluate(x, y, [T, B]);
  const f = (k) => `${med(res.old[k]).toFixed(2)} / ${med(res.new[k]).toFixed(2)} ms (old/new ×${(med(res.old[k]) / med(res.new[k])).toFixed(2)})`;
  const kb = (a) => (a.length ? `${(med(a) / 1024).toFixed(1)} KiB (min ${(Math.min(...a) / 1024).toFixed(1)}, ${a.length} calls)` : 'n/a (GC inside every call)');
  console.log(`${wl} ${cell} ${L}×${H}, ${reps} alternated reps, old / new head: evaluate ${f('infer')}; trainStep ${f('train')}; ` +
    `heap per evaluate ${kb(res.old.heap)} / ${kb(res.new.heap)} + array buffers ${(med(res.old.ab) / 1024).toFixed(1)} / ${(med(res.new.ab) / 1024).toFixed(1)} KiB (medians); loss ${lo.toFixed(7)} / ${ln.toFixed(7)}`);
}

// The head alone on h [T·B, H] = [1600, 128]: no tape (evaluate's head), and forward + backward
// with h, W, b watched (trainStep's head), old and new alternated.
{
  const [N, H, V] = [1600, 128, 65];
  const rng = new Rng(4);
  const h = normal([N, H], 0, 1, { rng });
  const w = normal([V, H], 0, 0.1, { rng });
  const b = normal([V], 0, 0.1, { rng });
  const y = Int32Array.from({ length: N }, (_, i) => (i * 11 + 3) % V);
  const heads = {
    old: () => ad.crossEntropy(ad.linear(h, w, b), y),
    new: () => ad.linearCrossEntropy(h, w, b, y),
  };
  const t = { old: { infer: [], train: [] }, new: { infer: [], train: [] } };
  for (let r = 0; r <= 4 * reps; r++) {
    for (const mode of ['old', 'new']) {
      let t0 = performance.now();
      ad.noGrad(heads[mode]);
      const inf = performance.now() - t0;
      t0 = performance.now();
      const tape = new ad.Tape();
      tape.watch(h, w, b);
      const loss = tape.run(heads[mode]);
      ad.backward(tape, loss);
      const tr = performance.now() - t0;
      if (r === 0) continue;
      t[mode].infer.push(inf);
      t[mode].train.push(tr);
    }
  }
  const g = (k) => `${med(t.old[k]).toFixed(3)} / ${med(t.new[k]).toFixed(3)} ms (×${(med(t.old[k]) / med(t.new[k])).toFixed(2)})`;
  console.log(`head alone [${N}, ${H}] → ${V}, old / new: no tape ${g('infer')}; forward + backward ${g('train')}`);
}
