import { Rng, TensorError, shuffle } from '@unfold/tensor';
import { checkNonNegInt, checkPositiveInt, checkRng } from './check';
import { checkOptions, keysOf } from '../options';

const POSITIVE = ['good', 'great', 'love', 'fun', 'brilliant', 'enjoyable'];
const NEGATIVE = ['bad', 'awful', 'hate', 'boring', 'dull', 'weak'];
const NEUTRAL = ['the', 'movie', 'film', 'plot', 'acting', 'story', 'was', 'is', 'it', 'this', 'and', 'i', 'quite', 'but'];

/** Id 0 is padding; then the negator, the intensifier, positive, negative and neutral words. */
export const SENTIMENT_VOCAB: readonly string[] = Object.freeze(['<pad>', 'not', 'very', ...POSITIVE, ...NEGATIVE, ...NEUTRAL]);
export const SENTIMENT_LABELS: readonly string[] = Object.freeze(['negative', 'positive']);

export interface SentimentOptions {
  minLen?: number;
  maxLen?: number;
}

export interface SentimentDataset {
  /** Token ids into `vocab` (never 0, the padding id). */
  seqs: number[][];
  /** 0 = negative, 1 = positive (names in `labelNames`). */
  labels: number[];
  vocab: string[];
  labelNames: string[];
}

/**
 * A many-to-one toy task. Each sentence holds 1–3 sentiment phrases among neutral filler:
 * a polar word (+1 or −1), optionally negated as "not w" or "not very w" (sign flipped). The
 * label is the sign of the sum, ties redrawn; labels are balanced 50/50. Word counts alone
 * cannot solve it: "not" flips only the polar word it precedes (possibly across "very"),
 * which is what the recurrence has to learn.
 */
export function makeSentimentDataset(n: number, rng: Rng, opts: SentimentOptions = {}): SentimentDataset {
  const op = 'makeSentimentDataset';
  checkOptions(op, opts, keysOf<SentimentOptions>({ minLen: 1, maxLen: 1 }));
  checkNonNegInt(op, 'n', n);
  checkRng(op, rng);
  const minLen = checkPositiveInt(op, 'minLen', opts.minLen ?? 4);
  const maxLen = checkPositiveInt(op, 'maxLen', opts.maxLen ?? 12);
  if (minLen < 3 || maxLen < minLen) throw new TensorError(op, `need 3 ≤ minLen ≤ maxLen (room for "not very w"), got minLen ${minLen}, maxLen ${maxLen}`);
  const id = (w: string): number => SENTIMENT_VOCAB.indexOf(w);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)];
  const seqs: number[][] = [];
  const labels: number[] = [];
  while (seqs.length < n) {
    const want = rng.next() < 0.5 ? 1 : 0;
    for (;;) {
      const len = rng.int(minLen, maxLen + 1);
      const phrases: string[][] = [];
      let used = 0;
      let score = 0;
      const k = rng.int(1, 4);
      for (let p = 0; p < k; p++) {
        const positive = rng.next() < 0.5;
        const word = pick(positive ? POSITIVE : NEGATIVE);
        const r = rng.next();
        const phrase = r < 0.25 ? ['not', word] : r < 0.35 ? ['not', 'very', word] : r < 0.5 ? ['very', word] : [word];
        if (used + phrase.length > len) break;
        phrases.push(phrase);
        used += phrase.length;
        score += (positive ? 1 : -1) * (phrase[0] === 'not' ? -1 : 1);
      }
      if (score === 0 || (score > 0 ? 1 : 0) !== want) continue;
      while (used < len) {
        phrases.push([pick(NEUTRAL)]);
        used++;
      }
      // Shuffle whole phrases so "not" stays in front of its word.
      shuffle(phrases, rng);
      seqs.push(phrases.flat().map(id));
      labels.push(want);
      break;
    }
  }
  return { seqs, labels, vocab: SENTIMENT_VOCAB.slice(), labelNames: SENTIMENT_LABELS.slice() };
}
