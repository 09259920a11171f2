import { TensorError } from '@unfold/tensor';

/**
 * The safetensors format (huggingface/safetensors), as bytes — no file system, so it runs in
 * browsers as in Node:
 *
 *     [8 bytes: N, u64 little-endian] [N bytes: JSON header, UTF-8, padded with spaces]
 *     [data: every tensor's raw little-endian values, back to back]
 *
 * The header maps each tensor name to { dtype, shape, data_offsets: [begin, end] } (offsets
 * into the data block) and may hold "__metadata__": { string: string }. Decoding checks
 * everything the reference implementation checks — and fails on the first problem with a
 * SafetensorsError naming it, before anything is returned, so a file is read whole or not at all.
 *
 * Encoding writes what the reference writer (`safetensors.torch.save_file`, Rust
 * `serialize`) writes for the same tensors, byte for byte: tensors ordered by dtype
 * (widest alignment first) then by name, compact JSON with `__metadata__` first and keys in
 * the order dtype, shape, data_offsets, the header padded with spaces to a multiple of 8.
 */

/** The dtypes of the format (Rust `Dtype`), in the order the reference writer sorts by (widest last). */
export const SAFETENSORS_DTYPES = ['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64'] as const;
export type SafetensorsDType = (typeof SAFETENSORS_DTYPES)[number];

const BYTES: Record<SafetensorsDType, number> = { BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8 };

/** Raw values per dtype; F16/BF16/F8 are kept as their bit patterns (see `entryToFloat64`). */
export type SafetensorsData = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

export interface SafetensorsEntry {
  dtype: SafetensorsDType;
  shape: number[];
  data: SafetensorsData;
}

export interface SafetensorsFile {
  tensors: Record<string, SafetensorsEntry>;
  metadata: Record<string, string> | null;
}

/** What went wrong, as a stable code for programs (the message says it for people). */
export type SafetensorsProblem =
  | 'too-short' | 'header-too-large' | 'header-length' | 'header-json' | 'bad-entry' | 'unknown-dtype'
  | 'length-mismatch' | 'out-of-range' | 'overlap' | 'gap' | 'trailing-bytes' | 'bad-metadata' | 'bad-input';

export class SafetensorsError extends TensorError {
  constructor(op: string, readonly problem: SafetensorsProblem, detail: string) {
    super(op, `${detail} [${problem}]`);
    this.name = 'SafetensorsError';
  }
}

/** The reference implementation's limit (Rust `MAX_HEADER_SIZE`): larger headers are refused before parsing. */
export const SAFETENSORS_MAX_HEADER = 100_000_000;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const TYPED: Record<SafetensorsDType, { new (b: ArrayBuffer): SafetensorsData }> = {
  BOOL: Uint8Array, U8: Uint8Array, I8: Int8Array, F8_E5M2: Uint8Array, F8_E4M3: Uint8Array,
  I16: Int16Array, U16: Uint16Array, F16: Uint16Array, BF16: Uint16Array,
  I32: Int32Array, U32: Uint32Array, F32: Float32Array, F64: Float64Array, I64: BigInt64Array, U64: BigUint64Array,
};

const isDtype = (d: unknown): d is SafetensorsDType => typeof d === 'string' && (SAFETENSORS_DTYPES as readonly string[]).includes(d);
const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Copies little-endian bytes into a fresh typed array (byte-swapping on a big-endian host). */
function fromLE(bytes: Uint8Array, dtype: SafetensorsDType): SafetensorsData {
  const copy = bytes.slice(); // own, aligned buffer: the file's offsets need not be aligned
  const w = BYTES[dtype];
  if (!LITTLE_ENDIAN && w > 1) for (let i = 0; i < copy.length; i += w) copy.subarray(i, i + w).reverse();
  return new TYPED[dtype](copy.buffer);
}

function toLE(data: SafetensorsData, dtype: SafetensorsDType): Uint8Array {
  const b = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  const w = BYTES[dtype];
  if (!LITTLE_ENDIAN && w > 1) for (let i = 0; i < b.length; i += w) b.subarray(i, i + w).reverse();
  return b;
}

/** bytes → { tensors, metadata }; throws SafetensorsError on the first problem (nothing partial). */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsFile {
  const OP = 'decodeSafetensors';
  const fail = (p: SafetensorsProblem, d: string): never => {
    throw new SafetensorsError(OP, p, d);
  };
  if (!(bytes instanceof Uint8Array)) fail('bad-input', `expected a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`);
  if (bytes.length < 8) fail('too-short', `${bytes.length} bytes: a safetensors file starts with an 8-byte header length`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  const n = hi * 2 ** 32 + lo;
  if (n > SAFETENSORS_MAX_HEADER) fail('header-too-large', `header length ${n} exceeds the limit of ${SAFETENSORS_MAX_HEADER} bytes (not a safetensors file, or a corrupt one)`);
  if (8 + n > bytes.length) fail('header-length', `header length ${n} runs past the end of the ${bytes.length}-byte buffer`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    return fail('header-json', 'the header is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail('header-json', `the header must be a JSON object starting with '{', got ${JSON.stringify(text.slice(0, 20))}`);
  let header: unknown;
  try {
    header = JSON.parse(text); // trailing spaces (the writer's padding) are JSON whitespace
  } catch (e) {
    return fail('header-json', `the header is not valid JSON: ${(e as Error).message}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) return fail('header-json', 'the header is not a JSON object');
  const h = header as Record<string, unknown>;
  let metadata: Record<string, string> | null = null;
  if ('__metadata__' in h) {
    const m = h.__metadata__;
    if (m === null || typeof m !== 'object' || Array.isArray(m)) fail('bad-metadata', '__metadata__ must be an object of string → string');
    for (const [k, v] of Object.entries(m as object)) if (typeof v !== 'string') fail('bad-metadata', `__metadata__.${k} is ${typeof v}, not a string`);
    metadata = { ...(m as Record<string, string>) };
  }
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const infos: { name: string; dtype: SafetensorsDType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, v] of Object.entries(h)) {
    if (name === '__metadata__') continue;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) fail('bad-entry', `${name}: expected { dtype, shape, data_offsets }`);
    const e = v as Record<string, unknown>;
    const extra = Object.keys(e).filter((k) => !['dtype', 'shape', 'data_offsets'].includes(k));
    if (extra.length) fail('bad-entry', `${name}: unknown field ${extra.join(', ')} (valid: dtype, shape, data_offsets)`);
    if (!isDtype(e.dtype)) fail('unknown-dtype', `${name}: unknown dtype ${JSON.stringify(e.dtype)} (known: ${SAFETENSORS_DTYPES.join(', ')})`);
    const dtype = e.dtype as SafetensorsDType;
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail('bad-entry', `${name}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0) || off[0] > off[1]) {
      fail('bad-entry', `${name}: data_offsets must be [begin, end] with 0 ≤ begin ≤ end, got ${JSON.stringify(off)}`);
    }
    const [begin, end] = off as number[];
    const need = numel(shape as number[]) * BYTES[dtype];
    if (end - begin !== need) fail('length-mismatch', `${name}: ${dtype} ${JSON.stringify(shape)} needs ${need} bytes, data_offsets [${begin}, ${end}] span ${end - begin}`);
    if (end > dataLen) fail('out-of-range', `${name}: data_offsets [${begin}, ${end}] run past the ${dataLen}-byte data block`);
    infos.push({ name, dtype, shape: (shape as number[]).slice(), begin, end });
  }
  // The tensors must tile the data block exactly: no overlap, no gap, nothing after the last.
  const sorted = infos.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const t of sorted) {
    if (t.begin < at) fail('overlap', `${t.name}: data_offsets [${t.begin}, ${t.end}] overlap the previous tensor, which ends at ${at}`);
    if (t.begin > at) fail('gap', `${t.name}: data_offsets begin at ${t.begin}, but the previous tensor ends at ${at} (${t.begin - at} bytes belong to no tensor)`);
    at = t.end;
  }
  if (at !== dataLen) fail('trailing-bytes', `the tensors cover ${at} of the ${dataLen} data bytes; ${dataLen - at} trailing bytes belong to no tensor`);
  const tensors: Record<string, SafetensorsEntry> = {};
  for (const t of infos) tensors[t.name] = { dtype: t.dtype, shape: t.shape, data: fromLE(bytes.subarray(dataStart + t.begin, dataStart + t.end), t.dtype) };
  return { tensors, metadata };
}

/**
 * { name: entry } → bytes, in the reference writer's layout (see the file comment). The
 * data's typed array must match its dtype (Float32Array for F32, Uint16Array bits for F16, …).
 */
export function encodeSafetensors(tensors: Record<string, SafetensorsEntry>, opts: { metadata?: Record<string, string> | null } = {}): Uint8Array {
  const OP = 'encodeSafetensors';
  const bad = (d: string): never => {
    throw new SafetensorsError(OP, 'bad-input', d);
  };
  if (tensors === null || typeof tensors !== 'object') bad(`expected an object of name → { dtype, shape, data }, got ${tensors === null ? 'null' : typeof tensors}`);
  const meta = opts.metadata ?? null;
  if (meta !== null) {
    if (typeof meta !== 'object' || Array.isArray(meta)) bad('metadata must be an object of string → string');
    for (const [k, v] of Object.entries(meta)) if (typeof v !== 'string') bad(`metadata.${k} is ${typeof v}, not a string`);
  }
  const names = Object.keys(tensors);
  for (const name of names) {
    const e = tensors[name];
    if (name === '__metadata__') bad('the name __metadata__ is reserved for the metadata');
    if (e === null || typeof e !== 'object') bad(`${name}: not an entry`);
    if (!isDtype(e.dtype)) bad(`${name}: unknown dtype ${JSON.stringify(e.dtype)} (known: ${SAFETENSORS_DTYPES.join(', ')})`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) bad(`${name}: shape must be an array of non-negative integers, got ${JSON.stringify(e.shape)}`);
    if (!(e.data instanceof TYPED[e.dtype])) bad(`${name}: ${e.dtype} data must be a ${TYPED[e.dtype].name}, got ${e.data?.constructor?.name ?? typeof e.data}`);
    if (e.data.length !== numel(e.shape)) bad(`${name}: shape ${JSON.stringify(e.shape)} needs ${numel(e.shape)} values, data has ${e.data.length}`);
  }
  // Rust: sort by (dtype descending, name ascending) — byte order of names, as Rust's String Ord
  const rank = (d: SafetensorsDType): number => SAFETENSORS_DTYPES.indexOf(d);
  const byteCmp = (a: string, b: string): number => {
    const x = new TextEncoder().encode(a);
    const y = new TextEncoder().encode(b);
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
    return x.length - y.length;
  };
  names.sort((a, b) => rank(tensors[b].dtype) - rank(tensors[a].dtype) || byteCmp(a, b));
  const parts: string[] = [];
  // Rust keeps metadata in a hash map (no defined order); here keys are sorted, so a file is reproducible
  if (meta !== null) parts.push(`"__metadata__":{${Object.keys(meta).sort(byteCmp).map((k) => `${JSON.stringify(k)}:${JSON.stringify(meta[k])}`).join(',')}}`);
  let at = 0;
  for (const name of names) {
    const e = tensors[name];
    const size = e.data.byteLength;
    parts.push(`${JSON.stringify(name)}:{"dtype":"${e.dtype}","shape":[${e.shape.join(',')}],"data_offsets":[${at},${at + size}]}`);
    at += size;
  }
  let header = new TextEncoder().encode(`{${parts.join(',')}}`);
  const pad = (8 - (header.length % 8)) % 8;
  if (pad) {
    const padded = new Uint8Array(header.length + pad).fill(0x20);
    padded.set(header);
    header = padded;
  }
  const out = new Uint8Array(8 + header.length + at);
  new DataView(out.buffer).setUint32(0, header.length, true); // high word stays 0: headers are < 4 GiB
  out.set(header, 8);
  let pos = 8 + header.length;
  for (const name of names) {
    const e = tensors[name];
    out.set(toLE(e.data, e.dtype), pos);
    pos += e.data.byteLength;
  }
  return out;
}

/** IEEE half → number. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** A floating entry's values as float64 (F64, F32, F16, BF16); other dtypes are refused by name. */
export function entryToFloat64(name: string, e: SafetensorsEntry): Float64Array {
  switch (e.dtype) {
    case 'F64': case 'F32': return Float64Array.from(e.data as Float32Array | Float64Array);
    case 'F16': return Float64Array.from(e.data as Uint16Array, halfToFloat);
    case 'BF16': {
      const bits = new Uint32Array(e.data.length);
      (e.data as Uint16Array).forEach((b, i) => (bits[i] = b << 16)); // bfloat16 is the top half of a float32
      return Float64Array.from(new Float32Array(bits.buffer));
    }
    default: throw new SafetensorsError('safetensors', 'unknown-dtype', `${name}: ${e.dtype} is not a floating dtype; weights load from F64, F32, F16 or BF16`);
  }
}
