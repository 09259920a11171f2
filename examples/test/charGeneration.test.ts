import { runCharGeneration, generate, unigramNats } from '../src/charGeneration';

describe('charGeneration example (one-to-many)', () => {
  test('an LSTM trained briefly on a repeated sentence regenerates it greedily from a prime', () => {
    const sentence = 'the quick brown fox jumps over the lazy dog. ';
    const r = runCharGeneration({
      text: sentence.repeat(60), hiddenSize: 32, batchSize: 8, seqLen: 24, steps: 150, lr: 2e-2, sampleLength: 20, temperatures: [1], quiet: true,
    });
    // the next character is determined by the last few: after training, loss is far below the unigram baseline
    expect(r.valNats).toBeLessThan(0.15);
    expect(r.unigramNats).toBeGreaterThan(2.5);
    // greedy (top-k 1) continuation of "the q" reproduces two full cycles, character for character
    const want = sentence.slice(5) + sentence + sentence.slice(0, 5);
    expect(generate(r.model, r.vocab, 'the q', { length: want.length, topK: 1 })).toBe(want);
    // a different context ("the l", second "the") must continue differently: the model uses more than the last char
    expect(generate(r.model, r.vocab, 'over the l', { length: 8, topK: 1 })).toBe('azy dog.');
    // temperature: 0.3 sharpens towards the learnt sentence, 3 flattens the distribution until samples leave it
    const cycle = (sentence.slice(5) + sentence.repeat(10)).slice(0, 400);
    expect(generate(r.model, r.vocab, 'the q', { length: 90, temperature: 0.3, seed: 1 })).toBe(cycle.slice(0, 90));
    expect(generate(r.model, r.vocab, 'the q', { length: 400, temperature: 3, seed: 1 })).not.toBe(cycle);
  });

  test('unigramNats is the cross-entropy of smoothed character frequencies', () => {
    // two symbols, train counts 3:1 → with add-one smoothing p = 4/6, 2/6
    expect(unigramNats([0, 0, 0, 1], [0, 1], 2)).toBeCloseTo(-(Math.log(4 / 6) + Math.log(2 / 6)) / 2, 12);
  });
});
