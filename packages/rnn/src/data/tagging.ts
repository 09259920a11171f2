import { Rng, TensorError } from '@unfold/tensor';
import { checkNonNegInt, checkPositiveInt, checkRng } from './check';
import { checkOptions } from '../options';

export const TAG_NAMES: readonly string[] = Object.freeze(['PRON', 'AUX', 'VERB', 'DET', 'NOUN', 'CONJ']);
const [PRON, AUX, VERB, DET, NOUN, CONJ] = [0, 1, 2, 3, 4, 5];

const PRONOUNS = ['i', 'we', 'they', 'you'];
const DETERMINERS = ['the', 'a'];
const VERBS_ONLY = ['see', 'like', 'eat'];
const NOUNS_ONLY = ['dog', 'boat', 'cat'];
/** Words that are a verb or a noun depending on what precedes them ('can' is also the auxiliary). */
const AMBIGUOUS = ['fish', 'duck', 'watch', 'run', 'can'];

/** Id 0 is padding. */
export const TAGGING_VOCAB: readonly string[] = Object.freeze(['<pad>', ...PRONOUNS, ...DETERMINERS, ...VERBS_ONLY, ...NOUNS_ONLY, ...AMBIGUOUS, 'and']);

export interface TaggingDataset {
  /** Token ids into `vocab` (never 0). */
  seqs: number[][];
  /** One tag per token: indices into `tagNames`. */
  tags: number[][];
  vocab: string[];
  tagNames: string[];
}

/**
 * A many-to-many (synchronised) toy task: part-of-speech tags from the grammar
 *   S → CLAUSE ("and" CLAUSE){0,2},   CLAUSE → PRON ["can"] V [DET N]
 * where V is a verb or an ambiguous word and N a noun or an ambiguous word. An ambiguous word
 * ("fish", "duck", "watch", "run", "can") is VERB after a pronoun or the auxiliary "can",
 * NOUN after a determiner, and "can" right after a pronoun is AUX ("we can fish" vs "the can").
 * The tag is decided by the previous token, so a left-to-right RNN can reach 100%, while a
 * per-token lookup cannot.
 */
export function makeTaggingDataset(n: number, rng: Rng, opts: { maxClauses?: number } = {}): TaggingDataset {
  const op = 'makeTaggingDataset';
  checkOptions(op, opts, ['maxClauses']);
  checkNonNegInt(op, 'n', n);
  checkRng(op, rng);
  const maxClauses = checkPositiveInt(op, 'maxClauses', opts.maxClauses ?? 3);
  if (maxClauses > 20) throw new TensorError(op, `maxClauses ${maxClauses} is unreasonably large (≤ 20)`);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)];
  const id = (w: string): number => TAGGING_VOCAB.indexOf(w);
  const seqs: number[][] = [];
  const tags: number[][] = [];
  for (let s = 0; s < n; s++) {
    const words: string[] = [];
    const tg: number[] = [];
    const push = (w: string, t: number): void => {
      words.push(w);
      tg.push(t);
    };
    const clauses = rng.int(1, maxClauses + 1);
    for (let c = 0; c < clauses; c++) {
      if (c > 0) push('and', CONJ);
      push(pick(PRONOUNS), PRON);
      if (rng.next() < 0.3) push('can', AUX);
      const verbs = [...VERBS_ONLY, ...AMBIGUOUS.filter((w) => w !== 'can')];
      push(pick(verbs), VERB);
      if (rng.next() < 0.6) {
        push(pick(DETERMINERS), DET);
        push(pick([...NOUNS_ONLY, ...AMBIGUOUS]), NOUN);
      }
    }
    seqs.push(words.map(id));
    tags.push(tg);
  }
  return { seqs, tags, vocab: TAGGING_VOCAB.slice(), tagNames: TAG_NAMES.slice() };
}
