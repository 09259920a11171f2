import { DType, Tensor, TensorError, isDType, tensor } from '@unfold/tensor';
import { Module } from '../nn/module';
import { SafetensorsEntry, SafetensorsError, decodeSafetensors, encodeSafetensors, entryToFloat64 } from './safetensors';

/**
 * A module's state dict as one safetensors file, under PyTorch's parameter names
 * (`rnn.weight_ih_l0`, `fc.bias`, …), so that `safetensors.torch.load_file` + torch's
 * `load_state_dict` take it as it is, and a PyTorch-written file loads here.
 */

/** name → Tensor → { name: F32/F64 entry } (row-major copies). */
export function tensorsToSafetensors(sd: Record<string, Tensor>, opts: { dtype?: DType } = {}): Record<string, SafetensorsEntry> {
  if (opts.dtype !== undefined && !isDType(opts.dtype)) throw new TensorError('saveSafetensors', `dtype must be float32 or float64, got ${String(opts.dtype)}`);
  const out: Record<string, SafetensorsEntry> = {};
  for (const [n, t] of Object.entries(sd)) {
    if (!(t instanceof Tensor)) throw new SafetensorsError('saveSafetensors', 'bad-input', `${n}: not a Tensor`);
    const dtype = opts.dtype ?? t.dtype;
    const flat = t.toTypedArray();
    out[n] = dtype === 'float32' ? { dtype: 'F32', shape: t.shape.slice(), data: Float32Array.from(flat) } : { dtype: 'F64', shape: t.shape.slice(), data: Float64Array.from(flat) };
  }
  return out;
}

/**
 * A module (or a name → Tensor record) → safetensors bytes. Each tensor is written in its own
 * dtype unless `dtype` says otherwise; `metadata` goes in `__metadata__` (strings only).
 */
export function saveSafetensors(m: Module | Record<string, Tensor>, opts: { dtype?: DType; metadata?: Record<string, string> } = {}): Uint8Array {
  const sd = m instanceof Module ? m.stateDict() : m;
  return encodeSafetensors(tensorsToSafetensors(sd, opts), { metadata: opts.metadata ?? null });
}

/** safetensors bytes → name → Tensor (floating dtypes; F16/BF16 widened), and the metadata. */
export function readSafetensors(bytes: Uint8Array, opts: { dtype?: DType } = {}): { tensors: Record<string, Tensor>; metadata: Record<string, string> | null } {
  const dtype = opts.dtype ?? 'float32';
  if (!isDType(dtype)) throw new TensorError('readSafetensors', `dtype must be float32 or float64, got ${String(dtype)}`);
  const f = decodeSafetensors(bytes);
  const tensors: Record<string, Tensor> = {};
  for (const [n, e] of Object.entries(f.tensors)) {
    const v = entryToFloat64(n, e);
    tensors[n] = tensor(v, e.shape, dtype);
  }
  return { tensors, metadata: f.metadata };
}

/**
 * Loads safetensors bytes into a module: the whole file is decoded and checked first, then
 * `loadStateDict` checks names and shapes against the module — any problem throws and
 * nothing is written. Returns the file's metadata.
 */
export function loadSafetensors(m: Module, bytes: Uint8Array): Record<string, string> | null {
  if (!(m instanceof Module)) throw new TensorError('loadSafetensors', 'first argument must be a Module');
  const f = decodeSafetensors(bytes);
  const sd: Record<string, { shape: number[]; data: Float64Array }> = {};
  for (const [n, e] of Object.entries(f.tensors)) sd[n] = { shape: e.shape, data: entryToFloat64(n, e) };
  m.loadStateDict(sd);
  return f.metadata;
}
