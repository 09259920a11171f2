import { DType, Tensor, isDType, sizeOf } from '@unfold/tensor';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readLE } from './bytes';
import {
  BINARY_FILE, BYTES_PER_ELEMENT, Checkpoint, CheckpointError, CheckpointErrorCode, FORMAT_NAME, FORMAT_VERSION, MANIFEST_FILE, Manifest, TensorEntry,
} from './format';
import { previousDir } from './save';

const OP = 'loadCheckpoint';

/**
 * Loads and verifies a checkpoint written by saveCheckpoint. Checks, in order, each failing
 * with its own CheckpointError code: both files present; manifest is JSON of this format and
 * version with well-formed fields; every tensor's byteLength = elements × dtype size and its
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
  if (!fs.existsSync(root)) fail('missing-file', `no checkpoint at ${root} (directory does not exist)`);
  if (!fs.existsSync(manifestPath)) fail('missing-file', `${manifestPath} is missing`);
  if (!fs.existsSync(binaryPath)) fail('missing-file', `${binaryPath} is missing`);

  const manifest = parseManifest(manifestPath);
  const binary = fs.readFileSync(binaryPath);
  const declared = manifest.binary.byteLength;
  if (binary.length < declared) fail('truncated', `${binaryPath} has ${binary.length} bytes, the manifest declares ${declared}: the file is truncated`);
  if (binary.length > declared) fail('trailing-bytes', `${binaryPath} has ${binary.length} bytes, the manifest declares ${declared}: ${binary.length - declared} unexpected trailing bytes`);
  const sha = createHash('sha256').update(binary).digest('hex');
  if (sha !== manifest.binary.sha256) fail('checksum', `SHA-256 of ${binaryPath} is ${sha}, the manifest records ${manifest.binary.sha256}: the data is corrupt`);

  const tensors: Record<string, Tensor> = {};
  for (const e of manifest.tensors) {
    const data = readLE(e.dtype, sizeOf(e.shape), binary, e.byteOffset);
    tensors[e.name] = Tensor.fromArray(data, e.shape);
  }
  return { tensors, meta: manifest.meta };
}

function fail(code: CheckpointErrorCode, detail: string): never {
  throw new CheckpointError(OP, code, detail);
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Reads manifest.json and checks every field, including tensor extents against the declared binary length. */
function parseManifest(file: string): Manifest {
  let m: unknown;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    fail('bad-manifest', `${file} is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(m)) fail('bad-manifest', `${file} does not hold a JSON object`);
  if (m.format !== FORMAT_NAME) fail('format', `${file} has format ${JSON.stringify(m.format)}, expected '${FORMAT_NAME}'`);
  if (m.version !== FORMAT_VERSION) fail('version', `${file} has format version ${JSON.stringify(m.version)}; this code reads version ${FORMAT_VERSION}`);
  if (m.byteOrder !== 'little') fail('bad-manifest', `${file} has byteOrder ${JSON.stringify(m.byteOrder)}, expected 'little'`);
  const bin = m.binary;
  if (!isObject(bin) || bin.file !== BINARY_FILE || !isCount(bin.byteLength) || typeof bin.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(bin.sha256)) {
    fail('bad-manifest', `${file}: 'binary' must be { file: '${BINARY_FILE}', byteLength, sha256 (64 hex digits) }, got ${JSON.stringify(bin)}`);
  }
  if (!isObject(m.meta)) fail('bad-manifest', `${file}: 'meta' must be a JSON object`);
  if (!Array.isArray(m.tensors)) fail('bad-manifest', `${file}: 'tensors' must be an array`);
  const names = new Set<string>();
  m.tensors.forEach((e: unknown, i: number) => checkEntry(file, e, i, names, bin.byteLength as number));
  return m as unknown as Manifest;
}

function checkEntry(file: string, e: unknown, i: number, names: Set<string>, binaryLength: number): asserts e is TensorEntry {
  const where = `${file}: tensors[${i}]`;
  if (!isObject(e) || typeof e.name !== 'string' || e.name === '') fail('bad-manifest', `${where} needs a non-empty name`);
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
  if (e.byteOffset + e.byteLength > binaryLength) {
    fail('extent', `${what}: bytes [${e.byteOffset}, ${e.byteOffset + e.byteLength}) lie outside the ${binaryLength}-byte binary`);
  }
  if (e.byteOffset % bpe !== 0) fail('extent', `${what}: byteOffset ${e.byteOffset} is not a multiple of the ${bpe}-byte element size`);
}
