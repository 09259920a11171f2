import { TEST_ACCENTS, loadDigits, runDigits } from '../src/real/digits';
import { editDistance, g2pData, runG2P, scoreG2P } from '../src/real/g2p';

describe('spoken digits (committed espeak-ng features)', () => {
  test('test voices are never heard in training', () => {
    const { train, test } = loadDigits();
    const heard = new Set(train.map((u) => u.voice));
    expect(test.length).toBe(160);
    expect(test.every((u) => !heard.has(u.voice) && TEST_ACCENTS.includes(u.accent))).toBe(true);
  });

  test('a GRU over the frames beats the majority class on unseen voices by 40 points after 150 steps', () => {
    const r = runDigits({ steps: 150, hiddenSize: 32, quiet: true, logisticIters: 50 });
    expect(r.majority).toBeCloseTo(0.1, 5);
    expect(r.accuracy).toBeGreaterThan(r.majority + 0.4);
  });
});

describe('grapheme-to-phoneme (CMUdict)', () => {
  test('the split is by word, 90/5/5, seeded; alternative pronunciations stay with their word', () => {
    const d = g2pData(1);
    expect(d.words.length).toBeGreaterThan(120000);
    expect(d.train.length + d.val.length + d.test.length).toBe(d.words.length);
    expect(new Set([...d.train, ...d.val, ...d.test]).size).toBe(d.words.length);
    expect(Math.abs(d.test.length / d.words.length - 0.05)).toBeLessThan(0.001);
    expect(d.prons.filter((p) => p.length > 1).length).toBeGreaterThan(5000);
    expect(g2pData(1).test.slice(0, 50)).toEqual(d.test.slice(0, 50));
  });

  test('PER and WER count the closest pronunciation', () => {
    expect(editDistance([1, 2, 3], [1, 3])).toBe(1);
    expect(editDistance([], [4, 5])).toBe(2);
    const d = g2pData(1);
    const i = d.prons.findIndex((p) => p.length > 1 && p[0].length === p[1].length);
    expect(scoreG2P(d, [i], [d.prons[i][1]])).toEqual({ per: 0, wer: 0 });
  });

  test('the encoder–decoder on a slice (3,000 words of ≤ 5 letters, 150 steps) has a phoneme error rate 10 points below the letter table', () => {
    const r = runG2P({ trainWords: 3000, maxWordLength: 5, testWords: 200, beamWords: 20, steps: 150, hiddenSize: 64, lr: 1e-2, quiet: true });
    expect(r.baseline.per).toBeGreaterThan(0.4);
    expect(r.greedy.per).toBeLessThan(r.baseline.per - 0.1);
    expect(r.beam.per).toBeLessThan(1);
  });
});
