// The Node side of the JSON-lines protocol with benchmarks/python/torch_server.py: array
// encodings (base64 of little-endian float32 / int32), the messages, and the reading of torch's
// build configuration. Pure functions: the tests use them without Python.
import { StateDict } from '../workloads';

export interface WireArray {
  shape: number[];
  /** base64 of the little-endian float32 values */
  data: string;
}

/** Float32Array / Int32Array → base64 of its bytes (x86 and wasm are little-endian; so is the Python side's frombuffer). */
export function toBase64(a: Float32Array | Int32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

function bytes(s: string, what: string): Buffer {
  const b = Buffer.from(s, 'base64');
  if (b.length % 4 !== 0) throw new Error(`torch protocol: ${what} has ${b.length} bytes, not a whole number of 4-byte values`);
  return b;
}

export function float32FromBase64(s: string, what = 'array'): Float32Array {
  const b = bytes(s, what);
  const out = new Float32Array(b.length / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

export function int32FromBase64(s: string, what = 'array'): Int32Array {
  const b = bytes(s, what);
  const out = new Int32Array(b.length / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

export function encodeStateDict(sd: StateDict): Record<string, WireArray> {
  const out: Record<string, WireArray> = {};
  for (const [n, v] of Object.entries(sd)) out[n] = { shape: [...v.shape], data: toBase64(v.data) };
  return out;
}

export function decodeStateDict(w: Record<string, WireArray>): StateDict {
  const out: StateDict = {};
  for (const [n, v] of Object.entries(w)) {
    const data = float32FromBase64(v.data, n);
    const size = v.shape.reduce((a, b) => a * b, 1);
    if (data.length !== size) throw new Error(`torch protocol: ${n} has ${data.length} values for shape [${v.shape.join(', ')}] (${size})`);
    out[n] = { shape: [...v.shape], data };
  }
  return out;
}

/** What the server says about itself (`hello`). */
export interface Hello {
  torch: string;
  python: string;
  executable: string;
  threads: number;
  interopThreads: number;
  /** torch.__config__.show() */
  config: string;
  parallel: string;
  blas: {
    mapped: string[];
    resolved: Record<string, string>;
    openblasConfig?: string;
    openblasCore?: string;
    openblasThreads?: number;
    env: Record<string, string>;
  };
}

/** Settings named in the `Build settings:` line of torch.__config__.show(), e.g. BLAS_INFO=generic. */
export function buildSettings(config: string): Record<string, string> {
  const out: Record<string, string> = {};
  const line = config.split('\n').find((l) => l.includes('Build settings:'));
  if (!line) return out;
  // KEY=value pairs separated by ", "; CXX_FLAGS holds spaces but no ", " followed by KEY=
  for (const part of line.slice(line.indexOf('Build settings:') + 'Build settings:'.length).split(/,\s+(?=[A-Z][A-Z0-9_]*=)/)) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim().replace(/,\s*$/, '');
  }
  return out;
}

/**
 * One line naming the BLAS torch runs on: what its build says (BLAS_INFO; "generic" means it
 * links the system libblas.so.3, which Debian's alternatives point at a provider) and which
 * library is actually mapped into the process after a matmul, with OpenBLAS's own config string.
 */
export function describeBlas(h: Hello): string {
  const s = buildSettings(h.config);
  const info = s.BLAS_INFO ?? '?';
  const libblas = h.blas.mapped.find((p) => /\/libblas\.so/.test(p));
  const mkl = h.blas.mapped.find((p) => /mkl/.test(p));
  const provider = h.blas.openblasConfig
    ? `${h.blas.openblasConfig}${h.blas.openblasCore ? ` (core ${h.blas.openblasCore})` : ''}`
    : mkl
      ? `MKL (${mkl})`
      : libblas
        ? /openblas/.test(h.blas.resolved[libblas] ?? libblas) ? 'OpenBLAS' : `reference BLAS? (${h.blas.resolved[libblas] ?? libblas})`
        : 'no BLAS library found mapped in the process';
  const env = Object.entries(h.blas.env).filter(([k]) => k.startsWith('OPENBLAS')).map(([k, v]) => `${k}=${v}`);
  return `BLAS_INFO=${info}; libblas.so.3 → ${libblas ? h.blas.resolved[libblas] ?? libblas : '—'}; ${provider}${env.length ? `; env ${env.join(' ')}` : ''}`;
}
