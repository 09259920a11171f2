import { DType, Tensor, TensorError } from '@unfold/tensor';

/**
 * On-disk layout of a checkpoint directory:
 *   manifest.json  { format: 'unfold-checkpoint', version: 2, byteOrder: 'little',
 *                    binary: { file: 'tensors.bin', byteLength, sha256 },
 *                    tensors: [{ name, dtype, shape, byteOffset, byteLength }], meta,
 *                    manifestSha256 }   (SHA-256 of the compact JSON of the rest; version 1 had none)
 *   tensors.bin    each tensor's elements in row-major order, little-endian IEEE 754,
 *                  starting at an 8-byte-aligned offset (zero padding between tensors).
 * The manifest is the only index into the binary; the SHA-256 covers the whole binary, and the
 * manifest's own SHA-256 covers the manifest: any changed byte of either file is a named error.
 */
export const FORMAT_NAME = 'unfold-checkpoint';
export const FORMAT_VERSION = 2;
/** The manifest's own checksum field (manifest.json only; the one-buffer container has its trailing digest). */
export const MANIFEST_CHECKSUM_FIELD = 'manifestSha256';
export const MANIFEST_FILE = 'manifest.json';
export const BINARY_FILE = 'tensors.bin';
export const ALIGN = 8;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** What is saved and loaded: named float tensors plus JSON metadata (config, step, rng state, optimizer hyper-parameters…). */
export interface Checkpoint {
  tensors: Record<string, Tensor>;
  /** Any JSON-able object; checked on save (see checkJson), so interfaces need no index signature. */
  meta: Record<string, unknown>;
}

export interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
  byteOffset: number;
  byteLength: number;
}

export interface Manifest {
  format: typeof FORMAT_NAME;
  version: number;
  byteOrder: 'little';
  binary: { file: string; byteLength: number; sha256: string };
  tensors: TensorEntry[];
  meta: Record<string, unknown>;
}

/** Each way a checkpoint can be unreadable has its own code, so callers (and tests) can tell them apart. */
export type CheckpointErrorCode =
  | 'invalid-input' // saveCheckpoint was given something it cannot store
  | 'missing-file' // no manifest.json or no tensors.bin
  | 'bad-manifest' // manifest.json is not JSON or lacks/garbles a field
  | 'format' // manifest of another format
  | 'version' // format version this code does not read
  | 'extent' // a tensor's bytes lie outside the binary
  | 'shape' // a tensor's byteLength disagrees with dtype × shape
  | 'truncated' // tensors.bin shorter than the manifest says
  | 'trailing-bytes' // tensors.bin longer than the manifest says
  | 'checksum'; // SHA-256 of tensors.bin (or of the manifest itself) differs from the one recorded

export class CheckpointError extends TensorError {
  constructor(
    op: string,
    readonly code: CheckpointErrorCode,
    detail: string,
  ) {
    super(op, `${detail} [${code}]`);
    this.name = 'CheckpointError';
  }
}

export const BYTES_PER_ELEMENT: Record<DType, number> = { float32: 4, float64: 8 };

/**
 * Throws unless v survives JSON.stringify/parse unchanged: no NaN/±Inf (they would become
 * null), no undefined (dropped), no functions, class instances or typed arrays (tensors
 * belong in `tensors`). `path` names the offending field, e.g. `meta.optimizer.hyper.lr`.
 */
export function checkJson(op: string, v: unknown, path: string): void {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new CheckpointError(op, 'invalid-input', `${path} is ${v}, which JSON cannot hold`);
    return;
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => checkJson(op, x, `${path}[${i}]`));
    return;
  }
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      const what = v instanceof Tensor ? 'a Tensor (put tensors in ckpt.tensors)' : `a ${(v as object).constructor?.name ?? 'non-plain object'}`;
      throw new CheckpointError(op, 'invalid-input', `${path} is ${what}, not JSON`);
    }
    for (const [k, x] of Object.entries(v)) checkJson(op, x, `${path}.${k}`);
    return;
  }
  throw new CheckpointError(op, 'invalid-input', `${path} is ${typeof v}, not JSON`);
}
