import * as fs from 'node:fs';
import * as path from 'node:path';
import { DType, Tensor, TensorError } from '@unfold/tensor';
import { Module } from '../nn/module';
import { SafetensorsFile, decodeSafetensors } from '../interop/safetensors';
import { loadSafetensors, readSafetensors, saveSafetensors } from '../interop/stateDict';

// safetensors files: node:fs around the bytes API in ../interop (which runs in browsers too).

function readBytes(op: string, file: string): Uint8Array {
  if (typeof file !== 'string' || file === '') throw new TensorError(op, `path must be a non-empty string, got ${String(file)}`);
  try {
    return new Uint8Array(fs.readFileSync(file));
  } catch (e) {
    throw new TensorError(op, `${file}: cannot read (${(e as Error).message})`);
  }
}

/** Writes bytes atomically (temp file in the same folder, then rename): a reader never sees half a file. */
function writeBytesAtomic(file: string, bytes: Uint8Array): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    fs.writeFileSync(tmp, bytes);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** A module's state dict (or a name → Tensor record) to `file` (PyTorch names; `safetensors.torch.load_file` reads it). */
export function saveSafetensorsFile(file: string, m: Module | Record<string, Tensor>, opts: { dtype?: DType; metadata?: Record<string, string> } = {}): void {
  if (typeof file !== 'string' || file === '') throw new TensorError('saveSafetensorsFile', `path must be a non-empty string, got ${String(file)}`);
  writeBytesAtomic(file, saveSafetensors(m, opts));
}

/** Loads `file` into a module (all or nothing); returns the file's metadata. */
export function loadSafetensorsFile(file: string, m: Module): Record<string, string> | null {
  const bytes = readBytes('loadSafetensorsFile', file);
  try {
    return loadSafetensors(m, bytes);
  } catch (e) {
    if (e instanceof TensorError) e.message = `${file}: ${e.message}`;
    throw e;
  }
}

/** `file` → name → Tensor (floating dtypes) and the metadata. */
export function readSafetensorsFile(file: string, opts: { dtype?: DType } = {}): { tensors: Record<string, Tensor>; metadata: Record<string, string> | null } {
  return readSafetensors(readBytes('readSafetensorsFile', file), opts);
}

/** `file` → raw entries in their own dtypes (no conversion). */
export function decodeSafetensorsFile(file: string): SafetensorsFile {
  return decodeSafetensors(readBytes('decodeSafetensorsFile', file));
}
