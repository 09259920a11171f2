import { Tensor, TensorError, shapeStr } from '@unfold/tensor';
import { OpDef, ValueRef, refOf } from './op';

/**
 * One entry of the tape, a plain record:
 *   %out = op(%in…)   with the tensors it saved for backward and the time step it ran in.
 */
export interface TapeRecord {
  readonly op: string;
  readonly inputs: readonly ValueRef[];
  readonly outputs: readonly ValueRef[];
  /** Tensors kept alive for backward; emptied when the tape is released. */
  saved: Tensor[];
  readonly attrs: unknown;
  /** The time step (0-based) this record ran in, when inside `unroll`/`bptt`. */
  readonly step?: number;
  /** The op's definition (for its vjp). */
  readonly def: OpDef<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * The tape: a flat array of records in execution order, and the set of value ids that
 * depend on a watched tensor (only ops touching such a value are recorded).
 * Backward (see backward.ts) is one reverse loop over `entries`.
 */
export class Tape {
  readonly entries: TapeRecord[] = [];
  private tracked = new Set<number>();
  /** Current time step, stamped on every record pushed while it is set. */
  step: number | undefined = undefined;
  /** False inside `noGrad`. */
  recording = true;
  /** Set after a backward that freed the saved tensors. */
  released = false;
  /** Records before this index were dropped (truncated BPTT frees old steps). */
  dropped = 0;
  /**
   * Called with every input of every op run while this tape is active and recording, tracked
   * or not: lets a caller notice a tensor it expected to be watched (computeGradients uses it to
   * name a parameter that fn uses but the model does not own, which would get no gradient).
   */
  onInput: ((t: Tensor) => void) | undefined = undefined;
  /**
   * When set, the tape owns the intermediate values recorded ops produce in buffers of their
   * own (outputs an op allocated as Storage.transient because `tapeOwnsOutputs()` said so) and
   * gives them back with its saved tensors in `release()`: after backward, reading such an
   * output throws. For a caller that consumes everything inside the recorded function (a
   * model's training step); off by default, so outputs stay readable after backward.
   */
  ownsOutputs = false;
  /** Outputs the tape owns (ownsOutputs), released with the saved tensors. */
  private owned: Tensor[] = [];

  /** Marks tensors as differentiable inputs: ops that use them get recorded. */
  watch(...ts: Tensor[]): void {
    for (const t of ts) this.tracked.add(t.id);
  }

  isTracked(t: Tensor): boolean {
    return this.tracked.has(t.id);
  }

  isTrackedId(id: number): boolean {
    return this.tracked.has(id);
  }

  push(def: OpDef<any>, inputs: readonly Tensor[], outputs: readonly Tensor[], saved: Tensor[], attrs: unknown): void { // eslint-disable-line @typescript-eslint/no-explicit-any
    if (this.released) throw new TensorError('tape', 'cannot record on a tape whose saved tensors were released by backward');
    this.entries.push({ op: def.name, inputs: inputs.map(refOf), outputs: outputs.map(refOf), saved, attrs, step: this.step, def });
    for (const o of outputs) {
      this.tracked.add(o.id);
      if (this.ownsOutputs && o.storage.transient) this.owned.push(o);
    }
  }

  /** Runs fn with this tape active (ops record onto it). Nested tapes stack. */
  run<T>(fn: () => T): T {
    tapeStack.push(this);
    try {
      return fn();
    } finally {
      tapeStack.pop();
    }
  }

  /** Bytes held by saved tensors (each storage counted once). */
  savedBytes(): number {
    const seen = new Set<unknown>();
    let bytes = 0;
    for (const r of this.entries) {
      for (const s of r.saved) {
        if (seen.has(s.storage)) continue;
        seen.add(s.storage);
        bytes += s.storage.length * (s.dtype === 'float64' ? 8 : 4);
      }
    }
    return bytes;
  }

  /** Frees the saved tensors of records [0, index) (truncated BPTT forgets old steps). */
  dropBefore(index: number): void {
    for (let i = 0; i < index && i < this.entries.length; i++) {
      releaseTransient(this.entries[i].saved);
      this.entries[i].saved = [];
    }
    this.dropped = Math.max(this.dropped, index);
  }

  /** Frees every saved tensor; a later backward over this tape throws. */
  release(): void {
    for (const r of this.entries) {
      releaseTransient(r.saved);
      r.saved = [];
    }
    releaseTransient(this.owned);
    this.owned = [];
    this.released = true;
  }

  /**
   * One line per record: `#4   t=2   %7[1,2] = tanh(%6[1,2])  saved 1 (0.0 KiB)`.
   * Values are numbered %0, %1, … in order of first appearance on this tape (not by global
   * tensor id), so the same computation always prints the same text.
   */
  toString(): string {
    const names = new Map<number, number>();
    return this.entries.map((r, i) => formatRecord(r, i, names)).join('\n');
  }
}

/** `%n[shape]`; with `names`, n is the value's local number (assigned on first sight). */
export function formatValue(v: ValueRef, names?: Map<number, number>): string {
  let n = v.id;
  if (names) {
    if (!names.has(v.id)) names.set(v.id, names.size);
    n = names.get(v.id)!;
  }
  return `%${n}${shapeStr(v.shape)}`;
}

export function formatRecord(r: TapeRecord, i: number, names?: Map<number, number>): string {
  const step = r.step === undefined ? '     ' : `t=${String(r.step).padEnd(3)}`;
  const ins = r.inputs.map((v) => formatValue(v, names)).join(', ');
  const outs = r.outputs.map((v) => formatValue(v, names)).join(', ');
  const bytes = r.saved.reduce((a, s) => a + s.size * (s.dtype === 'float64' ? 8 : 4), 0);
  const size = bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KiB`;
  const saved = r.saved.length ? `  saved ${r.saved.length} (${size})` : '';
  return `#${String(i).padEnd(4)} ${step} ${outs} = ${r.op}(${ins})${saved}`;
}

/**
 * Gives back the buffers an op allocated only for its own backward (Storage.transient: in the
 * wasm arena these are blocks that would otherwise wait for garbage collection).
 */
function releaseTransient(saved: readonly Tensor[]): void {
  for (const t of saved) if (t.storage.transient) t.storage.release();
}

const tapeStack: Tape[] = [];

/** The innermost active tape, if any. */
export function activeTape(): Tape | undefined {
  return tapeStack[tapeStack.length - 1];
}

/**
 * Whether an op about to be recorded may put an output in a buffer the tape gives back
 * (Storage.transient; see Tape.ownsOutputs): true only on a recording tape that owns outputs.
 * An op that is not recorded must not ask for one (it would wait for garbage collection).
 */
export function tapeOwnsOutputs(): boolean {
  const t = activeTape();
  return t !== undefined && t.recording && t.ownsOutputs;
}

/**
 * Runs an op: forward through its kernels, and a record on the active tape when any input is
 * tracked. This is the only place records are created.
 */
export function apply<A>(def: OpDef<A>, inputs: readonly Tensor[], attrs: A): Tensor[] {
  const { outputs, saved } = def.forward(inputs, attrs);
  // An op must never hand back its input object itself: ids name values on the tape.
  for (let k = 0; k < outputs.length; k++) {
    const o = outputs[k];
    if (inputs.includes(o)) outputs[k] = new Tensor(o.storage, o.shape, o.strides, o.offset);
  }
  const tape = activeTape();
  if (tape && tape.recording && tape.onInput) for (const t of inputs) tape.onInput(t);
  if (tape && tape.recording && inputs.some((t) => tape.isTracked(t))) tape.push(def, inputs, outputs, saved, attrs);
  else releaseTransient(saved); // not recorded: nothing will ever read the op's own saved buffers
  return outputs;
}

/** apply() for the common single-output op. */
export function apply1<A>(def: OpDef<A>, inputs: readonly Tensor[], attrs: A): Tensor {
  return apply(def, inputs, attrs)[0];
}

/** Runs fn without recording (inference, optimizer updates, gradient checks' probes). */
export function noGrad<T>(fn: () => T): T {
  const tape = activeTape();
  if (!tape) return fn();
  const was = tape.recording;
  tape.recording = false;
  try {
    return fn();
  } finally {
    tape.recording = was;
  }
}

/** The same values as a new, untracked tensor (a view: no copy). Gradients stop here. */
export function detach(x: Tensor): Tensor {
  return new Tensor(x.storage, x.shape, x.strides, x.offset);
}
