import { Tensor, TensorError, add as addK, addInPlace, copyStrided, fillInPlace, ones, sameShape, scratchEmpty, shapeStr, zeros } from '@unfold/tensor';
import { ACCUMULATED, Deferred } from './op';
import { Tape, TapeRecord } from './tape';

/**
 * Adjoints ∂L/∂v keyed by value id. Contributions accumulate (`+=`): a value used many
 * times — a weight shared by every time step — receives the sum of its uses' adjoints.
 * The first contribution is stored as given (it may alias a dy that flowed through an add);
 * it is copied before anything is added into it, so no op's saved tensor is ever written.
 *
 * Scratch adjoints. A vjp may return an adjoint in a buffer marked Storage.scratch
 * (scratchEmpty: an arena block nothing else refers to). backward counts its holders — entries
 * here, and the dys and dxs of the op being walked — and gives the block back when the count
 * falls to zero: once the op it flowed into has run, or once it has been added into another
 * buffer. A pass-through (reshape's view, concat's slices) makes more holders of one block; a
 * block with a single holder may be added into in place.
 */
export class Adjoints {
  private map = new Map<number, { t: Tensor; owned: boolean }>();
  /** Contributions ops collect over several records (op.ts `Deferred`), by value id. */
  private pending = new Map<number, Deferred>();

  /**
   * `leaves`: buffers to write given values' adjoints into (a parameter's `.grad` of the last
   * step, reused), by value id; contiguous, of the value's shape and dtype. With them, every
   * other buffer made to add into is a zeroed scratch buffer, given back once consumed.
   */
  constructor(private readonly leaves?: ReadonlyMap<number, Tensor>) {}

  has(id: number): boolean {
    return this.map.has(id);
  }

  get(id: number): Tensor | undefined {
    this.settle(id);
    return this.map.get(id)?.t;
  }

  /** Removes and returns the adjoint (complete once backward reaches the value's producer). */
  take(id: number): Tensor | undefined {
    this.settle(id);
    const e = this.map.get(id);
    this.map.delete(id);
    return e?.t;
  }

  /** An owned, contiguous buffer holding the adjoint of `id` so far (zeros if none), to add into in place. */
  buffer(id: number, shape: readonly number[], dtype: Tensor['dtype']): Tensor {
    this.settle(id);
    const e = this.map.get(id);
    if (!e) {
      const leaf = this.leaves?.get(id);
      let t: Tensor;
      if (leaf) t = fillInPlace(leaf, 0);
      else if (this.leaves) {
        t = fillInPlace(scratchEmpty(shape, dtype), 0); // an intermediate's: given back once its producer's vjp has run
        hold(t);
      } else t = zeros(shape, dtype);
      this.map.set(id, { t, owned: true });
      return t;
    }
    // a scratch buffer this entry alone holds may be added into as it is
    if (!e.owned && soleHolder(e.t) && e.t.isContiguous()) e.owned = true;
    if (!e.owned || !e.t.isContiguous()) {
      const was = e.t;
      e.t = e.t.clone();
      e.owned = true;
      drop(was);
    }
    return e.t;
  }

  /** Adds dx into id's adjoint. A scratch dx passes its holder to the entry, or is dropped once added. */
  add(id: number, dx: Tensor): void {
    this.settle(id);
    const e = this.map.get(id);
    if (!e) {
      const leaf = this.leaves?.get(id);
      if (leaf) {
        // the first contribution written into the leaf's own buffer (a view, a transposed one too)
        copyStrided(dx.shape, dx.data, dx.offset, dx.strides, leaf.data, leaf.offset, leaf.strides);
        this.map.set(id, { t: leaf, owned: true });
        drop(dx);
      } else this.map.set(id, { t: dx, owned: false });
      return;
    }
    if (!e.owned && soleHolder(e.t)) e.owned = true; // add into it in place
    if (!e.owned) {
      const was = e.t;
      e.t = addK(e.t, dx); // the second contribution: one pass into a fresh buffer (not copy, then add)
      e.owned = true;
      drop(was);
      drop(dx);
      return;
    }
    addInPlace(e.t, dx);
    drop(dx);
  }

  /**
   * What outlives a backward pass — a leaf's gradient, an adjoint a caller reads — gets ordinary
   * memory of its own: entries still in scratch buffers become plain copies (their arena blocks
   * given back), and an entry that shares its buffer with an earlier one (add's vjp hands one dy
   * to both b_ih and b_hh of a folded bias) is copied, so that changing one gradient in place
   * (clipping) cannot change another.
   */
  settleScratch(): void {
    const seen = new Set<unknown>();
    for (const e of this.map.values()) {
      if (e.t.storage.scratch) {
        const was = e.t;
        e.t = was.clone();
        e.owned = true;
        drop(was);
      } else if (seen.has(e.t.storage)) {
        e.t = e.t.clone();
        e.owned = true;
      }
      seen.add(e.t.storage);
    }
  }

  ids(): number[] {
    return [...this.map.keys()];
  }

  /** The deferred accumulator of `id` for this pass, made with make(buffer) on first use. */
  defer<P extends Deferred>(id: number, shape: readonly number[], dtype: Tensor['dtype'], make: (buffer: Tensor) => P): P {
    const p = this.pending.get(id);
    if (p) return p as P;
    const made = make(this.buffer(id, shape, dtype));
    this.pending.set(id, made);
    return made;
  }

  /** Adds what was deferred for `id` (every id when none is given) into its buffer. */
  settle(id?: number): void {
    if (this.pending.size === 0) return;
    if (id === undefined) {
      for (const k of [...this.pending.keys()]) this.settle(k);
      return;
    }
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id); // first: flush() reads the buffer through this object again
    p.flush();
  }
}

// Holders of each scratch buffer in use (Storage.scratch): adjoint entries and the dys/dxs of
// the record being walked. A buffer is given back when its count falls to zero.
const holders = new WeakMap<object, number>();

/** Zeros in a scratch buffer (an arena block under the wasm backend, given back by drop). */
function scratchZeros(shape: readonly number[], dtype: Tensor['dtype']): Tensor {
  const z = scratchEmpty(shape, dtype);
  if (z.storage.scratch) fillInPlace(z, 0); // an arena block holds whatever it held; a fresh array is zeros
  return z;
}

/** One more holder of t's buffer (scratch only). */
function hold(t: Tensor): void {
  if (t.storage.scratch) holders.set(t.storage, (holders.get(t.storage) ?? 0) + 1);
}

/** One holder fewer; the last gives the block back. */
function drop(t: Tensor): void {
  const s = t.storage;
  if (!s.scratch) return;
  const n = (holders.get(s) ?? 1) - 1; // a scratch tensor nobody counted (a caller's seed) has one holder
  if (n > 0) holders.set(s, n);
  else {
    holders.delete(s);
    s.release();
  }
}

const soleHolder = (t: Tensor): boolean => t.storage.scratch && (holders.get(t.storage) ?? 1) === 1;

export interface BackwardOptions {
  /** Throw, naming the op and time step, as soon as a NaN or ±Inf adjoint appears. */
  checkNumerics?: boolean;
  /** Called for each record walked, with the adjoints that flowed into its outputs (for `unfold explain`). */
  onRecord?: (record: TapeRecord, index: number, dys: readonly Tensor[]) => void;
}

/**
 * THE backward pass: one reverse loop over records [from, to) of a tape.
 * For each record whose outputs have adjoints, call its vjp and add the results to its
 * inputs' adjoints. An output's adjoint is complete when the loop reaches its producer
 * (every consumer was recorded later), so it is taken out of the map there.
 */
export function backwardRecords(tape: Tape, from: number, to: number, adj: Adjoints, opts: BackwardOptions = {}): void {
  if (tape.released) {
    throw new TensorError('backward', 'this tape was already walked and its saved tensors released; record the computation again (or pass retain: true to the first backward)');
  }
  const accumulated = new Map<number, [TapeRecord, number]>(); // checkNumerics: id → last record that accumulated into it
  for (let i = to - 1; i >= from; i--) {
    const r = tape.entries[i];
    if (!r.outputs.some((o) => adj.has(o.id))) continue;
    if (i < tape.dropped) {
      throw new TensorError('backward', `record #${i} (${r.op}) was freed by truncation; it lies outside the k2 window`);
    }
    let dys = r.outputs.map((o) => adj.take(o.id) ?? (r.def.readsAdjointsOnly ? scratchZeros(o.shape, o.dtype) : zeros(o.shape, o.dtype)));
    if (opts.onRecord) {
      // a hook may keep what it is shown: scratch adjoints become plain copies first
      dys = dys.map((d) => {
        if (!d.storage.scratch) return d;
        const c = d.clone();
        drop(d);
        return c;
      });
      opts.onRecord(r, i, dys);
    }
    const needs = r.inputs.map((inp) => tape.isTrackedId(inp.id)); // constants need no adjoint
    const dxs = r.def.vjp(
      dys, r.saved, r.attrs, r.inputs, needs,
      (k) => adj.buffer(r.inputs[k].id, r.inputs[k].shape, r.inputs[k].dtype),
      (k, make) => adj.defer(r.inputs[k].id, r.inputs[k].shape, r.inputs[k].dtype, make),
    );
    if (dxs.length !== r.inputs.length) {
      throw new TensorError('backward', `vjp of ${r.op} returned ${dxs.length} adjoints for ${r.inputs.length} inputs`);
    }
    // every adjoint kept holds its buffer before the dys let go of theirs (a pass-through keeps it)
    for (let k = 0; k < dxs.length; k++) {
      const dx = dxs[k];
      if (dx instanceof Tensor && needs[k]) hold(dx);
    }
    for (const dy of dys) drop(dy);
    for (let k = 0; k < dxs.length; k++) {
      const dx = dxs[k];
      // an unneeded scratch adjoint nobody else holds goes back now
      if (dx instanceof Tensor && !needs[k] && dx.storage.scratch && !holders.has(dx.storage)) dx.storage.release();
    }
    for (let k = 0; k < dxs.length; k++) {
      const dx = dxs[k];
      if (dx === null || !needs[k]) continue;
      const inp = r.inputs[k];
      if (dx === ACCUMULATED) {
        // Checked once the pass is over: reading the adjoint now would settle what an op is
        // still collecting (Deferred), one record at a time.
        if (opts.checkNumerics) accumulated.set(inp.id, [r, k]);
        continue;
      }
      if (!sameShape(dx.shape, inp.shape) || dx.dtype !== inp.dtype) {
        throw new TensorError('backward', `vjp of ${r.op} returned ${shapeStr(dx.shape)} ${dx.dtype} for input ${k} of ${shapeStr(inp.shape)} ${inp.dtype}`);
      }
      if (opts.checkNumerics) assertFinite(dx, r, k);
      adj.add(inp.id, dx);
    }
  }
  adj.settle(); // every deferred contribution is in its buffer before anyone reads the adjoints
  adj.settleScratch();
  for (const [id, [r, k]] of accumulated) {
    const t = adj.get(id);
    if (t) assertFinite(t, r, k); // names the last record that added into it
  }
}

function assertFinite(dx: Tensor, r: TapeRecord, k: number): void {
  const c = dx.contiguous();
  const d = c.data;
  for (let i = c.offset, end = c.offset + c.size; i < end; i++) {
    if (!Number.isFinite(d[i])) {
      const where = r.step === undefined ? '' : ` at time step ${r.step}`;
      throw new TensorError('checkNumerics', `${d[i]} in the adjoint of input ${k} of ${r.op}${where}`);
    }
  }
}

/** Gradients by tensor: `get(w)` is ∂L/∂w, zeros when L does not depend on w (disconnected). */
export class Gradients {
  constructor(private readonly adj: Adjoints) {}

  get(t: Tensor): Tensor {
    const g = this.adj.get(t.id);
    // A plain contiguous tensor (an adjoint may be a transposed or broadcast view internally).
    return g ? g.contiguous() : zeros(t.shape, t.dtype);
  }

  /** Whether any path connects L to t. */
  connected(t: Tensor): boolean {
    return this.adj.has(t.id);
  }
}

export interface TapeBackwardOptions extends BackwardOptions {
  /** ∂L/∂y for a non-scalar y (required then); defaults to 1 for a scalar. */
  seed?: Tensor;
  /** Keep saved tensors so the tape can be walked again. */
  retain?: boolean;
  /** Report ∂L/∂v for these intermediate values (e.g. every hidden state h_t). */
  adjointsOf?: readonly Tensor[];
  onAdjoint?: (value: Tensor, adjoint: Tensor) => void;
  /**
   * Buffers to write the gradients of these tensors into (each contiguous, of its tensor's shape
   * and dtype; overwritten): a training loop passes last step's gradients so that no gradient
   * array is allocated per step. Every other buffer backward adds into is then a scratch one.
   */
  gradBuffers?: ReadonlyMap<Tensor, Tensor>;
}

/** Reverse-mode from y over the whole tape. Frees saved tensors afterwards unless `retain`. */
export function backward(tape: Tape, y: Tensor, opts: TapeBackwardOptions = {}): Gradients {
  if (!(y instanceof Tensor)) throw new TensorError('backward', `expected a Tensor to differentiate, got ${typeof y}`);
  let seed = opts.seed;
  if (seed === undefined) {
    if (y.size !== 1) {
      throw new TensorError('backward', `output has shape ${shapeStr(y.shape)}; a non-scalar output needs a seed (∂L/∂y) of that shape`);
    }
    seed = ones(y.shape, y.dtype);
  } else if (!sameShape(seed.shape, y.shape) || seed.dtype !== y.dtype) {
    throw new TensorError('backward', `seed ${shapeStr(seed.shape)} ${seed.dtype} does not match output ${shapeStr(y.shape)} ${y.dtype}`);
  }
  let leaves: Map<number, Tensor> | undefined;
  if (opts.gradBuffers) {
    leaves = new Map();
    for (const [t, b] of opts.gradBuffers) {
      if (!(t instanceof Tensor) || !(b instanceof Tensor)) throw new TensorError('backward', 'gradBuffers must map tensors to tensors');
      if (!sameShape(b.shape, t.shape) || b.dtype !== t.dtype || !b.isContiguous() || b.storage.released) {
        throw new TensorError('backward', `gradBuffers: the buffer for ${shapeStr(t.shape)} ${t.dtype} is ${shapeStr(b.shape)} ${b.dtype}${b.isContiguous() ? '' : ', not contiguous'}${b.storage.released ? ', released' : ''}`);
      }
      leaves.set(t.id, b);
    }
  }
  const adj = new Adjoints(leaves);
  adj.add(y.id, seed);
  const watched = opts.adjointsOf ? new Map(opts.adjointsOf.map((t) => [t.id, t])) : undefined;
  const onRecord = watched
    ? (r: TapeRecord, i: number, dys: readonly Tensor[]) => {
        r.outputs.forEach((o, k) => {
          const v = watched.get(o.id);
          if (v) opts.onAdjoint?.(v, dys[k]);
        });
        opts.onRecord?.(r, i, dys);
      }
    : opts.onRecord;
  backwardRecords(tape, 0, tape.entries.length, adj, { ...opts, onRecord });
  if (!opts.retain) tape.release();
  return new Gradients(adj);
}
