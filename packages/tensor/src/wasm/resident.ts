import { DType } from '../dtype';
import { TensorError, shapeStr } from '../errors';
import { Shape, checkShape, sizeOf } from '../shape';
import { Storage } from '../storage';
import { Tensor } from '../tensor';
import { WasmStorage, addressOf, arenaIsShared } from './arena';
import { wasmActive } from './backend';

/**
 * Tensors whose elements live in the wasm arena (./arena.ts). The kernels address them in
 * place, so an operand here costs no copy per call. Everything else about them is ordinary:
 * `t.data` is a Float32Array (a view of the arena), views, ndarray and every JS kernel work.
 * They are float32 only; their block is freed by `t.storage.release()` (after which any read
 * throws) and is otherwise held for the life of the process.
 */

/**
 * Whether library code should put tensors in the arena by itself (weights, saved buffers): only
 * when float32 work goes to wasm and the memory is shared. A non-shared memory detaches every
 * view when it grows, and kernels hold `t.data` across calls that may grow it; there the
 * library keeps its own tensors in JS memory and stages operands per call instead.
 */
export function residentPays(): boolean {
  return wasmActive() && arenaIsShared();
}

/** A contiguous float32 tensor in the arena, contents unspecified (not zeroed). */
export function residentEmpty(shape: Shape): Tensor {
  const s = checkShape('residentEmpty', shape);
  return new Tensor(new WasmStorage(sizeOf(s)), s);
}

/** A contiguous copy of `t` in the arena (float32 only). */
export function toResident(t: Tensor): Tensor {
  if (t.dtype !== 'float32') throw new TensorError('toResident', `${shapeStr(t.shape)} is ${t.dtype}; the wasm arena holds float32 only`);
  const r = residentEmpty(t.shape);
  if (t.isContiguous()) r.data.set(t.data.subarray(t.offset, t.offset + t.size));
  else r.data.set(t.toFlatArray());
  return r;
}

/** Whether `t`'s elements are in the arena. A released tensor throws, as for any read. */
export function isResident(t: Tensor): boolean {
  return addressOf(t.data) >= 0;
}

/**
 * A buffer an op allocates only to save for its own backward (Storage.transient): in the
 * arena when the dtype is float32 and the wasm backend is active, a plain array otherwise.
 * The tape releases it when it frees the op's record (or at once when nothing records).
 * Contents unspecified.
 */
export function transientEmpty(shape: Shape, dtype: DType): Tensor {
  const s = checkShape('transientEmpty', shape);
  const storage = dtype === 'float32' && residentPays() ? new WasmStorage(sizeOf(s)) : Storage.alloc(dtype, sizeOf(s));
  storage.transient = true;
  return new Tensor(storage, s);
}

/**
 * A buffer with one holder that releases it when done (Storage.scratch): in the arena when the
 * dtype is float32 and the wasm backend is active (then marked scratch), a plain unmarked array
 * otherwise, which garbage collection takes back. Contents unspecified.
 */
export function scratchEmpty(shape: Shape, dtype: DType): Tensor {
  const s = checkShape('scratchEmpty', shape);
  if (dtype !== 'float32' || !residentPays()) return new Tensor(Storage.alloc(dtype, sizeOf(s)), s);
  const storage = new WasmStorage(sizeOf(s));
  storage.scratch = true;
  return new Tensor(storage, s);
}
