import { Rng, Tensor, arenaStats, backendInfo, normal, setBackend } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { Adam, CharLMTask, CharRNN, CharRNNOptions, CharVocab, LSTM, clipGradNorm, computeGradients, fit } from '@unfold/rnn';

// CharRNN.trainStep records with computeGradients({ releaseIntermediates: true }): the fused
// layers write their [T,B,H] outputs into arena blocks the tape gives back after backward, and
// the head's and layers' input adjoints are scratch blocks backward gives back once consumed.
// The numbers must be those of the plain path (outputs in JS arrays, nothing released), the
// arena must not grow step after step, and a value read after its buffer went back must throw.

const wasm = backendInfo().simd;
const [T, B, V] = [7, 3, 11];
const ids = (k: number): number[] => Array.from({ length: T * B }, (_, i) => (i * k + 3) % V);
const x = ids(5), y = ids(7);
const bits = (t: Tensor): number[] => Array.from(new Uint32Array(Float32Array.from(t.data as Float32Array).buffer));

const configs: [string, CharRNNOptions][] = [
  ['LSTM 2 layers (one-hot, then dense)', { cell: 'lstm', vocabSize: V, hiddenSize: 6, numLayers: 2, seed: 3 }],
  ['GRU, embedding input', { cell: 'gru', vocabSize: V, hiddenSize: 5, input: 'embedding', embeddingDim: 4, seed: 4 }],
  ['tanh RNN 2 layers', { cell: 'rnn', vocabSize: V, hiddenSize: 8, numLayers: 2, seed: 5 }],
];

(wasm ? describe : describe.skip)('training with intermediates released (wasm arena)', () => {
  beforeAll(() => setBackend('wasm'));
  afterAll(() => setBackend('auto'));

  test.each(configs)('%s: trainStep equals the plain path bit for bit, 8 steps, clipping at 0.05 (engaged)', (_name, o) => {
    const a = new CharRNN(o);
    const b = new CharRNN(o);
    const oa = new Adam(a.parameters(), { lr: 1e-2 });
    const ob = new Adam(b.parameters(), { lr: 1e-2 });
    for (let s = 0; s < 8; s++) {
      const la = a.trainStep(x, y, [T, B], oa, { clip: 0.05 });
      b.train(true);
      const r = computeGradients(b, () => b.loss(x, y, [T, B])); // outputs kept, nothing released
      expect(clipGradNorm(b.parameters(), 0.05)).toBeGreaterThan(0.05); // the clip scales
      ob.step();
      expect(la).toBe(r.loss.item());
    }
    for (const [i, p] of a.parameters().entries()) expect(bits(p.value)).toEqual(bits(b.parameters()[i].value));
  });

  test.each(configs)('%s: the arena does not grow from step to step', (_name, o) => {
    const m = new CharRNN(o);
    const opt = new Adam(m.parameters(), { lr: 1e-2 });
    for (let s = 0; s < 3; s++) m.trainStep(x, y, [T, B], opt);
    const live = arenaStats().liveBytes;
    for (let s = 0; s < 5; s++) m.trainStep(x, y, [T, B], opt);
    expect(arenaStats().liveBytes).toBe(live);
  });

  test('bidirectional 2-layer LSTM with lengths (reverse dense adjoints): gradients equal the plain path bit for bit, no growth', () => {
    const lstm = new LSTM({ inputSize: 4, hiddenSize: 5, numLayers: 2, bidirectional: true, seed: 9 });
    const xs = normal([T, B, 4], 0, 1, { rng: new Rng(2), dtype: 'float32' });
    const w = normal([T, B, 10], 0, 1, { rng: new Rng(3), dtype: 'float32' });
    const lengths = [T, T - 2, 3];
    const run = (release: boolean): number[][] => {
      computeGradients(lstm, () => ({ loss: ad.sum(ad.mul(lstm.forward(xs, { lengths }).output, w)) }), { releaseIntermediates: release });
      return lstm.parameters().map((p) => bits(p.grad!));
    };
    const plain = run(false);
    expect(run(true)).toEqual(plain);
    const live = arenaStats().liveBytes;
    for (let s = 0; s < 3; s++) expect(run(true)).toEqual(plain);
    expect(arenaStats().liveBytes).toBe(live);
  });

  test('a hidden state read after backward: throws when released, readable otherwise', () => {
    const m = new CharRNN(configs[0][1]);
    for (const release of [true, false]) {
      let kept: Tensor | null = null;
      computeGradients(
        m,
        () => {
          const { hidden } = m.hiddenStates(x, [T, B]);
          kept = hidden;
          return { loss: m.headLoss(hidden, y) };
        },
        { releaseIntermediates: release },
      );
      if (release) expect(() => kept!.data).toThrow(/released/);
      else expect(kept!.toFlatArray().every(Number.isFinite)).toBe(true);
    }
  });

  test('releaseIntermediates and reuseGradBuffers must be booleans', () => {
    const m = new CharRNN(configs[0][1]);
    expect(() => computeGradients(m, () => m.loss(x, y, [T, B]), { releaseIntermediates: 'yes' as unknown as boolean })).toThrow(/releaseIntermediates must be true or false/);
    expect(() => computeGradients(m, () => m.loss(x, y, [T, B]), { reuseGradBuffers: 1 as unknown as boolean })).toThrow(/reuseGradBuffers must be true or false/);
  });

  test('reuseGradBuffers: each .grad is the same tensor step after step, holding that step\'s gradient', () => {
    const m = new CharRNN(configs[0][1]);
    const ref = new CharRNN(configs[0][1]);
    const first = (): Tensor[] => m.parameters().map((p) => p.grad!);
    computeGradients(m, () => m.loss(x, y, [T, B]), { reuseGradBuffers: true });
    const g1 = first();
    computeGradients(m, () => m.loss(ids(3), ids(4), [T, B]), { reuseGradBuffers: true });
    computeGradients(ref, () => ref.loss(ids(3), ids(4), [T, B]));
    m.parameters().forEach((p, i) => {
      expect(p.grad).toBe(g1[i]);
      expect(bits(p.grad!)).toEqual(bits(ref.parameters()[i].grad!));
    });
  });

  test('reuseGradBuffers: a parameter the loss does not reach gets zeros in its buffer', () => {
    const m = new CharRNN(configs[0][1]);
    computeGradients(m, () => m.loss(x, y, [T, B]), { reuseGradBuffers: true });
    const fc = m.parameters().find((p) => p.name === 'fc.weight')!;
    const buf = fc.grad!;
    computeGradients(m, () => ({ loss: ad.sum(m.hiddenStates(x, [T, B]).hidden) }), { reuseGradBuffers: true });
    expect(fc.grad).toBe(buf);
    expect(buf.toFlatArray().every((v) => v === 0)).toBe(true);
  });

  test('backward names a gradBuffers entry of the wrong shape', () => {
    const w = normal([3, 2], 0, 1, { rng: new Rng(1), dtype: 'float32' });
    const tape = new ad.Tape();
    tape.watch(w);
    const yv = tape.run(() => ad.sum(w));
    expect(() => ad.backward(tape, yv, { gradBuffers: new Map([[w, Tensor.empty([2, 3], 'float32')]]) })).toThrow('gradBuffers: the buffer for [3,2] float32 is [2,3] float32');
  });
});

(wasm ? describe : describe.skip)('fit on a CharLMTask releases intermediates and reuses gradient buffers', () => {
  beforeAll(() => setBackend('wasm'));
  afterAll(() => setBackend('auto'));
  const text = 'the quick brown fox jumps over the lazy dog. '.repeat(40);
  const vocab = CharVocab.fromText(text);
  const ids2 = vocab.encode(text);

  test.each([['k1 = k2', {}], ['k1 < k2 (two hiddenStates calls per window)', { k1: 6 }]] as const)('%s: the same losses as with both off', (_n, extra) => {
    const run = (release: boolean): number[] => {
      const model = new CharRNN({ cell: 'lstm', vocabSize: vocab.size, hiddenSize: 12, numLayers: 2, seed: 1 });
      const task = new CharLMTask(model, { train: ids2.subarray(0, 1500), val: ids2.subarray(1500), batchSize: 4, seqLen: 10, ...extra });
      // a task that does not declare it: fit keeps the outputs (reuseGradBuffers is fit's own, on either way)
      const t = release ? task : Object.assign(Object.create(Object.getPrototypeOf(task)), task, { releasesIntermediates: false });
      const losses: number[] = [];
      const live: number[] = [];
      fit(model, t, { steps: 12, log: 'none', clipNorm: 1, optimizer: { name: 'adam', lr: 1e-2 }, onStep: (r) => (losses.push(r.loss), live.push(arenaStats().liveBytes)) });
      if (release) expect(live[11]).toBe(live[3]); // the arena is flat from step to step
      return losses;
    };
    expect(run(true)).toEqual(run(false));
  });
});

describe('gradients shared between parameters are clipped once', () => {
  // LSTM and Elman layers fold b_ih + b_hh into one bias; add's vjp hands the same adjoint to both.
  test.each(['lstm', 'rnn'] as const)('%s: computeGradients gives every parameter its own .grad buffer', (cell) => {
    const m = new CharRNN({ cell, vocabSize: V, hiddenSize: 6, numLayers: 2, seed: 2 });
    computeGradients(m, () => m.loss(x, y, [T, B]));
    const storages = m.parameters().map((p) => p.grad!.storage);
    expect(new Set(storages).size).toBe(storages.length);
  });

  test('clipGradNorm scales an array two parameters share once (norm counted for each)', () => {
    const g = Tensor.fromArray(Float32Array.from([3, 4]), [2]);
    const a = { name: 'a', value: Tensor.fromArray(Float32Array.from([0, 0]), [2]), grad: g };
    const b = { name: 'b', value: Tensor.fromArray(Float32Array.from([0, 0]), [2]), grad: g };
    const norm = clipGradNorm([a, b], 1);
    expect(norm).toBeCloseTo(Math.sqrt(50), 5); // √(3² + 4² + 3² + 4²)
    const c = 1 / (Math.sqrt(50) + 1e-6);
    expect(Array.from(g.data)).toEqual([Math.fround(3 * c), Math.fround(4 * c)]);
  });

  test('clipping a CharRNN LSTM: each bias gradient scaled by the same factor as the rest', () => {
    const m = new CharRNN({ cell: 'lstm', vocabSize: V, hiddenSize: 6, seed: 2 });
    computeGradients(m, () => m.loss(x, y, [T, B]));
    const before = m.parameters().map((p) => Array.from(p.grad!.data as Float32Array));
    const norm = clipGradNorm(m.parameters(), 1e-3);
    const c = 1e-3 / (norm + 1e-6);
    m.parameters().forEach((p, i) => expect(Array.from(p.grad!.data)).toEqual(before[i].map((v) => Math.fround(v * c))));
  });
});
