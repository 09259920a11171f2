import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BINARY_FILE, Checkpoint, CheckpointError, CheckpointErrorCode, CheckpointStore, MANIFEST_FILE, decodeParts, encodeParts, manifestFileBytes, readManifestFile } from '../checkpoint';

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
  const { binary, manifest } = encodeParts(op, ckpt);
  const target = path.resolve(dir);
  const prev = previousDir(target);
  recoverInterruptedSave(target, prev);
  removeOrphans(target);
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
    writeDurable(path.join(tmp, MANIFEST_FILE), manifestFileBytes(manifest));
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

const SAVING = /^\.saving-(\d+)-[0-9a-f]+$/;

/**
 * Removes `<dir>.saving-<pid>-<hex>` folders that a killed save left behind (each as big as the
 * weights): those whose process is gone, or is this one (saves are synchronous, so none of ours is
 * in flight). A live other process's folder is left alone. Best effort: errors are ignored.
 */
export function removeOrphans(dir: string): string[] {
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  const base = path.basename(target);
  const removed: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!name.startsWith(base)) continue;
    const m = SAVING.exec(name.slice(base.length));
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && processAlive(pid)) continue;
    try {
      fs.rmSync(path.join(parent, name), { recursive: true, force: true });
      removed.push(path.join(parent, name));
    } catch {
      // another process removed it first, or the folder is read-only: leave it
    }
  }
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
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

const OP = 'loadCheckpoint';

/**
 * Loads and verifies a checkpoint written by saveCheckpoint. Checks, in order, each failing
 * with its own CheckpointError code: both files present; manifest is UTF-8 JSON of this format
 * and version, matching its own SHA-256 (version 2), with well-formed fields; every tensor's byteLength = elements × dtype size and its
 * bytes inside the declared binary; tensors.bin exactly the declared length (truncated /
 * trailing bytes); its SHA-256. Tensors are decoded only after all checks pass, so there is
 * never a half-loaded result. Returned tensors are fresh contiguous copies.
 *
 * If <dir> is missing but <dir>.prev holds a checkpoint, a save crashed between moving the
 * previous checkpoint aside and putting the new one in place: that previous one is loaded.
 */
export function loadCheckpoint(dir: string): Checkpoint {
  let root = path.resolve(dir);
  const prev = previousDir(root);
  if (!fs.existsSync(root) && fs.existsSync(path.join(prev, MANIFEST_FILE))) root = prev;
  const manifestPath = path.join(root, MANIFEST_FILE);
  const binaryPath = path.join(root, BINARY_FILE);
  const fail = (code: CheckpointErrorCode, detail: string): never => {
    throw new CheckpointError(OP, code, detail);
  };
  if (!fs.existsSync(root)) fail('missing-file', `no checkpoint at ${root} (directory does not exist)`);
  if (!fs.existsSync(manifestPath)) fail('missing-file', `${manifestPath} is missing`);
  if (!fs.existsSync(binaryPath)) fail('missing-file', `${binaryPath} is missing`);
  removeOrphans(path.resolve(dir));
  const manifest = readManifestFile(OP, fs.readFileSync(manifestPath), manifestPath);
  return decodeParts(OP, manifest, fs.readFileSync(binaryPath), binaryPath);
}

/** Whether `dir` (or the `<dir>.prev` an interrupted save left) holds a checkpoint. */
export function hasCheckpoint(dir: string): boolean {
  const root = path.resolve(dir);
  return fs.existsSync(path.join(root, MANIFEST_FILE)) || (!fs.existsSync(root) && fs.existsSync(path.join(previousDir(root), MANIFEST_FILE)));
}

/** A CheckpointStore over a checkpoint directory (crash-safe swap on save; `.prev` recovered on load), for fit({ checkpoint }). */
export function directoryStore(dir: string): CheckpointStore {
  if (typeof dir !== 'string' || dir === '') throw new CheckpointError('directoryStore', 'invalid-input', `expected a directory path, got ${JSON.stringify(dir)}`);
  return {
    describe: path.resolve(dir),
    save: (ckpt) => saveCheckpoint(dir, ckpt),
    // null only when there is nothing at all: a folder with a damaged checkpoint is an error, never a fresh start over it
    load: () => (hasCheckpoint(dir) || !isAbsentOrEmpty(dir) ? loadCheckpoint(dir) : null),
    check: () => checkWritable(dir),
  };
}

function isAbsentOrEmpty(dir: string): boolean {
  const root = path.resolve(dir);
  if (fs.existsSync(previousDir(root))) return false;
  if (!fs.existsSync(root)) return true;
  return fs.statSync(root).isDirectory() && fs.readdirSync(root).length === 0;
}

/** Fails early, before any training, when the checkpoint folder cannot be written. */
function checkWritable(dir: string): void {
  const parent = path.dirname(path.resolve(dir));
  try {
    fs.mkdirSync(parent, { recursive: true });
    fs.accessSync(parent, fs.constants.W_OK);
  } catch (e) {
    throw new CheckpointError('directoryStore', 'invalid-input', `checkpoint folder ${dir} is not writable: ${(e as Error).message}`);
  }
}
