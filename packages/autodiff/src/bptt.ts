/**
 * Backpropagation through time, written out.
 *
 * A recurrent model applies the same step f with the same weights θ at every time step:
 *
 *     h_t = f(h_{t-1}, x_t; θ)          t = 1 … T,  h_0 given
 *     L   = Σ_t L_t(h_t)                 (a loss read out at some or all steps)
 *
 * Unrolled, this is one deep feed-forward graph with T copies of f sharing θ. Reverse mode on
 * it is BPTT. The adjoint of each hidden state obeys a backward recurrence:
 *
 *     ∂L/∂h_t = ∂L_t/∂h_t  +  (∂h_{t+1}/∂h_t)ᵀ · ∂L/∂h_{t+1}          (∂L/∂h_{T+1} = 0)
 *               └ direct ┘    └──────── carried: "dhNext" ────────┘
 *
 * and θ's gradient is the sum of every step's contribution, ∂L/∂θ = Σ_t (∂h_t/∂θ)ᵀ ∂L/∂h_t.
 * Unrolling the recurrence, the loss at step t reaches h_k (k < t) through the product
 *
 *     ∂h_t/∂h_k = Π_{j=k+1..t} ∂h_j/∂h_{j-1},   for a vanilla RNN  ∂h_j/∂h_{j-1} = diag(1 − h_j²) W_hh
 *
 * whose norm behaves like ‖W_hh‖ᵗ⁻ᵏ times the tanh slopes (≤ 1): it vanishes geometrically when
 * the largest singular value of W_hh is below 1 (or the units saturate) and can explode when it
 * is above. LSTM and GRU replace the product by an additive path through the cell state,
 * c_t = f_t ⊙ c_{t-1} + …, whose Jacobian is diag(f_t): close to the identity while the forget
 * gate is open, so gradients survive over long spans. Clipping bounds exploding steps.
 *
 * Truncated BPTT (k1, k2): every k1 steps, backpropagate the losses of those k1 steps through
 * at most the last k2 steps, then update. The state is carried forward (forward pass never
 * truncated) but gradients stop at h_{t−k2}: dependencies longer than k2 cannot be learned.
 * Only k2 steps of the tape are kept, so memory is O(k2) instead of O(T).
 * k1 = k2 = T is full BPTT.
 * With k1 < k2 and an optimizer applied in `onUpdate`, the older steps a later window walks
 * back over were recorded with the weights of their time: their saved activations are from
 * the old weights, while ops that saved the weight tensor itself (matmul, the fused cells)
 * read it as updated in place. This is the usual online approximation of BPTT(k2; k1); for
 * an exact window, recompute the overlap as CharLMTask (packages/rnn) does.
 *
 * In code below: the forward loop over t records each step on the tape, tagged with t; the
 * reverse loop over t walks each step's records backwards (backwardRecords), carrying dhNext.
 */
import { Tensor, TensorError, ones, shapeStr, zeros } from '@unfold/tensor';
import { Adjoints, backwardRecords } from './backward';
import { Tape, activeTape, detach } from './tape';

/** The recurrent state: [h] for RNN/GRU, [h, c] for LSTM, or one entry per layer and kind for stacks. */
export type State = Tensor[];

/** What one step returns: the next state, and optionally this step's scalar loss L_t. */
export interface StepResult {
  state: State;
  loss?: Tensor;
}

export type StepFn = (state: State, x: Tensor, t: number) => State | StepResult;

function asResult(r: State | StepResult): StepResult {
  return Array.isArray(r) ? { state: r } : r;
}

/** One recorded step: where its records sit on the tape, and the states going in and out. */
export interface StepSegment {
  t: number;
  start: number;
  end: number;
  hIn: State;
  hOut: State;
  loss?: Tensor;
}

function checkState(op: string, prev: State, next: State, t: number): void {
  if (!Array.isArray(next) || next.length !== prev.length) {
    throw new TensorError(op, `step ${t} returned a state of ${Array.isArray(next) ? next.length : typeof next} tensors, expected ${prev.length}`);
  }
  next.forEach((h, k) => {
    if (!(h instanceof Tensor) || h.shape.join() !== prev[k].shape.join()) {
      throw new TensorError(op, `step ${t} returned state[${k}] of shape ${h instanceof Tensor ? shapeStr(h.shape) : typeof h}, expected ${shapeStr(prev[k].shape)}`);
    }
  });
}

/** Runs step t on the tape (records tagged with t) and returns its segment. */
function recordStep(tape: Tape, step: StepFn, state: State, x: Tensor, t: number, op: string): StepSegment {
  const start = tape.entries.length;
  const outer = tape.step;
  tape.step = t;
  let r: StepResult;
  try {
    r = asResult(tape.run(() => step(state, x, t)));
  } finally {
    tape.step = outer;
  }
  checkState(op, state, r.state, t);
  return { t, start, end: tape.entries.length, hIn: state, hOut: r.state, loss: r.loss };
}

function timeSlices(op: string, xs: Tensor[] | Tensor): Tensor[] {
  if (xs instanceof Tensor) {
    if (xs.rank < 1) throw new TensorError(op, `xs must be [T, …], got ${shapeStr(xs.shape)}`);
    return Array.from({ length: xs.shape[0] }, (_, t) => xs.slice(t));
  }
  return xs;
}

/**
 * unroll(step, state0, xs): runs the step over T = xs.length time steps on the active tape
 * (or a fresh one, if none is active), tagging every record with its time step t = 1…T. Returns h_1…h_T, the
 * per-step losses and the segments, for a caller that does its own backward (tape.backward,
 * with `adjointsOf: states` to observe ∂L/∂h_t).
 */
export function unroll(step: StepFn, state0: State, xs: Tensor[] | Tensor, tape: Tape = activeTape() ?? new Tape()): { states: State[]; losses: (Tensor | undefined)[]; segments: StepSegment[]; tape: Tape } {
  const seq = timeSlices('unroll', xs);
  const segments: StepSegment[] = [];
  let state = state0;
  for (let t = 1; t <= seq.length; t++) {
    const seg = recordStep(tape, step, state, seq[t - 1], t, 'unroll');
    segments.push(seg);
    state = seg.hOut;
  }
  return { states: segments.map((s) => s.hOut), losses: segments.map((s) => s.loss), segments, tape };
}

export interface BpttOptions {
  /** Weights shared by every step; their gradients are accumulated over time. */
  params: Tensor[];
  step: StepFn;
  state0: State;
  /** x_1 … x_T: an array, or a tensor whose first axis is time. */
  xs: Tensor[] | Tensor;
  /** Steps between updates (default T: one backward at the end). */
  k1?: number;
  /** Steps backpropagated per update (default T: full BPTT). */
  k2?: number;
  /** Called after each backward window with ∂L_window/∂θ (in `params` order); apply the optimizer here. */
  onUpdate?: (grads: Tensor[], info: { t: number; loss: number }) => void;
  /** Called during the reverse walk with ∂L/∂h_t (the complete adjoint of the state after step t). */
  onStateGrad?: (t: number, dh: State) => void;
  checkNumerics?: boolean;
}

export interface BpttResult {
  /** Σ_t L_t over all steps. */
  loss: number;
  /** The gradients of the last window (of the whole sequence for full BPTT). */
  grads: Tensor[];
  /** ∂L/∂h_0 of the last window (zeros when truncation stopped before h_0). */
  dState0: State;
  /** h_T, detached: carry it into the next batch of a stream. */
  finalState: State;
  updates: number;
  /** Largest number of bytes held by saved tensors on the tape at any time. */
  peakSavedBytes: number;
}

export function bptt(opts: BpttOptions): BpttResult {
  const seq = timeSlices('bptt', opts.xs);
  const T = seq.length;
  const k1 = opts.k1 ?? T;
  const k2 = opts.k2 ?? T;
  for (const [name, k] of [['k1', k1], ['k2', k2]] as const) {
    if (!Number.isInteger(k) || k < 1) throw new TensorError('bptt', `${name} must be a positive integer, got ${k}`);
  }
  if (k1 > k2) throw new TensorError('bptt', `k1 (${k1}) must not exceed k2 (${k2}): every loss must be backpropagated at least through its own window`);
  if (T === 0) throw new TensorError('bptt', 'xs is empty (T = 0)');

  const tape = new Tape();
  tape.watch(...opts.params, ...opts.state0);
  const steps: StepSegment[] = []; // steps[t] for t = 1…T (index 0 unused)
  let state = opts.state0;
  let total = 0;
  let updates = 0;
  let grads: Tensor[] = opts.params.map((p) => zeros(p.shape, p.dtype));
  let dState0: State = opts.state0.map((h) => zeros(h.shape, h.dtype));
  let peak = 0;
  let lastUpdate = 0; // the step at which the previous window ended

  // ---- forward: t = 1 … T ------------------------------------------------------------
  for (let t = 1; t <= T; t++) {
    const seg = recordStep(tape, opts.step, state, seq[t - 1], t, 'bptt');
    steps[t] = seg;
    state = seg.hOut;
    if (seg.loss) {
      if (seg.loss.size !== 1) throw new TensorError('bptt', `step ${t} returned a loss of shape ${shapeStr(seg.loss.shape)}; a step's loss must be a scalar`);
      total += seg.loss.item();
    }
    peak = Math.max(peak, tape.savedBytes());

    if (t % k1 === 0 || t === T) {
      // ---- backward: t = tEnd … tStart, carrying dhNext ------------------------------
      // This window optimises the losses of its new steps (lastUpdate, tEnd] and walks back
      // k2 − k1 steps further (tEnd − k2 + 1 for a full window of k1 new steps).
      const tEnd = t;
      const lossFrom = lastUpdate + 1;
      const tStart = Math.max(1, lossFrom - (k2 - k1));
      const adj = new Adjoints();
      let dhNext: State | null = null; // ∂L/∂h_t arriving from step t+1
      let windowLoss = 0;
      for (let s = tEnd; s >= tStart; s--) {
        const seg = steps[s];
        // carried part: (∂h_{s+1}/∂h_s)ᵀ ∂L/∂h_{s+1}, computed by step s+1's walk
        if (dhNext) seg.hOut.forEach((h, k) => adj.add(h.id, dhNext![k]));
        // direct part: this step's own loss, seeded with ∂L/∂L_s = 1
        if (seg.loss && s >= lossFrom) {
          adj.add(seg.loss.id, ones(seg.loss.shape, seg.loss.dtype));
          windowLoss += seg.loss.item();
        }
        // ∂L/∂h_s is complete when the walk reaches the op that produced h_s
        const dh: (Tensor | undefined)[] = seg.hOut.map(() => undefined);
        const outIds = seg.hOut.map((h) => h.id);
        backwardRecords(tape, seg.start, seg.end, adj, {
          checkNumerics: opts.checkNumerics,
          onRecord: opts.onStateGrad
            ? (r, _i, dys) => r.outputs.forEach((o, k) => { const j = outIds.indexOf(o.id); if (j >= 0) dh[j] = dys[k]; })
            : undefined,
        });
        if (opts.onStateGrad) {
          // A state passed through unchanged (not produced in this step) keeps its carried adjoint.
          opts.onStateGrad(s, seg.hOut.map((h, k) => dh[k] ?? adj.get(h.id) ?? dhNext?.[k] ?? zeros(h.shape, h.dtype)));
        }
        // what flows into step s−1: ∂L/∂h_{s−1}, the adjoint of this step's input state
        dhNext = seg.hIn.map((h) => adj.take(h.id) ?? zeros(h.shape, h.dtype));
      }
      // Truncation: dhNext at h_{tStart−1} is dropped here unless tStart = 1.
      dState0 = tStart === 1 && dhNext ? dhNext : opts.state0.map((h) => zeros(h.shape, h.dtype));
      grads = opts.params.map((p) => adj.get(p.id) ?? zeros(p.shape, p.dtype));
      updates++;
      opts.onUpdate?.(grads, { t: tEnd, loss: windowLoss });

      lastUpdate = tEnd;
      // Forget what the next window will not reach: it walks back to tEnd + 1 − (k2 − k1).
      const keepFrom = Math.max(1, tEnd + 1 - (k2 - k1));
      tape.dropBefore(keepFrom > tEnd ? tape.entries.length : steps[keepFrom].start);
      for (let s = 1; s < keepFrom; s++) delete steps[s];
    }
  }
  return { loss: total, grads, dState0, finalState: state.map(detach), updates, peakSavedBytes: peak };
}
