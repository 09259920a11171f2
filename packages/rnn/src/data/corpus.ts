import { TensorError } from '@unfold/tensor';
import { checkOptions } from '../options';

export interface Corpus {
  name: string;
  text: string;
}

/**
 * Text from a file's bytes (a File in a page, fs.readFileSync in Node), checked as
 * loadTextFile checks it. UTF-8 is tried first (strictly, a BOM is dropped); bytes that are
 * not valid UTF-8 are read as Latin-1, which is what old Gutenberg files are
 * (shakespeare-caesar.txt has 'æ' as the single byte 0xE6). A NUL byte, or more than 5%
 * control bytes among the first 64 KiB, marks a binary file. Line endings are kept.
 * `name` names the source in errors.
 */
export function decodeText(bytes: Uint8Array, name: string, op = 'decodeText'): Corpus {
  if (!(bytes instanceof Uint8Array)) throw new TensorError(op, `${name}: expected the bytes as a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`);
  if (bytes.length === 0) throw new TensorError(op, `${name} is empty`);
  const head = bytes.subarray(0, 65536);
  let control = 0;
  for (let i = 0; i < head.length; i++) {
    const b = head[i];
    if (b === 0) throw new TensorError(op, `${name} looks binary (NUL byte at offset ${i}); expected a text file`);
    // Below 0x20 only \t \n \v \f \r belong in text.
    if (b < 0x20 && (b < 0x09 || b > 0x0d)) control++;
  }
  if (control > head.length * 0.05) {
    throw new TensorError(op, `${name} looks binary (${control} control bytes in the first ${head.length}); expected a text file`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    text = latin1(bytes);
  }
  if (text.trim() === '') throw new TensorError(op, `${name} contains only whitespace`);
  return { name, text };
}

/** Latin-1: each byte is the code point of the same value. */
function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
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
  checkOptions(op, opts, ['val', 'test', 'minLength']);
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
