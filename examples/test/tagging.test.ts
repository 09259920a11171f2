import { runTagging } from '../src/tagging';

describe('tagging example (many-to-many, synchronised)', () => {
  test('a bidirectional LSTM with masked loss beats the most-frequent-tag and per-word baselines', () => {
    const r = runTagging({ nTrain: 800, nVal: 100, nTest: 300, epochs: 2, quiet: true });
    expect(r.majorityTagBaseline).toBeLessThan(0.4);
    // a unigram tagger gets the unambiguous words right and the ambiguous ones ("fish", "can") wrong half the time
    expect(r.perWordBaseline).toBeGreaterThan(0.8);
    expect(r.perWordBaseline).toBeLessThan(0.95);
    expect(r.tokenAccuracy).toBeGreaterThan(0.98);
    expect(r.tokenAccuracy).toBeGreaterThan(r.perWordBaseline + 0.05);
    expect(r.sentenceAccuracy).toBeGreaterThan(0.9);
  });

  test('predictions cover exactly the real tokens of every sentence', () => {
    const r = runTagging({ nTrain: 100, nVal: 10, nTest: 10, steps: 2, hiddenSize: 4, quiet: true });
    const seqs = [[1, 2, 3], [4], [5, 6, 7, 8, 9, 10, 11]];
    const tags = r.model.predict(seqs);
    expect(tags.map((t) => t.length)).toEqual([3, 1, 7]);
    expect(tags.flat().every((t) => Number.isInteger(t) && t >= 0 && t < 6)).toBe(true);
  });
});
