import { DType, TypedArray, allocArray, isDType } from './dtype';
import { TensorError, shapeStr } from './errors';
import { copyStrided } from './iter';
import { Shape, checkShape, contiguousStrides, denseLayout, normAxis, sameShape, sizeOf } from './shape';
import { Storage } from './storage';

/**
 * A scijs/ndarray view as far as Unfold reads one (structural: the package does not depend
 * on ndarray). `fromNdarray` takes any object of this shape.
 */
export interface NdarrayLike<D = unknown> {
  data: D;
  shape: number[];
  stride: number[];
  offset: number;
}

/** The `ndarray` package's default export: `(data, shape, stride, offset) → view`. Pass it to `toNdarray`. */
export type NdarrayFactory<N> = (data: TypedArray, shape: number[], stride: number[], offset: number) => N;

/** One entry of `slice`: an index (drops the axis), a range, or null for the whole axis. */
export type SliceSpec = number | null | undefined | { start?: number; stop?: number; step?: number };

/**
 * Two copies of @unfold/tensor in one program (npm's nested layout, a CJS and an ESM copy)
 * must not break `instanceof Tensor` or collide on tensor ids, which autodiff keys adjoints
 * by. So a Tensor carries a brand under a registry symbol (Symbol.for: the same symbol in
 * every copy and realm) that `instanceof` checks, ids come from one counter shared through
 * globalThis, and a second copy announces itself once on the console. The brand names the
 * layout version: a copy with another tensor layout would not match.
 */
const BRAND = Symbol.for('@unfold/tensor.Tensor/1');
const REGISTRY = Symbol.for('@unfold/tensor.copies');
interface Registry { ids: { next: number }; copies: number }
const g = globalThis as { [REGISTRY]?: Registry };
const registry: Registry = (g[REGISTRY] ??= { ids: { next: 1 }, copies: 0 });
if (++registry.copies === 2) {
  (globalThis as { console?: { warn(s: string): void } }).console?.warn(
    '@unfold/tensor: a second copy of the package is loaded (npm installed it twice, or both its CommonJS and ES module builds are in use); tensors pass between the copies, but each has its own wasm arena and backend settings — deduplicate (npm dedupe; one module format) to avoid copies',
  );
}
const ids = registry.ids;

/**
 * A tensor is a strided view over a Storage, exactly as in scijs/ndarray:
 *   element(i0, …, ik) = data[offset + Σ i_j · strides[j]]
 * reshape (when contiguous), permute/transpose, slice (with steps, negative too), squeeze,
 * unsqueeze and broadcastTo (stride 0) are O(rank) and share the storage; `contiguous()`
 * copies only when the view is not already row-major.
 * Tensors are values: kernels return new tensors; only the explicitly named `*InPlace`
 * kernels and `set` write into an existing one.
 */
export class Tensor {
  /** Unique per view (across copies of the package too), so autodiff can key adjoints by tensor. */
  readonly id: number = ids.next++;
  /** See BRAND: what `instanceof Tensor` checks. */
  static [Symbol.hasInstance](x: unknown): boolean {
    return typeof x === 'object' && x !== null && (x as { [BRAND]?: boolean })[BRAND] === true;
  }
  readonly shape: readonly number[];
  readonly strides: readonly number[];

  constructor(
    readonly storage: Storage,
    shape: Shape,
    strides?: Shape,
    readonly offset = 0,
  ) {
    this.shape = Object.freeze(shape.slice());
    this.strides = Object.freeze(strides ? strides.slice() : contiguousStrides(shape));
  }

  /** Wraps a typed array (no copy) as a contiguous tensor of the given shape. */
  static fromArray(data: TypedArray, shape: Shape): Tensor {
    const s = checkShape('tensor', shape);
    if (sizeOf(s) !== data.length) {
      throw new TensorError('tensor', `shape ${shapeStr(s)} needs ${sizeOf(s)} elements, data has ${data.length}`);
    }
    return new Tensor(new Storage(data), s);
  }

  static empty(shape: Shape, dtype: DType = 'float32'): Tensor {
    const s = checkShape('empty', shape);
    if (!isDType(dtype)) throw new TensorError('empty', `unknown dtype ${String(dtype)}`);
    return new Tensor(Storage.alloc(dtype, sizeOf(s)), s);
  }

  /** Wraps an ndarray view without copying (its data must be a Float32Array or Float64Array). */
  static fromNdarray(a: NdarrayLike): Tensor {
    const data = a.data as unknown;
    if (!(data instanceof Float32Array || data instanceof Float64Array)) {
      throw new TensorError('fromNdarray', 'ndarray data must be a Float32Array or Float64Array');
    }
    return new Tensor(new Storage(data), a.shape, a.stride, a.offset);
  }

  get data(): TypedArray {
    return this.storage.data;
  }
  get dtype(): DType {
    return this.storage.dtype;
  }
  get rank(): number {
    return this.shape.length;
  }
  get size(): number {
    return sizeOf(this.shape);
  }

  /**
   * The same view as an ndarray (no copy), made by the `ndarray` package's factory that you
   * pass (`t.toNdarray(ndarray)`), so ndarray-ops and scijs code can work on it; without
   * one, a plain `{ data, shape, stride, offset }` view that `fromNdarray` reads back.
   */
  toNdarray<N = NdarrayLike<TypedArray>>(factory?: NdarrayFactory<N>): N {
    if (factory === undefined) return { data: this.data, shape: this.shape.slice(), stride: this.strides.slice(), offset: this.offset } as N;
    if (typeof factory !== 'function') throw new TensorError('toNdarray', `expected the ndarray factory function, got ${typeof factory}`);
    return factory(this.data, this.shape.slice(), this.strides.slice(), this.offset);
  }

  /** Row-major with unit last stride (size-1 axes may have any stride). */
  isContiguous(): boolean {
    return denseLayout(this.shape, this.strides);
  }

  /** This tensor if already contiguous, otherwise a contiguous copy. */
  contiguous(): Tensor {
    return this.isContiguous() ? this : this.clone();
  }

  /** A contiguous copy with its own storage (offset 0). */
  clone(): Tensor {
    const out = Tensor.empty(this.shape, this.dtype);
    copyStrided(this.shape, this.data, this.offset, this.strides, out.data, 0, out.strides);
    return out;
  }

  /** A copy in another dtype (or this tensor when the dtype already matches). */
  astype(dtype: DType): Tensor {
    if (!isDType(dtype)) throw new TensorError('astype', `unknown dtype ${String(dtype)}`);
    if (dtype === this.dtype) return this;
    const out = Tensor.empty(this.shape, dtype);
    copyStrided(this.shape, this.data, this.offset, this.strides, out.data, 0, out.strides);
    return out;
  }

  /** Same elements, new shape; one dimension may be -1. A view when contiguous, else a copy. */
  reshape(shape: readonly number[]): Tensor {
    const dims = shape.slice();
    const neg = dims.filter((d) => d === -1).length;
    if (neg > 1) throw new TensorError('reshape', `only one dimension may be -1, got ${shapeStr(shape)}`);
    const known = dims.filter((d) => d !== -1);
    checkShape('reshape', known);
    if (neg === 1) {
      const k = sizeOf(known);
      if (k === 0 || this.size % k !== 0) {
        throw new TensorError('reshape', `cannot reshape ${shapeStr(this.shape)} (size ${this.size}) into ${shapeStr(shape)}`);
      }
      dims[dims.indexOf(-1)] = this.size / k;
    }
    if (sizeOf(dims) !== this.size) {
      throw new TensorError('reshape', `cannot reshape ${shapeStr(this.shape)} (size ${this.size}) into ${shapeStr(shape)}`);
    }
    const src = this.contiguous();
    return new Tensor(src.storage, dims, contiguousStrides(dims), src.offset);
  }

  /** Reorders axes: out.shape[i] = this.shape[axes[i]]. O(rank), no copy. */
  permute(axes: readonly number[]): Tensor {
    if (axes.length !== this.rank) {
      throw new TensorError('permute', `expected ${this.rank} axes for shape ${shapeStr(this.shape)}, got [${axes.join(',')}]`);
    }
    const ax = axes.map((a) => normAxis('permute', a, this.rank));
    if (new Set(ax).size !== ax.length) throw new TensorError('permute', `axes [${axes.join(',')}] are not a permutation`);
    return new Tensor(
      this.storage,
      ax.map((a) => this.shape[a]),
      ax.map((a) => this.strides[a]),
      this.offset,
    );
  }

  /** With no arguments, swaps the last two axes (a matrix transpose); otherwise swaps a and b. */
  transpose(a = -2, b = -1): Tensor {
    if (this.rank < 2 && arguments.length === 0) return this;
    const i = normAxis('transpose', a, this.rank);
    const j = normAxis('transpose', b, this.rank);
    const axes = Array.from({ length: this.rank }, (_, k) => k);
    axes[i] = j;
    axes[j] = i;
    return this.permute(axes);
  }

  /**
   * NumPy-style basic slicing, one spec per leading axis (missing trailing specs take the
   * whole axis): a number selects one index and drops the axis; `{start, stop, step}` is a
   * range with Python semantics (negative indices count from the end, negative steps walk
   * backwards, bounds are clamped). Always a view.
   */
  slice(...specs: SliceSpec[]): Tensor {
    if (specs.length > this.rank) {
      throw new TensorError('slice', `${specs.length} indices for shape ${shapeStr(this.shape)} of rank ${this.rank}`);
    }
    const shape: number[] = [];
    const strides: number[] = [];
    let offset = this.offset;
    for (let ax = 0; ax < this.rank; ax++) {
      const spec = specs[ax];
      const dim = this.shape[ax];
      const st = this.strides[ax];
      if (spec === null || spec === undefined) {
        shape.push(dim);
        strides.push(st);
      } else if (typeof spec === 'number') {
        if (!Number.isInteger(spec) || spec < -dim || spec >= dim) {
          throw new TensorError('slice', `index ${spec} is out of range for axis ${ax} of size ${dim} in ${shapeStr(this.shape)}`);
        }
        offset += (spec < 0 ? spec + dim : spec) * st;
      } else {
        const step = spec.step ?? 1;
        if (!Number.isInteger(step) || step === 0) throw new TensorError('slice', `step must be a non-zero integer, got ${step}`);
        for (const v of [spec.start, spec.stop]) {
          if (v !== undefined && !Number.isInteger(v)) throw new TensorError('slice', `bounds must be integers, got ${v}`);
        }
        // Python's slice.indices(): clamp into range according to the step's sign.
        const clamp = (v: number | undefined, dflt: number, lo: number, hi: number): number => {
          if (v === undefined) return dflt;
          if (v < 0) v += dim;
          return Math.min(Math.max(v, lo), hi);
        };
        let start: number, stop: number;
        if (step > 0) {
          start = clamp(spec.start, 0, 0, dim);
          stop = clamp(spec.stop, dim, 0, dim);
        } else {
          start = clamp(spec.start, dim - 1, -1, dim - 1);
          stop = clamp(spec.stop, -1, -1, dim - 1);
        }
        const len = step > 0 ? Math.max(0, Math.ceil((stop - start) / step)) : Math.max(0, Math.ceil((start - stop) / -step));
        if (len > 0) offset += start * st;
        shape.push(len);
        strides.push(st * step);
      }
    }
    return new Tensor(this.storage, shape, strides, offset);
  }

  /** The slice [start, start+length) along one axis (a view). */
  narrow(axis: number, start: number, length: number): Tensor {
    const ax = normAxis('narrow', axis, this.rank);
    if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 || start + length > this.shape[ax]) {
      throw new TensorError('narrow', `range [${start}, ${start + length}) is out of bounds for axis ${ax} of size ${this.shape[ax]}`);
    }
    const specs: SliceSpec[] = new Array(ax).fill(null);
    specs.push({ start, stop: start + length });
    return this.slice(...specs);
  }

  /** Drops the given size-1 axis, or all size-1 axes. */
  squeeze(axis?: number): Tensor {
    let keep: number[];
    if (axis === undefined) {
      keep = this.shape.map((_, i) => i).filter((i) => this.shape[i] !== 1);
    } else {
      const ax = normAxis('squeeze', axis, this.rank);
      if (this.shape[ax] !== 1) throw new TensorError('squeeze', `axis ${axis} of ${shapeStr(this.shape)} has size ${this.shape[ax]}, not 1`);
      keep = this.shape.map((_, i) => i).filter((i) => i !== ax);
    }
    return new Tensor(this.storage, keep.map((i) => this.shape[i]), keep.map((i) => this.strides[i]), this.offset);
  }

  /** Inserts a size-1 axis at `axis` (in the output's numbering, so -1 appends). */
  unsqueeze(axis: number): Tensor {
    const ax = normAxis('unsqueeze', axis, this.rank + 1);
    const shape = this.shape.slice();
    const strides = this.strides.slice();
    shape.splice(ax, 0, 1);
    strides.splice(ax, 0, ax < this.rank ? this.strides[ax] * this.shape[ax] : 1);
    return new Tensor(this.storage, shape, strides, this.offset);
  }

  /** NumPy broadcast_to: a read-only-in-spirit view with stride 0 on broadcast axes. */
  broadcastTo(shape: readonly number[]): Tensor {
    const target = checkShape('broadcastTo', shape);
    if (target.length < this.rank) {
      throw new TensorError('broadcastTo', `cannot broadcast ${shapeStr(this.shape)} to lower rank ${shapeStr(target)}`);
    }
    if (sameShape(target, this.shape)) return this;
    const lead = target.length - this.rank;
    const strides = new Array<number>(target.length).fill(0);
    for (let i = 0; i < this.rank; i++) {
      const d = this.shape[i];
      if (d === target[lead + i]) strides[lead + i] = this.strides[i];
      else if (d === 1) strides[lead + i] = 0;
      else throw new TensorError('broadcastTo', `cannot broadcast ${shapeStr(this.shape)} to ${shapeStr(target)} (axis ${i}: ${d} vs ${target[lead + i]})`);
    }
    return new Tensor(this.storage, target, strides, this.offset);
  }

  private flatIndex(op: string, idx: readonly number[]): number {
    if (idx.length !== this.rank) throw new TensorError(op, `expected ${this.rank} indices for ${shapeStr(this.shape)}, got ${idx.length}`);
    let o = this.offset;
    for (let i = 0; i < idx.length; i++) {
      let k = idx[i];
      const d = this.shape[i];
      if (!Number.isInteger(k) || k < -d || k >= d) throw new TensorError(op, `index ${k} is out of range for axis ${i} of size ${d}`);
      if (k < 0) k += d;
      o += k * this.strides[i];
    }
    return o;
  }

  get(...idx: number[]): number {
    return this.data[this.flatIndex('get', idx)];
  }

  set(value: number, ...idx: number[]): void {
    this.data[this.flatIndex('set', idx)] = value;
  }

  /** The single element of a size-1 tensor. */
  item(): number {
    if (this.size !== 1) throw new TensorError('item', `only size-1 tensors have an item, got ${shapeStr(this.shape)}`);
    return this.data[this.offset];
  }

  /** Elements in row-major order as a plain array (copies). */
  toFlatArray(): number[] {
    const c = this.contiguous();
    return Array.from(c.data.subarray(c.offset, c.offset + c.size));
  }

  /** Row-major elements in a fresh typed array of this dtype. */
  toTypedArray(): TypedArray {
    const out = allocArray(this.dtype, this.size);
    copyStrided(this.shape, this.data, this.offset, this.strides, out, 0, contiguousStrides(this.shape));
    return out;
  }

  /** Nested arrays (a number for rank 0). */
  toArray(): unknown {
    const flat = this.toFlatArray();
    if (this.rank === 0) return flat[0];
    let pos = 0;
    const build = (ax: number): unknown[] => {
      const out: unknown[] = [];
      for (let i = 0; i < this.shape[ax]; i++) out.push(ax === this.rank - 1 ? flat[pos++] : build(ax + 1));
      return out;
    };
    return build(0);
  }

  toString(): string {
    const head = `Tensor${shapeStr(this.shape)} ${this.dtype}`;
    if (this.size > 64) return head;
    const fmt = (v: unknown): string => (Array.isArray(v) ? `[${v.map(fmt).join(', ')}]` : Number(v).toPrecision(4));
    return `${head} ${fmt(this.toArray())}`;
  }
}
Object.defineProperty(Tensor.prototype, BRAND, { value: true });
