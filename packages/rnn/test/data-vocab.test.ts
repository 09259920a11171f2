import fc from 'fast-check';
import { TensorError } from '@unfold/tensor';
import { CharVocab } from '@unfold/rnn';

describe('CharVocab', () => {
  test('ids are the ranks of the sorted unique code points, whatever the order of the text', () => {
    const v = CharVocab.fromText('hello, world\n');
    expect(v.chars).toEqual(['\n', ' ', ',', 'd', 'e', 'h', 'l', 'o', 'r', 'w']);
    expect(v.size).toBe(10);
    expect(CharVocab.fromText('\nwdlroo ,lleh').chars).toEqual(v.chars);
    expect(v.idOf('l')).toBe(6);
    expect(v.idOf('z')).toBe(-1);
    expect(v.has('h')).toBe(true);
  });

  test('astral characters are one token and sort by code point, not UTF-16 unit', () => {
    // '😀' is U+1F600 (surrogates 0xD83D 0xDE00) and 'ｚ' is U+FF5A: by code unit 😀 < ｚ, by code point ｚ < 😀.
    const v = CharVocab.fromText('😀ｚa');
    expect(v.chars).toEqual(['a', 'ｚ', '😀']);
    expect(Array.from(v.encode('a😀ｚ'))).toEqual([0, 2, 1]);
  });

  test('decode(encode(s)) = s for arbitrary Unicode text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }), (s) => {
        const v = CharVocab.fromText(s);
        const ids = v.encode(s);
        expect(ids).toBeInstanceOf(Int32Array);
        expect(ids.length).toBe(Array.from(s).length);
        expect(v.decode(ids)).toBe(s);
        for (const id of ids) expect(id >= 0 && id < v.size).toBe(true);
      }),
    );
  });

  test('unknown characters: error naming char, position, line and column, or mapped to unknownId', () => {
    const v = CharVocab.fromText('ab\n');
    expect(() => v.encode('ab\nbz')).toThrow(TensorError);
    expect(() => v.encode('ab\nbz')).toThrow('CharVocab.encode: unknown character "z" (U+007A) at position 4 (line 2, column 2)');
    expect(() => v.encode('aæ')).toThrow('"æ" (U+00E6) at position 1 (line 1, column 2)');
    expect(Array.from(v.encode('azb', { unknownId: 0 }))).toEqual([1, 0, 2]);
    expect(Array.from(v.encode('a😀b', { unknownId: 0 }))).toEqual([1, 0, 2]);
    expect(() => v.encode('a', { unknownId: 3 })).toThrow('unknownId 3 is not an id of this vocabulary [0, 3)');
    expect(() => v.encode(42 as unknown as string)).toThrow('CharVocab.encode: expected a string, got number');
  });

  test('decode rejects ids outside the vocabulary', () => {
    const v = CharVocab.fromText('abc');
    expect(v.decode([2, 1, 0])).toBe('cba');
    expect(() => v.decode([0, 3])).toThrow('CharVocab.decode: id 3 at position 1 is out of range [0, 3)');
    expect(() => v.decode([-1])).toThrow('id -1 at position 0');
    expect(() => v.decode([0.5])).toThrow('id 0.5 at position 0');
  });

  test('toJSON/fromJSON round trip through a JSON string keeps every id', () => {
    const text = 'To be, or not to be: that is the question.\n\tCæsar 😀';
    const v = CharVocab.fromText(text, { extraChars: '\u0000' });
    expect(v.idOf('\u0000')).toBe(0);
    const back = CharVocab.fromJSON(JSON.parse(JSON.stringify(v)));
    expect(back.chars).toEqual(v.chars);
    expect(Array.from(back.encode(text))).toEqual(Array.from(v.encode(text)));
  });

  test('construction and fromJSON errors', () => {
    expect(() => CharVocab.fromText('')).toThrow('CharVocab.fromText: the text is empty');
    expect(() => new CharVocab([])).toThrow('CharVocab: a vocabulary needs at least one character');
    expect(() => new CharVocab(['a', 'b', 'a'])).toThrow('CharVocab: character "a" (U+0061) appears twice (ids 0 and 2)');
    expect(() => new CharVocab(['a', 'bc'])).toThrow('CharVocab: entry 1 must be a single character, got "bc"');
    expect(() => CharVocab.fromJSON(null)).toThrow('CharVocab.fromJSON: expected an object with type "CharVocab"');
    expect(() => CharVocab.fromJSON({ type: 'CharVocab', version: 2, chars: ['a'] })).toThrow('unsupported version 2');
    expect(() => CharVocab.fromJSON({ type: 'CharVocab', version: 1, chars: 'ab' })).toThrow('"chars" must be an array');
  });
});
