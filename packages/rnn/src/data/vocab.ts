import { TensorError } from '@unfold/tensor';
import { checkOptions, keysOf } from '../options';

/** What `CharVocab.toJSON()` writes into a checkpoint: the characters in id order. */
export interface CharVocabJSON {
  type: 'CharVocab';
  version: 1;
  chars: string[];
}

export interface EncodeOptions {
  /** Id to use for characters not in the vocabulary; by default they are an error. */
  unknownId?: number;
}

/** Escaped form of a character for error messages: 'a', '\n', 'æ' (U+00E6). */
export function describeChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  const hex = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  return `${JSON.stringify(ch)} (${hex})`;
}

/**
 * Character vocabulary as in char-rnn: the sorted unique characters of a text, id = rank.
 * A "character" is a Unicode code point (so astral characters such as emoji are one token),
 * and sorting is by code point, never by locale, so the same text gives the same ids on
 * every machine — a checkpoint's ids stay meaningful.
 */
export class CharVocab {
  readonly chars: readonly string[];
  private readonly index = new Map<string, number>();

  /** Characters in id order; each must be a single code point, without repeats. */
  constructor(chars: Iterable<string>) {
    const list = Array.from(chars);
    list.forEach((ch, i) => {
      if (typeof ch !== 'string' || Array.from(ch).length !== 1) {
        throw new TensorError('CharVocab', `entry ${i} must be a single character, got ${JSON.stringify(ch)}`);
      }
      if (this.index.has(ch)) {
        throw new TensorError('CharVocab', `character ${describeChar(ch)} appears twice (ids ${this.index.get(ch)} and ${i})`);
      }
      this.index.set(ch, i);
    });
    if (list.length === 0) throw new TensorError('CharVocab', 'a vocabulary needs at least one character');
    this.chars = Object.freeze(list);
  }

  /** Sorted unique characters of `text` (plus `extraChars`, e.g. a reserved unknown marker). */
  static fromText(text: string, opts: { extraChars?: string } = {}): CharVocab {
    if (typeof text !== 'string') throw new TensorError('CharVocab.fromText', `expected a string, got ${typeof text}`);
    checkOptions('CharVocab.fromText', opts, ['extraChars']);
    const set = new Set<string>(text);
    for (const ch of opts.extraChars ?? '') set.add(ch);
    if (set.size === 0) throw new TensorError('CharVocab.fromText', 'the text is empty: no characters to build a vocabulary from');
    const chars = Array.from(set).sort((a, b) => (a.codePointAt(0) ?? 0) - (b.codePointAt(0) ?? 0));
    return new CharVocab(chars);
  }

  get size(): number {
    return this.chars.length;
  }

  has(ch: string): boolean {
    return this.index.has(ch);
  }

  /** Id of one character, or -1 when absent. */
  idOf(ch: string): number {
    return this.index.get(ch) ?? -1;
  }

  /** text → ids, one per code point. Unknown characters throw, naming the character and where it is. */
  encode(text: string, opts: EncodeOptions = {}): Int32Array {
    if (typeof text !== 'string') throw new TensorError('CharVocab.encode', `expected a string, got ${typeof text}`);
    checkOptions('CharVocab.encode', opts, keysOf<EncodeOptions>({ unknownId: 1 }));
    const unk = opts.unknownId;
    if (unk !== undefined && (!Number.isInteger(unk) || unk < 0 || unk >= this.size)) {
      throw new TensorError('CharVocab.encode', `unknownId ${unk} is not an id of this vocabulary [0, ${this.size})`);
    }
    const out = new Int32Array(text.length); // ≥ number of code points; trimmed below
    let n = 0;
    let line = 1;
    let col = 1;
    for (const ch of text) {
      const id = this.index.get(ch);
      if (id !== undefined) out[n] = id;
      else if (unk !== undefined) out[n] = unk;
      else {
        throw new TensorError(
          'CharVocab.encode',
          `unknown character ${describeChar(ch)} at position ${n} (line ${line}, column ${col}); ` +
            `the vocabulary has ${this.size} characters — pass { unknownId } to map unknown characters to an id`,
        );
      }
      n++;
      if (ch === '\n') {
        line++;
        col = 1;
      } else col++;
    }
    return n === out.length ? out : out.slice(0, n);
  }

  /** ids → text. Ids outside [0, size) throw, naming the position. */
  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.size) {
        throw new TensorError('CharVocab.decode', `id ${id} at position ${i} is out of range [0, ${this.size})`);
      }
      s += this.chars[id];
    }
    return s;
  }

  toJSON(): CharVocabJSON {
    return { type: 'CharVocab', version: 1, chars: this.chars.slice() };
  }

  static fromJSON(json: unknown): CharVocab {
    const j = json as Partial<CharVocabJSON> | null;
    if (j === null || typeof j !== 'object' || j.type !== 'CharVocab') {
      throw new TensorError('CharVocab.fromJSON', `expected an object with type "CharVocab", got ${JSON.stringify(json)?.slice(0, 80)}`);
    }
    if (j.version !== 1) throw new TensorError('CharVocab.fromJSON', `unsupported version ${String(j.version)} (this build reads version 1)`);
    if (!Array.isArray(j.chars)) throw new TensorError('CharVocab.fromJSON', `"chars" must be an array of characters, got ${typeof j.chars}`);
    return new CharVocab(j.chars);
  }
}
