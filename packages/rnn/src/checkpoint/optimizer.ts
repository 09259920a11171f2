import { Tensor } from '@unfold/tensor';
import { OptimizerState } from '../optim/optimizer';
import { Checkpoint, CheckpointError } from './format';

/**
 * An optimizer's state inside a checkpoint: its buffers become tensors named
 * `<key>/<buffer>` (e.g. `optimizer/exp_avg.weight_ih_l0`) and its metadata goes to
 * meta[<key>] = { kind, step, hyper, paramSteps, buffers: [buffer names] }.
 */
export interface OptimizerMeta {
  kind: string;
  step: number;
  hyper: Record<string, unknown>;
  paramSteps: Record<string, number>;
  buffers: string[];
}

/** A new checkpoint: `ckpt` plus the optimizer state under `key` (no tensors are copied). */
export function packOptimizerState(ckpt: Checkpoint, state: OptimizerState, key = 'optimizer'): Checkpoint {
  const op = 'packOptimizerState';
  if (key in ckpt.meta) throw new CheckpointError(op, 'invalid-input', `meta already has a '${key}' entry`);
  const tensors: Record<string, Tensor> = { ...ckpt.tensors };
  const names = Object.keys(state.buffers);
  for (const b of names) {
    const name = `${key}/${b}`;
    if (name in tensors) throw new CheckpointError(op, 'invalid-input', `tensor name '${name}' is already taken`);
    tensors[name] = state.buffers[b];
  }
  const meta: OptimizerMeta = { kind: state.kind, step: state.step, hyper: state.hyper, paramSteps: { ...state.paramSteps }, buffers: names };
  return { tensors, meta: { ...ckpt.meta, [key]: meta } };
}

/** The optimizer state stored under `key`; pass it to `optimizer.loadStateDict`, which validates it against the parameters. */
export function unpackOptimizerState(ckpt: Checkpoint, key = 'optimizer'): OptimizerState {
  const op = 'unpackOptimizerState';
  const m = ckpt.meta[key] as OptimizerMeta | undefined;
  if (m === null || typeof m !== 'object') throw new CheckpointError(op, 'bad-manifest', `meta has no '${key}' object`);
  if (!Array.isArray(m.buffers)) throw new CheckpointError(op, 'bad-manifest', `meta.${key}.buffers must be an array of buffer names`);
  const buffers: Record<string, Tensor> = {};
  for (const b of m.buffers) {
    const t = ckpt.tensors[`${key}/${b}`];
    if (t === undefined) throw new CheckpointError(op, 'bad-manifest', `meta.${key} lists buffer '${b}' but tensor '${key}/${b}' is absent`);
    buffers[b] = t;
  }
  return { kind: m.kind as OptimizerState['kind'], step: m.step, hyper: m.hyper as OptimizerState['hyper'], paramSteps: { ...m.paramSteps }, buffers };
}
