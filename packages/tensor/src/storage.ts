import { DType, TypedArray, allocArray, dtypeOf } from './dtype';
import { TensorError } from './errors';

/**
 * Where a tensor's elements live. A Storage hands out its typed array through the `data`
 * getter, never as a field, for two reasons:
 *  - a released storage (its buffer given back to a pool or arena) throws on access
 *    instead of letting a stale view read someone else's numbers;
 *  - a storage inside a growable `WebAssembly.Memory` can rebuild its view after
 *    `memory.grow` detaches the old ArrayBuffer (see `WasmStorage` in the wasm backend).
 * Plain JS storage, below, simply owns a typed array.
 */
export class Storage {
  private buf: TypedArray | null;
  readonly dtype: DType;
  readonly length: number;
  /**
   * Set on a buffer an op allocated only to save for its backward (nothing else refers to
   * it): the tape releases such buffers when it frees its records, which gives arena blocks
   * back at once instead of at garbage collection.
   */
  transient = false;
  /**
   * Set on a buffer with a single holder that gives it back once it has read it: the adjoints
   * some ops' vector–Jacobian products return, which autodiff's backward releases as soon as
   * the op that consumes them has run (so a training step reuses its arena blocks instead of
   * allocating them afresh).
   */
  scratch = false;

  constructor(data: TypedArray) {
    this.buf = data;
    this.dtype = dtypeOf(data);
    this.length = data.length;
  }

  static alloc(dtype: DType, length: number): Storage {
    return new Storage(allocArray(dtype, length));
  }

  get data(): TypedArray {
    if (this.buf === null) throw new TensorError('storage', 'tensor used after its buffer was released');
    return this.buf;
  }

  get released(): boolean {
    return this.buf === null;
  }

  /** Drops the buffer. Any later read through a tensor on this storage throws. */
  release(): void {
    this.buf = null;
  }
}
