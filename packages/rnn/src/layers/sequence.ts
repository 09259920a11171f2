import { Tensor, recurrence, withPackedOperand } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { activeTape, apply } from '@unfold/autodiff';
import { CellKind, CellState } from '../cells/spec';
import { recurrentSequenceOp } from './sequence-op';
import { zeroConstant } from './zero-state';

/**
 * When a recurrent layer runs a direction as one `recurrentSequence` record (sequence-op.ts)
 * instead of one fused cell record per step.
 *
 * The per-step path stays the teaching and reference path, and is used whenever per-step
 * adjoints may be asked for: inside `unroll`/`bptt` (the active tape has a current step, so
 * `onStateGrad`, gradient-flow tools and `explain` see every step), for the composed cells
 * (`fused: false`), and when switched off with `setSequenceKernels(false)`.
 */
let enabled = true;

/** Turns the whole-sequence kernels on or off for every layer; returns the previous setting. */
export function setSequenceKernels(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

export function sequenceKernelsApply(fused: boolean): boolean {
  if (!enabled || !fused) return false;
  const tape = activeTape();
  return !tape || tape.step === undefined;
}

interface Weights {
  wih: Tensor;
  whh: Tensor;
  bih: Tensor | null;
  bhh: Tensor | null;
}

/**
 * One direction of one layer through the sequence op: the input projection for all T steps
 * as one GEMM inside the op (or, for one-hot input, one row gather from W_ihᵀ + bias), then the recurrence.
 * lengths: the examples' valid lengths [B] (checked by the layer), or null.
 */
export function runDirectionSequence(
  kind: CellKind, seq: Tensor | null, ids: ArrayLike<number> | null, T: number, B: number,
  w: Weights, reverse: boolean, state0: CellState, lengths: Int32Array | null,
): { output: Tensor; final: CellState } {
  const GH = w.wih.shape[0];
  // as the per-step path: LSTM and RNN fold b_hh into the projection's bias; GRU keeps it inside
  const fold = kind !== 'gru' && w.bhh !== null;
  const bias = fold && w.bih ? ad.add(w.bih, w.bhh!) : fold ? w.bhh : w.bih; // [G·H]
  // float32 on the wasm recurrence kernels: one-hot rows are looked up inside the loop (attrs.ids)
  const wasm = w.whh.dtype === 'float32' && recurrence() !== null;
  // recorded exactly when apply() will push a record (an input is tracked): otherwise nothing needs saving
  const tape = activeTape();
  const save = tape !== undefined && tape.recording && [seq, w.wih, w.whh, w.bih, w.bhh, ...state0].some((t) => t !== null && tape.isTracked(t));
  let xp: Tensor; // [T, B, G·H], or with ids the table [I, G·H], or dense: x [T, B, I]
  let idRows: Int32Array | null = null;
  let table: { bias: boolean } | null = null;
  if (ids && wasm) {
    // the op writes the table W_ihᵀ + bias into its workspace itself (and, recorded, sends its
    // adjoint on to W_ih and the bias in backward)
    xp = w.wih;
    idRows = Int32Array.from(ids);
    table = { bias: bias !== null };
  } else if (ids) {
    // the table W_ihᵀ + bias as tensors: when recorded, its gradient reaches W_ih and the bias
    const tab = bias ? ad.add(ad.permute(w.wih, [1, 0]), bias) : ad.permute(w.wih, [1, 0]); // [I, G·H]
    if (wasm) {
      xp = tab;
      idRows = Int32Array.from(ids);
    } else xp = ad.reshape(ad.gather(tab, Int32Array.from(ids)), [T, B, GH]);
  } else {
    xp = seq!; // dense: the projection x·W_ihᵀ + bias runs inside the op (sequence-dense.ts)
  }
  // (a view stays as it is: Tensor.contiguous() would copy it off the tape; the op reads any layout)
  const inputs = [idRows || !ids ? xp : xp.contiguous(), ...state0, w.whh, ...(kind === 'gru' && w.bhh ? [w.bhh] : [])];
  if (kind === 'gru' && !w.bhh) {
    // the op takes b_hh for GRU: a constant zero bias when the layer has none
    inputs.push(zeroConstant('bhh', [GH], w.whh.dtype));
  }
  const dense = ids ? null : { bias: bias !== null };
  if (dense) inputs.push(w.wih, ...(bias ? [bias] : []));
  if (table && bias) inputs.push(bias);
  const call = () => apply(recurrentSequenceOp, inputs, { kind, reverse, lengths, save, ids: idRows, dense, table });
  // the JS-driven loop reads W_hhᵀ packed once for its T GEMMs; the wasm recurrence packs its own
  const outs = wasm ? call() : withPackedOperand(w.whh, true, call);
  return { output: outs[0], final: outs.slice(1) };
}
