import { Rng, oneHot } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { LSTM, GRU } from '@unfold/rnn';
import { Adam, CharRNN, CharVocab, SGD, computeGradients, drawFrom, sampleIds } from '@unfold/rnn';

const text = 'hello world, hello rnn. '.repeat(20);
const vocab = CharVocab.fromText(text);
const ids = vocab.encode(text);
function batch(T: number, B: number, at: number) {
  const x = new Int32Array(T * B);
  const y = new Int32Array(T * B);
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) {
    x[t * B + b] = ids[at + b * 37 + t];
    y[t * B + b] = ids[at + b * 37 + t + 1];
  }
  return { x, y };
}

describe('CharRNN', () => {
  test.each(['lstm', 'gru', 'rnn'] as const)('%s learns a repeating text (loss falls well below uniform)', (cell) => {
    const m = new CharRNN({ cell, vocabSize: vocab.size, hiddenSize: 32, seed: 3 });
    const opt = new Adam(m.parameters(), { lr: 1e-2 });
    const { x, y } = batch(16, 4, 0);
    const first = m.evaluate(x, y, [16, 4]);
    expect(first).toBeGreaterThan(Math.log(vocab.size) * 0.8);
    for (let i = 0; i < 60; i++) m.trainStep(x, y, [16, 4], opt, { clip: 5 });
    expect(m.evaluate(x, y, [16, 4])).toBeLessThan(0.5);
  });

  test.each([['lstm', 2, false], ['gru', 1, true]] as const)('%s: forwardIds (row lookup) = forward(oneHot) in outputs and every gradient', (cell, layers, withLengths) => {
    const V = 7, T = 4, B = 3;
    const make = () => (cell === 'lstm' ? new LSTM({ inputSize: V, hiddenSize: 5, numLayers: layers, seed: 2, dtype: 'float64' }) : new GRU({ inputSize: V, hiddenSize: 5, numLayers: layers, seed: 2, dtype: 'float64' }));
    const ids = Array.from({ length: T * B }, (_, i) => (i * 5 + 3) % V);
    const lengths = withLengths ? [4, 2, 3] : undefined;
    const runs = [(l: ReturnType<typeof make>) => l.forwardIds(ids, [T, B], { lengths }), (l: ReturnType<typeof make>) => l.forward(oneHot(ids, V, 'float64').reshape([T, B, V]), { lengths })];
    const out = runs.map((f) => {
      const l = make();
      const r = computeGradients(l, () => {
        const o = f(l);
        return { loss: ad.sum(ad.mul(o.output, o.output)), o };
      });
      return { y: r.o.output.toFlatArray(), g: l.parameters().map((p) => p.grad!.toFlatArray()) };
    });
    out[0].y.forEach((v, i) => expect(v).toBeCloseTo(out[1].y[i], 12));
    out[0].g.forEach((g, k) => g.forEach((v, i) => expect(v).toBeCloseTo(out[1].g[k][i], 12)));
  });

  test('same seed, same numbers', () => {
    const run = () => {
      const m = new CharRNN({ cell: 'lstm', vocabSize: vocab.size, hiddenSize: 8, numLayers: 2, dropout: 0.2, seed: 9 });
      const opt = new SGD(m.parameters(), { lr: 0.1 });
      const { x, y } = batch(5, 3, 2);
      return [0, 1, 2].map(() => m.trainStep(x, y, [5, 3], opt));
    };
    expect(run()).toEqual(run());
  });

  test('parameter gradients match finite differences of the loss (float64, embedding input)', () => {
    const m = new CharRNN({ cell: 'gru', vocabSize: vocab.size, hiddenSize: 5, numLayers: 2, input: 'embedding', embeddingDim: 4, seed: 5, dtype: 'float64' });
    const { x, y } = batch(4, 2, 5);
    computeGradients(m, () => m.loss(x, y, [4, 2]));
    const rng = new Rng(1);
    for (const p of m.parameters()) {
      const g = p.grad!.toFlatArray();
      // embedding: only rows of characters in the batch have gradients, so probe those
      const rows = p.name.startsWith('embedding') ? Array.from(new Set(x)) : null;
      for (let k = 0; k < 3; k++) {
        const i = rows ? rows[rng.int(0, rows.length)] * p.value.shape[1] + rng.int(0, p.value.shape[1]) : rng.int(0, p.value.size);
        const old = p.value.data[i];
        p.value.data[i] = old + 1e-6;
        const fp = m.evaluate(x, y, [4, 2]);
        p.value.data[i] = old - 1e-6;
        const fm = m.evaluate(x, y, [4, 2]);
        p.value.data[i] = old;
        const num = (fp - fm) / 2e-6;
        // float64 central differences at ε = 1e-6 on a loss ≈ 2 err by ~1e-10; a 1 % wrong gradient does not pass
        expect(Math.abs(num - g[i])).toBeLessThan(1e-8 + 1e-5 * Math.abs(num));
      }
    }
  });

  test('loss (one linearCrossEntropy record) equals crossEntropy of forward()\'s logits, value and every gradient (float64)', () => {
    const m = new CharRNN({ cell: 'lstm', vocabSize: vocab.size, hiddenSize: 6, numLayers: 2, seed: 2, dtype: 'float64' });
    const { x, y } = batch(5, 3, 11);
    const params = m.parameters();
    const fused = computeGradients(m, () => m.loss(x, y, [5, 3])).loss.item();
    const gf = params.map((p) => p.grad!);
    const twin = computeGradients(m, () => ({ loss: ad.crossEntropy(ad.reshape(m.forward(x, [5, 3]).logits, [-1, vocab.size]), y) })).loss.item();
    expect(Math.abs(fused - twin)).toBeLessThan(1e-13);
    params.forEach((p, k) => {
      for (let i = 0; i < p.grad!.size; i++) expect(Math.abs(gf[k].data[i] - p.grad!.data[i])).toBeLessThan(1e-13);
    });
  });

  test('sampling: valid ids, deterministic with a seed, temperature and top-k validated', () => {
    const m = new CharRNN({ cell: 'lstm', vocabSize: vocab.size, hiddenSize: 8, seed: 1 });
    const prime = vocab.encode('hel');
    const a = sampleIds(m, prime, { length: 20, temperature: 0.8, topK: 3, rng: new Rng(4) });
    expect(a).toHaveLength(20);
    expect(a.every((i) => Number.isInteger(i) && i >= 0 && i < vocab.size)).toBe(true);
    expect(sampleIds(m, prime, { length: 20, temperature: 0.8, topK: 3, rng: new Rng(4) })).toEqual(a);
    // top-1 is greedy: every step picks the arg-max
    const g1 = sampleIds(m, prime, { length: 5, topK: 1, rng: new Rng(1) });
    expect(sampleIds(m, prime, { length: 5, topK: 1, rng: new Rng(2) })).toEqual(g1);
    expect(() => sampleIds(m, prime, { length: 5, temperature: 0 })).toThrow('sample: temperature must be positive');
  });

  test('sampling draws from the same distribution as predict(): its one-row head equals fc on the last step', () => {
    const m = new CharRNN({ cell: 'gru', vocabSize: vocab.size, hiddenSize: 12, numLayers: 2, seed: 3 });
    const prime = vocab.encode('hel');
    for (const p of m.parameters()) for (let i = 0; i < p.value.size; i++) p.value.data[i] *= 6; // peaked distributions: a wrong row would draw differently
    for (const [temperature, topK] of [[1, 0], [0.7, 0], [1.3, 4], [1, 1]] as const) {
      const got = sampleIds(m, prime, { length: 12, temperature, topK, rng: new Rng(8) });
      // reference: full predict() per character, drawFrom over its last row (a plain array)
      const rng = new Rng(8);
      const ref: number[] = [];
      let { logits, state } = m.predict(prime, [prime.length, 1]);
      let last = logits.slice(prime.length - 1, 0).toFlatArray();
      for (let n = 0; n < 12; n++) {
        const id = drawFrom(last, temperature, topK, rng);
        ref.push(id);
        ({ logits, state } = m.predict([id], [1, 1], state));
        last = logits.slice(0, 0).toFlatArray();
      }
      expect(got).toEqual(ref);
    }
    expect(m.training).toBe(true); // eval mode only while sampling
  });

  test('bad input names the problem', () => {
    expect(() => new CharRNN({ cell: 'lstm2' as never, vocabSize: 5, hiddenSize: 4 })).toThrow("CharRNN: unknown cell 'lstm2'");
    expect(() => new CharRNN({ cell: 'lstm', vocabSize: 5, hiddenSize: 4, hidden: 3 } as never)).toThrow('CharRNN: unknown option hidden');
    const m = new CharRNN({ cell: 'lstm', vocabSize: 5, hiddenSize: 4 });
    expect(() => m.evaluate([0, 1, 7], [1, 2, 3], [3, 1])).toThrow('CharRNN: input[2] = 7 is not a character id in [0, 5)');
    expect(() => m.evaluate([0, 1], [1, 2, 3], [3, 1])).toThrow('CharRNN: input has 2 ids for shape [3,1]');
  });
});
