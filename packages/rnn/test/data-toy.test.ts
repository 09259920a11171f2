import { Rng } from '@unfold/tensor';
import {
  EOS_ID,
  SEQ2SEQ_VOCAB,
  SOS_ID,
  makeAdditionDataset,
  makeReverseDataset,
  makeSentimentDataset,
  makeTaggingDataset,
  padSequences,
  stringToTokens,
  tokensToString,
} from '@unfold/rnn';

/** Reference scorer written independently of the generator: "not" flips the next polar word, across "very". */
function polarity(words: string[]): number {
  const pos = new Set(['good', 'great', 'love', 'fun', 'brilliant', 'enjoyable']);
  const neg = new Set(['bad', 'awful', 'hate', 'boring', 'dull', 'weak']);
  let score = 0;
  let negate = false;
  for (const w of words) {
    if (w === 'not') negate = true;
    else if (pos.has(w) || neg.has(w)) {
      score += (pos.has(w) ? 1 : -1) * (negate ? -1 : 1);
      negate = false;
    } else if (w !== 'very') negate = false;
  }
  return score;
}

describe('makeSentimentDataset', () => {
  test('labels are the sign of the negation-aware polarity; balanced; ids valid; deterministic', () => {
    const d = makeSentimentDataset(2000, new Rng(1));
    expect(d.seqs).toHaveLength(2000);
    expect(d.labelNames).toEqual(['negative', 'positive']);
    let positives = 0;
    let negated = 0;
    d.seqs.forEach((s, i) => {
      expect(s.length).toBeGreaterThanOrEqual(4);
      expect(s.length).toBeLessThanOrEqual(12);
      expect(s.every((id) => id > 0 && id < d.vocab.length)).toBe(true);
      const words = s.map((id) => d.vocab[id]);
      const score = polarity(words);
      expect(score).not.toBe(0);
      expect(d.labels[i]).toBe(score > 0 ? 1 : 0);
      positives += d.labels[i];
      if (words.includes('not')) negated++;
    });
    expect(positives / 2000).toBeGreaterThan(0.45);
    expect(positives / 2000).toBeLessThan(0.55);
    expect(negated / 2000).toBeGreaterThan(0.2); // negation is common enough to matter
    expect(makeSentimentDataset(50, new Rng(9))).toEqual(makeSentimentDataset(50, new Rng(9)));
    expect(makeSentimentDataset(50, new Rng(9))).not.toEqual(makeSentimentDataset(50, new Rng(10)));
    // Ready for padding with id 0.
    expect(padSequences(d.seqs.slice(0, 8)).shape[1]).toBe(8);
  });

  test('errors', () => {
    expect(() => makeSentimentDataset(-1, new Rng(0))).toThrow('makeSentimentDataset: n must be a non-negative integer, got -1');
    expect(() => makeSentimentDataset(5, undefined as unknown as Rng)).toThrow('makeSentimentDataset: expected an Rng');
    expect(() => makeSentimentDataset(5, new Rng(0), { minLen: 2 })).toThrow('need 3 ≤ minLen ≤ maxLen');
    expect(() => makeSentimentDataset(5, new Rng(0), { minLen: 6, maxLen: 5 })).toThrow('got minLen 6, maxLen 5');
  });
});

describe('makeTaggingDataset', () => {
  test('tags follow the context rule: ambiguous words are tagged by the token before them', () => {
    const d = makeTaggingDataset(1000, new Rng(4));
    const tagOf = (name: string) => d.tagNames.indexOf(name);
    const ambiguous = new Set(['fish', 'duck', 'watch', 'run', 'can']);
    let ambiguousSeen = 0;
    const byWord = new Map<string, Set<number>>();
    d.seqs.forEach((s, i) => {
      expect(d.tags[i]).toHaveLength(s.length);
      const words = s.map((id) => d.vocab[id]);
      expect(s.every((id) => id > 0)).toBe(true);
      words.forEach((w, t) => {
        const prev = t > 0 ? d.tags[i][t - 1] : -1;
        const tag = d.tags[i][t];
        if (!byWord.has(w)) byWord.set(w, new Set());
        byWord.get(w)!.add(tag);
        if (!ambiguous.has(w)) return;
        ambiguousSeen++;
        if (prev === tagOf('DET')) expect(tag).toBe(tagOf('NOUN'));
        else if (prev === tagOf('PRON')) expect(tag).toBe(w === 'can' ? tagOf('AUX') : tagOf('VERB'));
        else if (prev === tagOf('AUX')) expect(tag).toBe(tagOf('VERB'));
        else throw new Error(`ambiguous word ${w} after tag ${prev}`);
      });
    });
    expect(ambiguousSeen).toBeGreaterThan(500);
    // The task needs context: the same word gets different tags.
    for (const w of ambiguous) expect(byWord.get(w)!.size).toBeGreaterThanOrEqual(2);
    expect(makeTaggingDataset(20, new Rng(1))).toEqual(makeTaggingDataset(20, new Rng(1)));
  });

  test('errors', () => {
    expect(() => makeTaggingDataset(1.5, new Rng(0))).toThrow('makeTaggingDataset: n must be a non-negative integer, got 1.5');
    expect(() => makeTaggingDataset(3, new Rng(0), { maxClauses: 0 })).toThrow('maxClauses must be a positive integer, got 0');
  });
});

describe('seq2seq digit tasks', () => {
  test('reverse: tgtOut = reversed src + EOS, tgtIn = SOS + reversed src', () => {
    const d = makeReverseDataset(300, new Rng(2), { minLen: 2, maxLen: 6 });
    expect(d.vocab).toEqual(SEQ2SEQ_VOCAB.slice());
    d.src.forEach((s, i) => {
      expect(s.length).toBeGreaterThanOrEqual(2);
      expect(s.length).toBeLessThanOrEqual(6);
      const text = tokensToString(s);
      expect(text).toMatch(/^[0-9]+$/);
      expect(tokensToString(d.tgtOut[i])).toBe(text.split('').reverse().join(''));
      expect(d.tgtOut[i][d.tgtOut[i].length - 1]).toBe(EOS_ID);
      expect(d.tgtIn[i][0]).toBe(SOS_ID);
      expect(d.tgtIn[i].slice(1)).toEqual(d.tgtOut[i].slice(0, -1));
    });
    expect(makeReverseDataset(30, new Rng(3))).toEqual(makeReverseDataset(30, new Rng(3)));
  });

  test('addition: the target is the sum of the query; reverseInput reverses only the query', () => {
    const d = makeAdditionDataset(300, new Rng(5), { maxDigits: 3 });
    const r = makeAdditionDataset(300, new Rng(5), { maxDigits: 3, reverseInput: true });
    d.src.forEach((s, i) => {
      const q = tokensToString(s);
      const m = /^(\d{1,3})\+(\d{1,3})$/.exec(q);
      expect(m).not.toBeNull();
      expect(Number(tokensToString(d.tgtOut[i]))).toBe(Number(m![1]) + Number(m![2]));
      expect(tokensToString(r.src[i])).toBe(q.split('').reverse().join(''));
      expect(r.tgtOut[i]).toEqual(d.tgtOut[i]);
    });
  });

  test('token helpers and errors', () => {
    expect(tokensToString([SOS_ID, ...stringToTokens('12+3'), EOS_ID, 5])).toBe('12+3');
    expect(() => stringToTokens('1a')).toThrow("stringToTokens: character \"a\" at position 1 is not a digit or '+'");
    expect(() => tokensToString([99])).toThrow('tokensToString: id 99 at position 0 is out of range [0, 14)');
    expect(() => makeReverseDataset(3, new Rng(0), { minLen: 5, maxLen: 4 })).toThrow('makeReverseDataset: maxLen 4 < minLen 5');
    expect(() => makeAdditionDataset(3, new Rng(0), { maxDigits: 8 })).toThrow('makeAdditionDataset: maxDigits 8 is too large');
  });
});
