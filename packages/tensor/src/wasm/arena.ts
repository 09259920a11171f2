import { TensorError } from '../errors';
import { Storage } from '../storage';

/**
 * The wasm arena: one WebAssembly.Memory that every wasm kernel module imports, and a
 * block allocator over it, so that float32 tensors can live where the kernels read them and
 * no copy happens per call.
 *
 * Memory. Shared (`shared: true`, maximum 2 GiB) when the runtime allows it, so that worker
 * threads can map the same memory (./pool.ts). Growing a shared memory does not detach the
 * old SharedArrayBuffer: a Float32Array made before a grow stays valid and keeps seeing the
 * same bytes, so views handed out never go stale. Without shared memory (no
 * SharedArrayBuffer) the memory is ordinary and a grow detaches every view: WasmStorage
 * re-makes its view on the next access.
 *
 * Allocator. Blocks are multiples of 64 bytes (a cache line; also 16-byte SIMD alignment),
 * handed out from exact-size free lists first (an RNN allocates the same few sizes every
 * step, so reuse is nearly perfect), then from the top of the arena, growing the memory.
 * When the top would pass MAX_BYTES, or free space is large next to what is live, the free
 * blocks are coalesced and the smallest one that fits is split. Running out is a
 * TensorError naming the request and what is held. Address [0, RESERVED) is never handed
 * out: kernels use it for spills, and 0 is never a valid block.
 */

export const PAGE = 65536;
/** Byte addresses stay below 2 GiB so element indices (×4) and signed strides fit in i32. */
export const MAX_BYTES = 2 ** 31;
export const MAX_PAGES = MAX_BYTES / PAGE;
export const ALIGN = 64;
/** Bytes at address 0 kept for kernels (edge-tile spills, one 1 KiB slot per thread). */
export const RESERVED = 4096;

// Minimal typing of the global: the project's lib is ES2022, which has no WebAssembly.
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}
interface MemoryCtor {
  new (desc: { initial: number; maximum?: number; shared?: boolean }): WasmMemory;
}
const MemoryClass = (globalThis as { WebAssembly?: { Memory: MemoryCtor } }).WebAssembly?.Memory;

export interface ArenaStats {
  /** Current size of the memory in bytes. */
  capacityBytes: number;
  /** Bytes in blocks handed out and not freed. */
  liveBytes: number;
  liveBlocks: number;
  /** Bytes in freed blocks waiting for reuse. */
  freeBytes: number;
  /** Highest liveBytes seen. */
  peakBytes: number;
  /** Whether the memory is shared (worker threads possible). */
  shared: boolean;
  /** Upper limit of the arena in bytes. */
  maxBytes: number;
}

let memory: WasmMemory | null = null;
let shared = false;
/** Every ArrayBuffer the memory has had (one per grow): a typed array over any of them is in the arena. */
const buffers = new Set<ArrayBufferLike>();
let top = RESERVED;
let maxBytes = MAX_BYTES;
const live = new Map<number, number>(); // byte offset → block size
const free = new Map<number, number[]>(); // block size → byte offsets
let freeBytes = 0;
let liveBytes = 0;
let peakBytes = 0;

/** The arena's memory, created on first use. */
export function arenaMemory(): WasmMemory {
  if (memory !== null) return memory;
  if (MemoryClass === undefined) throw new TensorError('arena', 'this runtime has no WebAssembly global');
  // Shared only where the runtime exposes SharedArrayBuffer (Node; a cross-origin-isolated
  // page). An ordinary page hides the global but may still hand out a shared memory: asking
  // for one there gives memory that the non-shared kernel modules cannot import and that no
  // worker can receive, so it is not asked for. Sharedness is read from the buffer's tag,
  // which is right even where the SharedArrayBuffer global is hidden.
  const wantShared = typeof SharedArrayBuffer !== 'undefined';
  try {
    memory = wantShared ? new MemoryClass({ initial: 16, maximum: MAX_PAGES, shared: true }) : new MemoryClass({ initial: 16, maximum: MAX_PAGES });
  } catch {
    memory = new MemoryClass({ initial: 16, maximum: MAX_PAGES });
  }
  shared = isSharedBuffer(memory.buffer);
  buffers.add(memory.buffer);
  return memory;
}

/** A SharedArrayBuffer by its tag (not instanceof: the global may be hidden while the object exists). */
export function isSharedBuffer(b: ArrayBufferLike): boolean {
  return Object.prototype.toString.call(b) === '[object SharedArrayBuffer]';
}

export function arenaIsShared(): boolean {
  arenaMemory();
  return shared;
}

/**
 * Byte address of `a` in the arena, or −1 when `a` is not a view of the arena's memory — or is
 * a view a grow of a non-shared memory detached (its byteOffset would read as 0).
 */
export function addressOf(a: ArrayBufferView): number {
  return buffers.has(a.buffer) && a.buffer.byteLength !== 0 ? a.byteOffset : -1;
}

/** A Float32Array over the whole arena as it is now (re-take it after anything that may grow). */
export function heapF32(): Float32Array {
  return new Float32Array(arenaMemory().buffer);
}

const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;
const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;

function growTo(bytes: number): void {
  const mem = arenaMemory();
  const have = mem.buffer.byteLength;
  if (bytes <= have) return;
  // Geometric growth (×1.5) so a run of allocations costs a logarithmic number of grows.
  const want = Math.min(MAX_BYTES, Math.max(bytes, Math.floor(have * 1.5)));
  mem.grow(Math.ceil((want - have) / PAGE));
  buffers.add(mem.buffer);
}

function pushFree(off: number, size: number): void {
  let list = free.get(size);
  if (list === undefined) free.set(size, (list = []));
  list.push(off);
  freeBytes += size;
}

/** Merges adjacent free blocks, lowers `top` past a free block that ends there, rebuilds the lists. */
function coalesce(): void {
  const blocks: [number, number][] = [];
  for (const [size, offs] of free) for (const o of offs) blocks.push([o, size]);
  blocks.sort((a, b) => a[0] - b[0]);
  free.clear();
  freeBytes = 0;
  const merged: [number, number][] = [];
  for (const [o, s] of blocks) {
    const last = merged[merged.length - 1];
    if (last && last[0] + last[1] === o) last[1] += s;
    else merged.push([o, s]);
  }
  const end = merged[merged.length - 1];
  if (end && end[0] + end[1] === top) {
    top = end[0];
    merged.pop();
  }
  for (const [o, s] of merged) pushFree(o, s);
}

/** Smallest free block ≥ size, split; −1 when none. */
function bestFit(size: number): number {
  let bestSize = Infinity;
  for (const s of free.keys()) if (s >= size && s < bestSize && (free.get(s) as number[]).length) bestSize = s;
  if (bestSize === Infinity) return -1;
  const off = (free.get(bestSize) as number[]).pop() as number;
  freeBytes -= bestSize;
  if (bestSize > size) pushFree(off + size, bestSize - size);
  return off;
}

function take(off: number, size: number): number {
  live.set(off, size);
  liveBytes += size;
  if (liveBytes > peakBytes) peakBytes = liveBytes;
  return off;
}

/** Allocates `bytes` (rounded up to 64) in the arena; returns the byte address. Contents are not cleared. */
export function arenaAlloc(bytes: number): number {
  if (!Number.isInteger(bytes) || bytes < 0) throw new TensorError('arena', `cannot allocate ${bytes} bytes`);
  arenaMemory();
  const size = roundUp(Math.max(bytes, 1), ALIGN);
  const exact = free.get(size);
  if (exact !== undefined && exact.length) {
    freeBytes -= size;
    return take(exact.pop() as number, size);
  }
  // Lots of free space next to what is live: reuse it before growing.
  if (freeBytes >= size && freeBytes > liveBytes) {
    coalesce();
    const off = bestFit(size);
    if (off >= 0) return take(off, size);
  }
  if (top + size > maxBytes) {
    coalesce();
    const off = bestFit(size);
    if (off >= 0) return take(off, size);
    if (top + size > maxBytes) {
      throw new TensorError(
        'arena',
        `out of memory: requested ${bytes} bytes (${mib(bytes)}); the arena holds ${mib(liveBytes)} in ${live.size} live blocks ` +
          `and ${mib(freeBytes)} free in pieces too small, limit ${mib(maxBytes)}. Release tensors you no longer need, or use UNFOLD_BACKEND=js`,
      );
    }
  }
  growTo(top + size);
  const off = top;
  top += size;
  return take(off, size);
}

/** Returns a block to the arena. Freeing an address that is not a live block is an error. */
export function arenaFree(off: number): void {
  const size = live.get(off);
  if (size === undefined) throw new TensorError('arena', `free of address ${off}: not a live block (double free?)`);
  live.delete(off);
  liveBytes -= size;
  if (off + size === top) top = off; // the most recent block: give the space straight back
  else pushFree(off, size);
}

export function arenaStats(): ArenaStats {
  return {
    capacityBytes: memory ? memory.buffer.byteLength : 0,
    liveBytes,
    liveBlocks: live.size,
    freeBytes,
    peakBytes,
    shared: memory ? shared : false,
    maxBytes,
  };
}

/**
 * Lowers the arena's limit (tests of the out-of-memory path); `undefined` restores 2 GiB.
 * Never below what is already in use.
 */
export function setArenaLimit(bytes?: number): void {
  maxBytes = Math.max(top, Math.min(MAX_BYTES, bytes ?? MAX_BYTES));
}

/**
 * Blocks of WasmStorage never released explicitly go back when their view is collected
 * (a callback that runs between tasks, after a garbage collection: in a long synchronous
 * loop that is late, which is why ops release their saved buffers through the tape).
 */
interface Registry {
  register(target: object, held: number, token: object): void;
  unregister(token: object): void;
}
const Finalizer = (globalThis as { FinalizationRegistry?: new (cb: (held: number) => void) => Registry }).FinalizationRegistry;
const collected: Registry | null =
  Finalizer === undefined
    ? null
    : new Finalizer((off) => {
        if (live.has(off)) arenaFree(off);
      });

/**
 * Float32 storage inside the arena. `release()` gives the block back at once (and any later
 * read through a tensor on it throws, as for every Storage); storage that is never released
 * stays allocated for the life of the process, so use it for long-lived tensors (weights)
 * and for tensors with an owner that releases them (the tape releases the `transient`
 * buffers ops save for backward).
 */
export class WasmStorage extends Storage {
  readonly byteOffset: number;
  private view: Float32Array;

  constructor(length: number) {
    const off = arenaAlloc(4 * length);
    const view = new Float32Array(arenaMemory().buffer, off, length);
    super(view);
    this.byteOffset = off;
    this.view = view;
    // On a shared memory the view is never re-made, so once it is unreachable nothing can
    // read the block any more: the collector may give it back (never before, even if this
    // Storage goes first while someone still holds `t.data`).
    if (shared && collected !== null) collected.register(view, off, this);
  }

  override get data(): Float32Array {
    if (this.released) throw new TensorError('storage', 'tensor used after its buffer was released (wasm arena block)');
    // A non-shared memory detaches old views on grow (length becomes 0): re-make the view.
    if (this.view.length !== this.length) this.view = new Float32Array(arenaMemory().buffer, this.byteOffset, this.length);
    return this.view;
  }

  override release(): void {
    if (this.released) return;
    super.release();
    if (collected !== null) collected.unregister(this);
    arenaFree(this.byteOffset);
  }
}
