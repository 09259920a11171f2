import { Tensor, TypedArray } from '@unfold/tensor';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeLE } from './bytes';
import {
  ALIGN, BINARY_FILE, BYTES_PER_ELEMENT, Checkpoint, CheckpointError, FORMAT_NAME, FORMAT_VERSION, MANIFEST_FILE, Manifest, TensorEntry, checkJson,
} from './format';

/** Points between the write steps, reported to `SaveOptions.onStage`. */
export type SaveStage = 'binary-written' | 'manifest-written' | 'previous-moved-aside';

export interface SaveOptions {
  /**
   * Called after each step of the save. Throwing from it simulates a failure at that point
   * (tests use this); the previous checkpoint is left intact whichever stage fails.
   */
  onStage?: (stage: SaveStage) => void;
}

/** Where a save parks the previous checkpoint during the swap: `<dir>.prev`, next to it. */
export function previousDir(dir: string): string {
  return `${path.resolve(dir)}.prev`;
}

/**
 * Saves atomically, with the directory as the unit of replacement:
 *   1. write tensors.bin then manifest.json (each fsynced) into `<dir>.saving-<pid>-<rand>/`
 *   2. rename <dir> → <dir>.prev      (if a checkpoint is there)
 *   3. rename <dir>.saving-… → <dir>  (the commit point)
 *   4. remove <dir>.prev
 * A failure before 3 removes the temp dir and puts <dir>.prev back; a crash (no chance to
 * clean up) before 2 leaves <dir> untouched, and one between 2 and 3 leaves the previous
 * checkpoint complete in <dir>.prev, which loadCheckpoint reads when <dir> is absent and the
 * next save moves back before starting.
 */
export function saveCheckpoint(dir: string, ckpt: Checkpoint, opts: SaveOptions = {}): void {
  const op = 'saveCheckpoint';
  const { binary, manifest } = encode(op, ckpt);
  const target = path.resolve(dir);
  const prev = previousDir(target);
  recoverInterruptedSave(target, prev);
  if (fs.existsSync(target)) {
    const st = fs.statSync(target);
    const isCkpt = st.isDirectory() && fs.existsSync(path.join(target, MANIFEST_FILE));
    const isEmptyDir = st.isDirectory() && fs.readdirSync(target).length === 0;
    if (!isCkpt && !isEmptyDir) {
      throw new CheckpointError(op, 'invalid-input', `${target} exists and is not a checkpoint directory; refusing to replace it`);
    }
  }
  const parent = path.dirname(target);
  fs.mkdirSync(parent, { recursive: true });
  const tmp = `${target}.saving-${process.pid}-${randomBytes(4).toString('hex')}`;
  fs.mkdirSync(tmp);
  let movedAside = false;
  let committed = false;
  try {
    writeDurable(path.join(tmp, BINARY_FILE), binary);
    opts.onStage?.('binary-written');
    writeDurable(path.join(tmp, MANIFEST_FILE), Buffer.from(JSON.stringify(manifest, null, 1) + '\n', 'utf8'));
    opts.onStage?.('manifest-written');
    fsyncDir(tmp);
    if (fs.existsSync(target)) {
      fs.renameSync(target, prev);
      movedAside = true;
      opts.onStage?.('previous-moved-aside');
    }
    fs.renameSync(tmp, target);
    committed = true;
    fsyncDir(parent);
  } finally {
    if (!committed) {
      fs.rmSync(tmp, { recursive: true, force: true });
      if (movedAside && !fs.existsSync(target)) fs.renameSync(prev, target);
    }
  }
  fs.rmSync(prev, { recursive: true, force: true });
}

/** Undoes the state a crash between steps 2 and 3 leaves behind, or clears a stale <dir>.prev. */
function recoverInterruptedSave(target: string, prev: string): void {
  if (!fs.existsSync(prev)) return;
  if (fs.existsSync(target)) fs.rmSync(prev, { recursive: true, force: true });
  else fs.renameSync(prev, target);
}

/** Validates the checkpoint and lays out the binary and its manifest. */
function encode(op: string, ckpt: Checkpoint): { binary: Buffer; manifest: Manifest } {
  if (ckpt === null || typeof ckpt !== 'object') throw new CheckpointError(op, 'invalid-input', `checkpoint must be { tensors, meta }, got ${typeof ckpt}`);
  const { tensors, meta } = ckpt;
  if (tensors === null || typeof tensors !== 'object') throw new CheckpointError(op, 'invalid-input', 'checkpoint.tensors must be a record of name → Tensor');
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) throw new CheckpointError(op, 'invalid-input', 'checkpoint.meta must be a JSON object');
  checkJson(op, meta, 'meta');

  const entries: TensorEntry[] = [];
  const arrays: TypedArray[] = [];
  let end = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '') throw new CheckpointError(op, 'invalid-input', 'tensor names must be non-empty');
    if (!(t instanceof Tensor)) throw new CheckpointError(op, 'invalid-input', `tensors['${name}'] is not a Tensor`);
    const data = t.toTypedArray(); // row-major copy of any strided view
    const byteOffset = Math.ceil(end / ALIGN) * ALIGN;
    const byteLength = data.length * BYTES_PER_ELEMENT[t.dtype];
    entries.push({ name, dtype: t.dtype, shape: t.shape.slice(), byteOffset, byteLength });
    arrays.push(data);
    end = byteOffset + byteLength;
  }
  const binary = Buffer.alloc(end);
  entries.forEach((e, i) => writeLE(arrays[i], binary, e.byteOffset));
  const sha256 = createHash('sha256').update(binary).digest('hex');
  const manifest: Manifest = {
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    byteOrder: 'little',
    binary: { file: BINARY_FILE, byteLength: end, sha256 },
    tensors: entries,
    meta,
  };
  return { binary, manifest };
}

function writeDurable(file: string, data: Uint8Array): void {
  const fd = fs.openSync(file, 'wx');
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Makes renames inside `dir` durable. Directories cannot be opened for fsync on every platform (Windows); there it is skipped. */
function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = fs.openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fs.fsyncSync(fd);
  } catch {
    // EISDIR/EPERM on platforms without directory fsync
  } finally {
    fs.closeSync(fd);
  }
}
