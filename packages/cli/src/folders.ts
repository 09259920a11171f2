// Output folders, checked before anything is created: an unwritable or odd target is a one-line
// named error, never a raw stack trace or a hang (Node 20's recursive mkdir loops forever on
// /proc/<x>), and a failure half-way removes only the folders this call created.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TensorError } from '@unfold/tensor';

/** Makes `dir` (and missing parents) one level at a time; returns the topmost folder it created, or null if `dir` existed. */
export function ensureDir(dir: string, op: string, what = 'output folder'): string | null {
  const target = path.resolve(dir);
  const missing: string[] = [];
  let at = target;
  for (;;) {
    let st: fs.Stats | null = null;
    try {
      st = fs.statSync(at);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new TensorError(op, `cannot write the ${what} ${dir}: ${(e as Error).message}`);
    }
    if (st) {
      if (!st.isDirectory()) {
        throw new TensorError(op, at === target ? `cannot write the ${what} ${dir}: it exists and is a file, not a folder` : `cannot write the ${what} ${dir}: ${at} is a file, not a folder`);
      }
      break;
    }
    missing.unshift(at);
    const up = path.dirname(at);
    if (up === at) break;
    at = up;
  }
  try {
    fs.accessSync(at, fs.constants.W_OK);
  } catch (e) {
    throw new TensorError(op, `cannot write the ${what} ${dir}: ${at} is not writable (${(e as NodeJS.ErrnoException).code})`);
  }
  for (const d of missing) {
    try {
      fs.mkdirSync(d); // not recursive: each level fails on its own, with its own reason
    } catch (e) {
      if (missing[0] !== d) fs.rmSync(missing[0], { recursive: true, force: true });
      throw new TensorError(op, `cannot write the ${what} ${dir}: cannot create ${d} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  try {
    fs.accessSync(target, fs.constants.W_OK);
  } catch (e) {
    throw new TensorError(op, `cannot write the ${what} ${dir}: it is not writable (${(e as NodeJS.ErrnoException).code})`);
  }
  return missing[0] ?? null;
}
