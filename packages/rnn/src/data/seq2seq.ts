import { Rng, TensorError } from '@unfold/tensor';
import { checkNonNegInt, checkPositiveInt, checkRng } from './check';
import { checkOptions } from '../options';

/** Shared vocabulary of the digit tasks: 0 pad, 1 start-of-sequence, 2 end-of-sequence, then '0'…'9' and '+'. */
export const SEQ2SEQ_VOCAB: readonly string[] = Object.freeze(['<pad>', '<sos>', '<eos>', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '+']);
export const PAD_ID = 0;
export const SOS_ID = 1;
export const EOS_ID = 2;
const DIGIT0 = 3;
const PLUS_ID = 13;

/**
 * Encoder–decoder pairs. The decoder is trained with teacher forcing: at step t it reads
 * tgtIn[t] and must predict tgtOut[t], where tgtIn = [SOS, z1…zm] and tgtOut = [z1…zm, EOS]
 * (same length m+1). At inference it starts from SOS and stops at EOS.
 */
export interface Seq2SeqDataset {
  src: number[][];
  tgtIn: number[][];
  tgtOut: number[][];
  vocab: string[];
}

/** Text of token ids: digits and '+' as characters, stopping at EOS, skipping PAD and SOS. */
export function tokensToString(ids: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id === EOS_ID) break;
    if (id === PAD_ID || id === SOS_ID) continue;
    if (!Number.isInteger(id) || id < 0 || id >= SEQ2SEQ_VOCAB.length) {
      throw new TensorError('tokensToString', `id ${id} at position ${i} is out of range [0, ${SEQ2SEQ_VOCAB.length})`);
    }
    s += SEQ2SEQ_VOCAB[id];
  }
  return s;
}

/** Ids of a string of digits and '+'. */
export function stringToTokens(s: string): number[] {
  return Array.from(s, (ch, i) => {
    if (ch === '+') return PLUS_ID;
    if (ch >= '0' && ch <= '9') return DIGIT0 + (ch.charCodeAt(0) - 48);
    throw new TensorError('stringToTokens', `character ${JSON.stringify(ch)} at position ${i} is not a digit or '+'`);
  });
}

function pairs(src: number[][], out: number[][]): Seq2SeqDataset {
  return {
    src,
    tgtIn: out.map((z) => [SOS_ID, ...z]),
    tgtOut: out.map((z) => [...z, EOS_ID]),
    vocab: SEQ2SEQ_VOCAB.slice(),
  };
}

/** Digit strings of length minLen…maxLen → the same digits reversed ("123" → "321"). */
export function makeReverseDataset(n: number, rng: Rng, opts: { minLen?: number; maxLen?: number } = {}): Seq2SeqDataset {
  const op = 'makeReverseDataset';
  checkOptions(op, opts, ['minLen', 'maxLen']);
  checkNonNegInt(op, 'n', n);
  checkRng(op, rng);
  const minLen = checkPositiveInt(op, 'minLen', opts.minLen ?? 1);
  const maxLen = checkPositiveInt(op, 'maxLen', opts.maxLen ?? 8);
  if (maxLen < minLen) throw new TensorError(op, `maxLen ${maxLen} < minLen ${minLen}`);
  const src: number[][] = [];
  for (let i = 0; i < n; i++) {
    const len = rng.int(minLen, maxLen + 1);
    src.push(Array.from({ length: len }, () => DIGIT0 + rng.int(0, 10)));
  }
  return pairs(src, src.map((s) => s.slice().reverse()));
}

/**
 * "a+b" → digits of a + b, with a, b uniform in [0, 10^maxDigits) (Keras' addition_rnn example).
 * reverseInput feeds the query backwards, which shortens the path between the digits that
 * combine and makes the task easier for a plain encoder.
 */
export function makeAdditionDataset(n: number, rng: Rng, opts: { maxDigits?: number; reverseInput?: boolean } = {}): Seq2SeqDataset {
  const op = 'makeAdditionDataset';
  checkOptions(op, opts, ['maxDigits', 'reverseInput']);
  checkNonNegInt(op, 'n', n);
  checkRng(op, rng);
  const maxDigits = checkPositiveInt(op, 'maxDigits', opts.maxDigits ?? 3);
  if (maxDigits > 7) throw new TensorError(op, `maxDigits ${maxDigits} is too large (≤ 7 keeps a + b exact and the sequences short)`);
  const top = 10 ** maxDigits;
  const src: number[][] = [];
  const out: number[][] = [];
  for (let i = 0; i < n; i++) {
    const a = rng.int(0, top);
    const b = rng.int(0, top);
    const q = stringToTokens(`${a}+${b}`);
    src.push(opts.reverseInput ? q.reverse() : q);
    out.push(stringToTokens(String(a + b)));
  }
  return pairs(src, out);
}
