import { Rng } from '@unfold/tensor';
import { makeSentimentDataset } from '@unfold/rnn';
import { naiveBayes, runSentiment } from '../src/sentiment';

describe('sentiment example (many-to-one)', () => {
  test('an LSTM over padded, length-masked batches beats the majority class and an order-blind bag of words', () => {
    const r = runSentiment({ cell: 'lstm', nTrain: 1500, nVal: 100, nTest: 500, epochs: 3, quiet: true });
    expect(r.majorityBaseline).toBeGreaterThan(0.4); // balanced labels: ≈ 50%
    expect(r.majorityBaseline).toBeLessThan(0.6);
    expect(r.testAccuracy).toBeGreaterThan(0.9);
    expect(r.testAccuracy).toBeGreaterThan(r.majorityBaseline + 0.3);
    // "not good" and "good … not" have the same words: counting them is not enough
    expect(r.testAccuracy).toBeGreaterThan(r.bagOfWordsBaseline + 0.15);
  });

  test('padding does not change a prediction: a sentence alone and in a batch with longer ones get the same logits', () => {
    const r = runSentiment({ cell: 'gru', nTrain: 200, nVal: 20, nTest: 20, steps: 5, quiet: true });
    const { seqs } = makeSentimentDataset(6, new Rng(42), { minLen: 4, maxLen: 12 });
    const short = seqs.reduce((a, b) => (b.length < a.length ? b : a));
    const alone = r.model.predict([short], 1);
    const batched = r.model.predict([...seqs], 64); // padded to the longest
    const k = seqs.indexOf(short);
    expect(batched[k]).toBe(alone[0]);
    const logitsAlone = r.model.logits({ ids: Int32Array.from(short), shape: [short.length, 1], lengths: Int32Array.of(short.length) }).toFlatArray();
    const T = Math.max(...seqs.map((s) => s.length));
    const ids = new Int32Array(T * seqs.length);
    seqs.forEach((s, b) => s.forEach((w, t) => (ids[t * seqs.length + b] = w)));
    const all = r.model.logits({ ids, shape: [T, seqs.length], lengths: Int32Array.from(seqs, (s) => s.length) });
    for (let c = 0; c < 2; c++) expect(all.get(k, c)).toBeCloseTo(logitsAlone[c], 5);
  });

  test('the naive Bayes baseline learns word polarity (sanity check of the baseline itself)', () => {
    const d = makeSentimentDataset(2000, new Rng(3));
    const ex = d.seqs.map((ids, i) => ({ ids, label: d.labels[i] }));
    const nb = naiveBayes(ex.slice(0, 1500), d.vocab.length, 2);
    const pred = nb(ex.slice(1500).map((e) => e.ids));
    const acc = pred.filter((p, i) => p === ex[1500 + i].label).length / 500;
    expect(acc).toBeGreaterThan(0.55); // better than chance: most polar words are not negated
    expect(acc).toBeLessThan(0.8); // … but negation keeps it far from solving the task
  });
});
