import { Tensor } from '@unfold/tensor';
import { JsonObject } from '../checkpoint';

/**
 * What `fit` trains on. A task owns its data and its batching; `fit` owns the loop, the
 * optimizer, clipping, schedules, validation, early stopping and checkpoints.
 *  - `next(step)` gives the training batch for this step and whether the carried recurrent
 *    state must be reset before it (new epoch, new sequence length, non-stateful task);
 *  - `loss(batch, state)` records the forward pass (on the tape `fit` opened) and returns the
 *    scalar loss and the state to carry into the next batch (detached by `fit`);
 *  - `validate()` gives the validation loss (no tape);
 *  - `getState`/`setState` make a checkpointed run resume bit-identically.
 */
export interface Task<B = unknown, S = unknown> {
  readonly name: string;
  /** Loss units for reports: 'nats/char' for a language model. */
  readonly unit: string;
  next(step: number): { batch: B; resetState: boolean; epoch: number };
  loss(batch: B, state: S | undefined): { loss: Tensor; state?: S };
  /**
   * True when loss() returns only the loss and the state to carry, every other value it makes
   * being consumed inside it: `fit` then lets the tape give back the fused layers' output
   * buffers after backward (computeGradients' releaseIntermediates).
   */
  readonly releasesIntermediates?: boolean;
  detachState?(state: S): S;
  validate?(): number;
  getState(): JsonObject;
  setState(s: JsonObject): void;
}
