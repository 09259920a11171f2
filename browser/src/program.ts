// The program the browser test runs in a page and in Node (same code, same seed): every number
// the page reports is compared with the same call here.
import { Rng, Tensor, backendInfo, gateKernels, matmul, normal, poolReady, setBackend, setThreads } from '@unfold/tensor';
import { gradCheck } from '@unfold/autodiff';
import { CharLMTask, CharRNN, CharVocab, LSTM, fit, fitAsync, memoryStore } from '@unfold/rnn';

export const TEXT = 'to be, or not to be, that is the question: whether tis nobler in the mind to suffer. '.repeat(30);

/** A seeded character LSTM trained `steps` steps with Adam: the per-step losses. */
export function trainCharRnn(steps = 20): number[] {
  const vocab = CharVocab.fromText(TEXT);
  const model = new CharRNN({ cell: 'lstm', vocabSize: vocab.size, hiddenSize: 64, seed: 7 });
  const task = new CharLMTask(model, { train: vocab.encode(TEXT), batchSize: 8, seqLen: 24, rng: new Rng(3) });
  const r = fit(model, task, { steps, optimizer: { name: 'adam', lr: 5e-3 }, clipNorm: 5, log: 'none', checkpoint: memoryStore(), checkpointEvery: 10 });
  return r.history.map((h) => h.loss);
}

/** The same run through fitAsync (yielding every step): it must give the same losses. */
export async function trainCharRnnAsync(steps = 20): Promise<{ losses: number[]; yields: number }> {
  const vocab = CharVocab.fromText(TEXT);
  const model = new CharRNN({ cell: 'lstm', vocabSize: vocab.size, hiddenSize: 64, seed: 7 });
  const task = new CharLMTask(model, { train: vocab.encode(TEXT), batchSize: 8, seqLen: 24, rng: new Rng(3) });
  let yields = 0;
  const tick = setInterval(() => yields++, 0);
  try {
    const r = await fitAsync(model, task, { steps, optimizer: { name: 'adam', lr: 5e-3 }, clipNorm: 5, log: 'none', checkpoint: memoryStore(), checkpointEvery: 10 });
    return { losses: r.history.map((h) => h.loss), yields };
  } finally {
    clearInterval(tick);
  }
}

/** float64 gradCheck of a 2-layer bidirectional LSTM w.r.t. its input and initial states. */
export function gradCheckBiLstm(): { ok: boolean; maxError: number; checked: number } {
  const rng = new Rng(11);
  const lstm = new LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, dtype: 'float64', seed: 5 });
  const x = normal([5, 2, 3], 0, 1, { rng, dtype: 'float64' }); // [T, B, I]
  const h0 = normal([4, 2, 4], 0, 0.5, { rng, dtype: 'float64' }); // [L·D, B, H]
  const c0 = normal([4, 2, 4], 0, 0.5, { rng, dtype: 'float64' });
  const rep = gradCheck((xx: Tensor, hh: Tensor, cc: Tensor) => lstm.forward(xx, { h0: hh, c0: cc }).output, [x, h0, c0], { seed: 2 });
  return { ok: rep.ok, maxError: rep.maxError, checked: rep.checked };
}

/** A wrong-shape input: the error's name and message. */
export function badInput(): { name: string; message: string } {
  const lstm = new LSTM({ inputSize: 3, hiddenSize: 4, seed: 1 });
  try {
    lstm.forward(normal([5, 2, 7], 0, 1, { rng: new Rng(1) }));
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message };
  }
  return { name: 'none', message: 'no error' };
}

/** Which kernels run here. */
export function kernels(): { gemm: string; gates: boolean; fallback: string; fma: boolean; threads: number; threadsNote: string } {
  const b = backendInfo();
  return { gemm: b.gemm, gates: gateKernels() !== null, fallback: b.fallback, fma: b.fma, threads: b.threads, threadsNote: b.threadsNote };
}

/** The kernel choice both sides use for the bit-for-bit comparison (FMA off: Node 20 has no relaxed SIMD without a flag). */
export function sameKernels(): void {
  setBackend('auto', { fma: false });
}

/** Two threads: started, awaited, and a large product bit-identical to one thread. */
export async function threads(): Promise<{ threads: number; note: string; identical: boolean }> {
  const rng = new Rng(4);
  const a = normal([64, 256], 0, 1, { rng });
  const b = normal([256, 512], 0, 1, { rng });
  setThreads(1);
  const one = matmul(a, b).toFlatArray();
  setThreads(2);
  const info = await poolReady();
  const two = matmul(a, b).toFlatArray();
  const identical = one.length === two.length && one.every((v, i) => Object.is(v, two[i]));
  const r = { threads: backendInfo().threads, note: info.reason, identical };
  setThreads(1);
  return r;
}
