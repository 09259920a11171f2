import { DType, Tensor, TypedArray, isDType, sizeOf } from '@unfold/tensor';
import { readLE, writeLE } from './bytes';
import {
  ALIGN, BINARY_FILE, BYTES_PER_ELEMENT, Checkpoint, CheckpointError, CheckpointErrorCode, FORMAT_NAME, FORMAT_VERSION, MANIFEST_CHECKSUM_FIELD, Manifest, TensorEntry, checkJson,
} from './format';
import { sha256, sha256Hex, toHex } from './sha256';

/**
 * A checkpoint as bytes, the same in Node and in a browser. Two layouts share one manifest:
 *   directory (Node, ../node/checkpointDir.ts)  manifest.json + tensors.bin, swapped atomically
 *   one buffer (encodeCheckpoint)               for downloads, IndexedDB, postMessage:
 *     [0, 8)     magic "UNFOLDCK"
 *     [8, 12)    u32 container version (1)
 *     [12, 16)   u32 manifest byte length L
 *     [16, 24)   u64 binary byte length N (little-endian, < 2^53)
 *     [24, 24+L) manifest JSON (UTF-8), zero-padded to a multiple of 8
 *     then N bytes of tensor data (as tensors.bin), then 32 bytes: SHA-256 of everything before
 * The trailing digest covers the header and the manifest too: any corrupted byte is a named
 * error (checksum), and lengths are checked first so truncation is named as such.
 */
export const CONTAINER_MAGIC = 'UNFOLDCK';
export const CONTAINER_VERSION = 1;
const HEADER = 24;
const DIGEST = 32;

const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/** Validates the checkpoint and lays out the binary and its manifest (binary.file names where the data lives). */
export function encodeParts(op: string, ckpt: Checkpoint, file = BINARY_FILE): { binary: Uint8Array; manifest: Manifest } {
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
    const byteOffset = align(end);
    const byteLength = data.length * BYTES_PER_ELEMENT[t.dtype];
    entries.push({ name, dtype: t.dtype, shape: t.shape.slice(), byteOffset, byteLength });
    arrays.push(data);
    end = byteOffset + byteLength;
  }
  const binary = new Uint8Array(end);
  entries.forEach((e, i) => writeLE(arrays[i], binary, e.byteOffset));
  const manifest: Manifest = {
    format: FORMAT_NAME, version: FORMAT_VERSION, byteOrder: 'little',
    binary: { file, byteLength: end, sha256: sha256Hex(binary) },
    tensors: entries, meta,
  };
  return { binary, manifest };
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Parses manifest text and checks every field, including tensor extents against the declared binary (`where` names the source in errors). */
export function parseManifest(op: string, text: string, where: string, file = BINARY_FILE): Manifest {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(op, 'bad-manifest', `${where} is not valid JSON (${(e as Error).message})`);
  }
  return checkManifest(op, m, where, file);
}

const utf8 = new TextEncoder();

/**
 * The bytes of manifest.json in a checkpoint directory (format version 2): the manifest, indented,
 * with a last field `manifestSha256` = SHA-256 of the manifest's compact JSON without that field.
 * With the binary's own SHA-256 inside it, every byte of the directory is covered.
 */
export function manifestFileBytes(manifest: Manifest): Uint8Array {
  const body: Record<string, unknown> = { ...manifest };
  delete body[MANIFEST_CHECKSUM_FIELD];
  const sealed = { ...body, [MANIFEST_CHECKSUM_FIELD]: sha256Hex(utf8.encode(JSON.stringify(body))) };
  return utf8.encode(JSON.stringify(sealed, null, 1) + '\n');
}

/**
 * Reads manifest.json bytes: strict UTF-8, JSON, format and version; for version 2 the recorded
 * manifestSha256 must match and the file must be exactly as manifestFileBytes writes it (so even
 * a flip that leaves the JSON value unchanged, like `e` → `E` in an exponent, is named). Version 1
 * manifests (no checksum of their own, written before it existed) are still read.
 */
export function readManifestFile(op: string, bytes: Uint8Array, where: string, file = BINARY_FILE): Manifest {
  const fail = (code: CheckpointErrorCode, detail: string): never => {
    throw new CheckpointError(op, code, detail);
  };
  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    fail('bad-manifest', `${where} is not valid UTF-8`);
  }
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    fail('bad-manifest', `${where} is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(m)) return fail('bad-manifest', `${where} does not hold a JSON object`);
  checkFormatVersion(fail, m, where);
  const recorded = m[MANIFEST_CHECKSUM_FIELD];
  if (m.version === 1) {
    if (recorded !== undefined) fail('bad-manifest', `${where} says format version 1 but carries a ${MANIFEST_CHECKSUM_FIELD} (a version 2 field): the manifest is corrupt`);
  } else {
    if (typeof recorded !== 'string' || !/^[0-9a-f]{64}$/.test(recorded)) {
      fail('checksum', `${where} has no valid ${MANIFEST_CHECKSUM_FIELD} (64 hex digits), got ${JSON.stringify(recorded)}: the manifest is corrupt`);
    }
    const body: Record<string, unknown> = { ...m };
    delete body[MANIFEST_CHECKSUM_FIELD];
    const sha = sha256Hex(utf8.encode(JSON.stringify(body)));
    if (sha !== recorded) fail('checksum', `SHA-256 of the manifest ${where} is ${sha}, it records ${recorded as string}: the manifest is corrupt`);
    const canonical = manifestFileBytes(body as unknown as Manifest);
    const at = firstDifference(canonical, bytes);
    if (at >= 0) fail('checksum', `${where} differs from the bytes its checksum was taken over (first at byte ${at}): the manifest is corrupt`);
  }
  return checkManifest(op, m, where, file);
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

function checkFormatVersion(fail: (c: CheckpointErrorCode, d: string) => never, m: Record<string, unknown>, where: string): void {
  if (m.format !== FORMAT_NAME) fail('format', `${where} has format ${JSON.stringify(m.format)}, expected '${FORMAT_NAME}'`);
  if (m.version !== FORMAT_VERSION && m.version !== 1) {
    fail('version', `${where} has format version ${JSON.stringify(m.version)}; this code reads versions 1 and ${FORMAT_VERSION} (a newer Unfold wrote it?)`);
  }
}

/** Checks a parsed manifest's fields (format, version, binary, tensors, meta). */
function checkManifest(op: string, m: unknown, where: string, file: string): Manifest {
  const fail = (code: CheckpointErrorCode, detail: string): never => {
    throw new CheckpointError(op, code, detail);
  };
  if (!isObject(m)) return fail('bad-manifest', `${where} does not hold a JSON object`);
  checkFormatVersion(fail, m, where);
  if (m.byteOrder !== 'little') fail('bad-manifest', `${where} has byteOrder ${JSON.stringify(m.byteOrder)}, expected 'little'`);
  const bin = m.binary;
  if (!isObject(bin) || bin.file !== file || !isCount(bin.byteLength) || typeof bin.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(bin.sha256)) {
    fail('bad-manifest', `${where}: 'binary' must be { file: '${file}', byteLength, sha256 (64 hex digits) }, got ${JSON.stringify(bin)}`);
  }
  if (!isObject(m.meta)) fail('bad-manifest', `${where}: 'meta' must be a JSON object`);
  if (!Array.isArray(m.tensors)) fail('bad-manifest', `${where}: 'tensors' must be an array`);
  const names = new Set<string>();
  (m.tensors as unknown[]).forEach((e, i) => checkEntry(fail, where, e, i, names, (bin as { byteLength: number }).byteLength));
  return m as unknown as Manifest;
}

function checkEntry(fail: (c: CheckpointErrorCode, d: string) => never, file: string, e: unknown, i: number, names: Set<string>, binaryLength: number): void {
  const where = `${file}: tensors[${i}]`;
  if (!isObject(e) || typeof e.name !== 'string' || e.name === '') return fail('bad-manifest', `${where} needs a non-empty name`);
  const what = `${where} ('${e.name}')`;
  if (names.has(e.name)) fail('bad-manifest', `${what} appears twice`);
  names.add(e.name);
  if (!isDType(e.dtype)) fail('bad-manifest', `${what} has dtype ${JSON.stringify(e.dtype)}, expected float32 or float64`);
  if (!Array.isArray(e.shape) || !e.shape.every(isCount)) fail('bad-manifest', `${what} has shape ${JSON.stringify(e.shape)}, expected an array of non-negative integers`);
  if (!isCount(e.byteOffset) || !isCount(e.byteLength)) {
    fail('bad-manifest', `${what} needs non-negative integer byteOffset and byteLength, got ${JSON.stringify(e.byteOffset)}, ${JSON.stringify(e.byteLength)}`);
  }
  const bpe = BYTES_PER_ELEMENT[e.dtype as DType];
  const expected = sizeOf(e.shape as number[]) * bpe;
  if (e.byteLength !== expected) {
    fail('shape', `${what}: shape [${(e.shape as number[]).join(',')}] of ${e.dtype} needs ${expected} bytes, the manifest gives byteLength ${e.byteLength}`);
  }
  if ((e.byteOffset as number) + (e.byteLength as number) > binaryLength) {
    fail('extent', `${what}: bytes [${e.byteOffset}, ${(e.byteOffset as number) + (e.byteLength as number)}) lie outside the ${binaryLength}-byte binary`);
  }
  if ((e.byteOffset as number) % bpe !== 0) fail('extent', `${what}: byteOffset ${e.byteOffset} is not a multiple of the ${bpe}-byte element size`);
}

/** Checks the binary against its manifest (length, SHA-256), then decodes every tensor: never a half-loaded result. */
export function decodeParts(op: string, manifest: Manifest, binary: Uint8Array, where: string): Checkpoint {
  const declared = manifest.binary.byteLength;
  if (binary.length < declared) throw new CheckpointError(op, 'truncated', `${where} has ${binary.length} bytes, the manifest declares ${declared}: the data is truncated`);
  if (binary.length > declared) throw new CheckpointError(op, 'trailing-bytes', `${where} has ${binary.length} bytes, the manifest declares ${declared}: ${binary.length - declared} unexpected trailing bytes`);
  const sha = sha256Hex(binary);
  if (sha !== manifest.binary.sha256) throw new CheckpointError(op, 'checksum', `SHA-256 of ${where} is ${sha}, the manifest records ${manifest.binary.sha256}: the data is corrupt`);
  const tensors: Record<string, Tensor> = {};
  for (const e of manifest.tensors) tensors[e.name] = Tensor.fromArray(readLE(e.dtype, sizeOf(e.shape), binary, e.byteOffset), e.shape);
  return { tensors, meta: manifest.meta };
}

/** The whole checkpoint (tensors + meta) as one self-checking buffer (layout above). */
export function encodeCheckpoint(ckpt: Checkpoint): Uint8Array {
  const { binary, manifest } = encodeParts('encodeCheckpoint', ckpt, 'inline');
  const json = new TextEncoder().encode(JSON.stringify(manifest));
  const binAt = HEADER + align(json.length);
  const out = new Uint8Array(binAt + binary.length + DIGEST);
  for (let i = 0; i < 8; i++) out[i] = CONTAINER_MAGIC.charCodeAt(i);
  const v = new DataView(out.buffer);
  v.setUint32(8, CONTAINER_VERSION, true);
  v.setUint32(12, json.length, true);
  v.setUint32(16, binary.length % 2 ** 32, true);
  v.setUint32(20, Math.floor(binary.length / 2 ** 32), true);
  out.set(json, HEADER);
  out.set(binary, binAt);
  out.set(sha256(out.subarray(0, binAt + binary.length)), binAt + binary.length);
  return out;
}

/** Reads a buffer written by encodeCheckpoint; each way it can be wrong is a CheckpointError with its own code. */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  const op = 'decodeCheckpoint';
  const fail = (code: CheckpointErrorCode, detail: string): never => {
    throw new CheckpointError(op, code, detail);
  };
  if (!(bytes instanceof Uint8Array)) fail('invalid-input', `expected a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`);
  if (bytes.length < HEADER + DIGEST) fail('truncated', `${bytes.length} bytes is shorter than the ${HEADER + DIGEST}-byte minimum of a checkpoint buffer`);
  let magic = '';
  for (let i = 0; i < 8; i++) magic += String.fromCharCode(bytes[i]);
  if (magic !== CONTAINER_MAGIC) fail('format', `not an Unfold checkpoint buffer (starts with ${JSON.stringify(magic)}, expected ${CONTAINER_MAGIC}); a checkpoint directory is read with loadCheckpoint from '@unfold/rnn/node'`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = v.getUint32(8, true);
  if (version !== CONTAINER_VERSION) fail('version', `checkpoint buffer version ${version}; this code reads version ${CONTAINER_VERSION}`);
  const L = v.getUint32(12, true);
  const N = v.getUint32(16, true) + v.getUint32(20, true) * 2 ** 32;
  const binAt = HEADER + align(L);
  const total = binAt + N + DIGEST;
  if (bytes.length < total) fail('truncated', `buffer has ${bytes.length} bytes, its header declares ${total}: the data is truncated`);
  if (bytes.length > total) fail('trailing-bytes', `buffer has ${bytes.length} bytes, its header declares ${total}: ${bytes.length - total} unexpected trailing bytes`);
  const digest = toHex(sha256(bytes.subarray(0, binAt + N)));
  const stored = toHex(bytes.subarray(binAt + N));
  if (digest !== stored) fail('checksum', `SHA-256 of the buffer is ${digest}, it records ${stored}: the checkpoint is corrupt`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(HEADER, HEADER + L));
  } catch {
    return fail('bad-manifest', 'the manifest is not valid UTF-8');
  }
  const manifest = parseManifest(op, text, 'the manifest', 'inline');
  return decodeParts(op, manifest, bytes.subarray(binAt, binAt + N), 'the tensor data');
}
