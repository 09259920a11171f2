import * as fs from 'node:fs';
import * as path from 'node:path';
import { TensorError } from '@unfold/tensor';
import { Corpus, decodeText } from '../data/corpus';

/**
 * Reads a text file (decodeText's checks: UTF-8 or else Latin-1, binary files refused).
 * The corpus is named by the file's base name.
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
  const c = decodeText(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), file, op);
  return { name: path.basename(file), text: c.text };
}
