// The wasm backend on a runtime without shared WebAssembly memory (a browser page without
// cross-origin isolation): a grow of an ordinary memory detaches every view of it, so the
// library keeps its own tensors in JS memory there and stages operands per call. Simulated by
// making `new WebAssembly.Memory({ shared: true })` throw before the modules load; LSTM, GRU and
// RNN gradients must then match the JS backend as on a shared memory.
type MemoryCtor = new (desc: { initial: number; maximum?: number; shared?: boolean }) => object;
const wasmGlobal = (globalThis as unknown as { WebAssembly: { Memory: MemoryCtor } }).WebAssembly;
const RealMemory = wasmGlobal.Memory;
class NoSharedMemory extends RealMemory {
  constructor(desc: { initial: number; maximum?: number; shared?: boolean }) {
    if (desc.shared) throw new TypeError('shared memory unavailable (simulated)');
    super(desc);
  }
}
wasmGlobal.Memory = NoSharedMemory;

/* eslint-disable @typescript-eslint/no-var-requires */
const T = require('@unfold/tensor') as typeof import('@unfold/tensor');
const AD = require('@unfold/autodiff') as typeof import('@unfold/autodiff');
const R = require('../src') as typeof import('../src');

afterAll(() => {
  wasmGlobal.Memory = RealMemory;
});

(T.backendInfo().simd ? test : test.skip)('without shared memory: nothing is made resident and the gradients match JS', () => {
  T.setBackend('wasm', { minFlops: 0 });
  expect(T.arenaStats().shared).toBe(false);
  expect(T.residentPays()).toBe(false);
  const rng = new T.Rng(2);
  const [Tn, B, I, H] = [20, 32, 3, 64];
  const x = T.normal([Tn, B, I], 0, 1, { rng });
  const Rt = T.normal([Tn, B, H], 0, 1, { rng });
  for (const kind of ['lstm', 'gru'] as const) {
    const grads = (be: 'js' | 'wasm'): number[][] => {
      T.setBackend(be, { minFlops: 0 });
      const layer = kind === 'lstm' ? new R.LSTM({ inputSize: I, hiddenSize: H, seed: 3 }) : new R.GRU({ inputSize: I, hiddenSize: H, seed: 3 });
      for (const p of layer.parameters()) expect(T.isResident(p.value)).toBe(false);
      R.computeGradients(layer, () => ({ loss: AD.sum(AD.mul(layer.forward(x).output, Rt)) }));
      return layer.parameters().map((p) => (p.grad as import('@unfold/tensor').Tensor).toFlatArray());
    };
    // The arena starts at 1 MiB, so had the cells put their buffers there, it would grow while
    // they hold views (with `residentPays` forced on, this test fails: out-of-bounds access).
    const wa = grads('wasm');
    const js = grads('js');
    wa.forEach((g, k) => {
      const scale = Math.max(1, ...js[k].map(Math.abs));
      g.forEach((v, i) => expect(Math.abs(v - js[k][i]) / scale).toBeLessThan(1e-4));
    });
  }
  T.setBackend('auto');
});

(T.backendInfo().simd ? test : test.skip)('without shared memory: the output head (linearCrossEntropy, logits staged per call) matches JS, loss and gradients', () => {
  const [Tn, B, V] = [30, 16, 37];
  const x = Int32Array.from({ length: Tn * B }, (_, i) => (i * 7) % V);
  const y = Int32Array.from({ length: Tn * B }, (_, i) => (i * 5 + 1) % V);
  const run = (be: 'js' | 'wasm') => {
    T.setBackend(be, { minFlops: 0 });
    const m = new R.CharRNN({ cell: 'rnn', vocabSize: V, hiddenSize: 24, seed: 5 });
    const loss = R.computeGradients(m, () => m.loss(x, y, [Tn, B])).loss.item();
    const ev = m.evaluate(x, y, [Tn, B]);
    return { loss, ev, grads: m.parameters().map((p) => (p.grad as import('@unfold/tensor').Tensor).toFlatArray()) };
  };
  const wa = run('wasm');
  expect(T.residentPays()).toBe(false);
  const js = run('js');
  expect(Math.abs(wa.loss - js.loss)).toBeLessThan(1e-5);
  expect(Math.abs(wa.ev - js.ev)).toBeLessThan(1e-5);
  wa.grads.forEach((g, k) => {
    const scale = Math.max(1, ...js.grads[k].map(Math.abs));
    g.forEach((v, i) => expect(Math.abs(v - js.grads[k][i]) / scale).toBeLessThan(1e-4));
  });
  T.setBackend('auto');
});
