import { DType, Rng, Tensor, TensorError, ones, shapeStr, withPackedOperand, zeros } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { detach, unroll } from '@unfold/autodiff';
import { CellKind, CellState, GATES, STATES, cellStep } from '../cells';
import { Module } from '../nn/module';
import { Param } from '../optim/param';
import { orthogonal, uniformRange, xavierUniform, identityInit } from '../nn/init';
import { RecurrentOptions, checkRecurrentOptions, warnRecurrentOptions } from './options';
import { checkOptions } from '../options';
import { Extended, extendedStep, mergeDirections, needsComposed, penalty, resolveExtended } from './extended';
import { runDirectionSequence, sequenceKernelsApply } from './sequence';
import { zeroConstant } from './zero-state';

export interface RecurrentInput {
  /** Initial state [L·D, B, H] per state kind (h, and c for LSTM); zeros when absent. */
  h0?: Tensor;
  c0?: Tensor;
  /** Per-example valid lengths (integers 0…T): past its length an example's state is frozen and its outputs are 0. */
  lengths?: ArrayLike<number>;
}

export interface RecurrentOutput {
  /** Every step's top-layer hidden state: [T, B, D·H] ([B, T, D·H] when batchFirst). */
  output: Tensor;
  /** Final hidden state per layer and direction: [L·D, B, H] (at each example's own length). */
  hN: Tensor;
  /** LSTM only: final cell state [L·D, B, H]. */
  cN?: Tensor;
}

export interface DirectionWeights {
  wih: Tensor; // [G·H, In]
  whh: Tensor; // [G·H, H] ([4H, P] with projSize)
  bih: Tensor | null; // [G·H]
  bhh: Tensor | null; // [G·H]
  /** LSTM projSize only: weight_hr [P, H]. */
  whr?: Tensor | null;
}

// The Param records, not their tensors: forward reads `.value` each call, so a value that is
// replaced (not only updated in place) is the one used — gradient checks swap in their own.
interface DirectionParams {
  wih: Param;
  whh: Param;
  bih: Param | null;
  bhh: Param | null;
  whr: Param | null;
}

/**
 * A stack of recurrent layers over a sequence, as torch.nn.RNN/LSTM/GRU, with the same
 * parameter names, shapes and gate orders: weight_ih_l{k}[_reverse] [G·H, I_k],
 * weight_hh_l{k}[_reverse] [G·H, H], bias_ih_l{k}[_reverse], bias_hh_l{k}[_reverse].
 */
export class RecurrentLayer extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly directions: 1 | 2;
  readonly batchFirst: boolean;
  readonly dropoutP: number;
  readonly residual: boolean;
  readonly fused: boolean;
  readonly dtype: DType;
  private readonly rng: Rng;
  private readonly w: DirectionParams[][] = []; // [layer][direction]
  /** The options beyond PyTorch's defaults (extended.ts). */
  readonly ext: Extended;
  /** Size of h per direction: projSize, or hiddenSize. */
  readonly stateSize: number;
  /** Features of each output step: stateSize·D (concat) or stateSize. */
  readonly outputSize: number;
  private carried: Tensor[] | null = null;

  constructor(readonly kind: CellKind, readonly label: string, o: RecurrentOptions) {
    super();
    checkRecurrentOptions(label, o, kind === 'rnn_tanh' || kind === 'rnn_relu' ? ['nonlinearity'] : [], kind === 'lstm');
    warnRecurrentOptions(label, o);
    this.ext = resolveExtended(label, kind, o as RecurrentOptions & { nonlinearity?: string });
    this.inputSize = o.inputSize;
    this.hiddenSize = o.hiddenSize;
    this.numLayers = o.numLayers ?? 1;
    this.directions = o.bidirectional ? 2 : 1;
    this.batchFirst = o.batchFirst ?? false;
    this.dropoutP = o.dropout ?? 0;
    this.residual = o.residual ?? false;
    this.fused = o.fused ?? true;
    this.dtype = o.dtype ?? 'float32';
    this.rng = this.registerRng('dropout', o.rng ?? new Rng(o.seed ?? 0));
    const H = this.hiddenSize;
    const G = GATES[kind];
    const init = o.init ?? {};
    const P = this.ext.projSize;
    const Hs = P || H; // the size of h
    this.stateSize = Hs;
    this.outputSize = this.directions === 2 && this.ext.mergeMode === 'concat' ? 2 * Hs : Hs;
    if (P && (init.weightHh === 'orthogonal' || init.weightHh === 'identity')) throw new TensorError(label, `init.weightHh '${init.weightHh}' builds square [H, H] blocks; with projSize W_hh is [4H, ${P}]`);
    const std = 1 / Math.sqrt(H); // PyTorch: U(±1/√H) for every recurrent parameter
    const range = init.range ?? 0.08;
    const draw = (shape: number[], how: string | undefined): Tensor => {
      switch (how ?? 'pytorch') {
        case 'pytorch': return uniformRange(shape, std, this.rng, this.dtype);
        case 'uniform': return uniformRange(shape, range, this.rng, this.dtype);
        case 'zeros': return zeros(shape, this.dtype);
        case 'xavier': return xavierUniform(shape as [number, number], this.rng, this.dtype);
        case 'orthogonal': case 'identity': {
          // one [H, H] block per gate, stacked: [G·H, H]
          const out = zeros(shape, this.dtype);
          for (let g = 0; g < G; g++) {
            const blk = how === 'orthogonal' ? orthogonal([H, H], this.rng, this.dtype) : identityInit(H, init.identityScale ?? 1, this.dtype);
            out.data.set(blk.data, g * H * H);
          }
          return out;
        }
        default: throw new TensorError(label, `unknown initialiser '${how}'`);
      }
    };
    for (let k = 0; k < this.numLayers; k++) {
      const inK = k === 0 ? this.inputSize : this.outputSize;
      const layer: DirectionParams[] = [];
      for (let d = 0; d < this.directions; d++) {
        const sfx = `_l${k}${d === 1 ? '_reverse' : ''}`;
        const wih = this.registerParam(`weight_ih${sfx}`, draw([G * H, inK], init.weightIh));
        const whh = this.registerParam(`weight_hh${sfx}`, draw([G * H, Hs], init.weightHh));
        let bih: Param | null = null;
        let bhh: Param | null = null;
        if (o.bias !== false) {
          bih = this.registerParam(`bias_ih${sfx}`, draw([G * H], init.bias));
          bhh = this.registerParam(`bias_hh${sfx}`, draw([G * H], init.bias));
          if (init.forgetBias !== undefined) {
            // LSTM only (checked): gate order i, f, g, o, so f is [H, 2H); the total forget bias is b_ih + b_hh
            bih.value.data.fill(init.forgetBias, H, 2 * H);
            bhh.value.data.fill(0, H, 2 * H);
          }
        }
        const whr = P ? this.registerParam(`weight_hr${sfx}`, draw([P, H], 'pytorch')) : null; // PyTorch's name and order
        layer.push({ wih, whh, bih, bhh, whr });
      }
      this.w.push(layer);
    }
  }

  /** Weights of layer k, direction d (0 forward, 1 reverse). */
  weights(k: number, d = 0): DirectionWeights {
    if (!this.w[k]?.[d]) throw new TensorError(this.label, `no layer ${k} direction ${d} (numLayers ${this.numLayers}, directions ${this.directions})`);
    const p = this.w[k][d];
    return { wih: p.wih.value, whh: p.whh.value, bih: p.bih?.value ?? null, bhh: p.bhh?.value ?? null, whr: p.whr?.value ?? null };
  }

  /** Zeros of the state shape [L·D, B, H] (h, and c for LSTM; h is [L·D, B, projSize] with a projection). */
  initialState(batch: number): Tensor[] {
    return Array.from({ length: STATES[this.kind] }, (_, j) => zeros([this.numLayers * this.directions, batch, j === 0 ? this.stateSize : this.hiddenSize], this.dtype));
  }

  /**
   * Whether the steps run the fused kernels: `fused` and no option that only the composed step
   * implements (extended.ts `needsComposed`). Any faster path (a whole-sequence kernel) must ask this.
   */
  get usesFusedKernels(): boolean {
    return this.fused && !needsComposed(this.kind, this.ext);
  }

  /** stateful layers: forget the carried state (the next call starts from zeros or its h0). */
  resetStates(): void {
    this.carried = null;
  }

  /** The kernel / recurrent / bias regularizers' penalty over this layer's weights, or null. */
  regularizationLoss(): Tensor | null {
    const r = this.ext.regularizers;
    const all = this.w.flat();
    const parts = [
      penalty(r.kernel, all.map((p) => p.wih.value)),
      penalty(r.recurrent, all.flatMap((p) => [p.whh.value, ...(p.whr ? [p.whr.value] : [])])),
      penalty(r.bias, all.flatMap((p) => [p.bih, p.bhh]).filter((p): p is Param => p !== null).map((p) => p.value)),
    ].filter((t): t is Tensor => t !== null);
    return parts.length ? parts.reduce((a, b) => ad.add(a, b)) : null;
  }

  /**
   * x: [T, B, I] ([B, T, I] if batchFirst) → { output, hN, cN }.
   * Layer by layer: the input projection of the whole sequence is one matmul, then the cell
   * runs over time (via `unroll`, so every tape record carries its time step).
   */
  forward(x: Tensor, input: RecurrentInput = {}): RecurrentOutput {
    const lbl = this.label;
    if (!(x instanceof Tensor) || x.rank !== 3) {
      throw new TensorError(lbl, `input must be ${this.batchFirst ? '[B, T, I]' : '[T, B, I]'}, got ${x instanceof Tensor ? shapeStr(x.shape) : typeof x}`);
    }
    if (x.dtype !== this.dtype) throw new TensorError(lbl, `input ${shapeStr(x.shape)} is ${x.dtype}, layer is ${this.dtype}`);
    return this.run(x, null, input);
  }

  /**
   * The same as forward(oneHot(ids)) for ids [T, B] (time-major) with inputSize classes, without
   * building the one-hot input: the first layer's projection x_t W_ihᵀ of a one-hot x_t is row
   * ids[t, b] of W_ihᵀ, so it is a gather (an embedding lookup) instead of a dense [T·B, I]×[I, G·H]
   * matmul — for a char model with I = 65 that is a third of the training FLOPs.
   */
  forwardIds(ids: ArrayLike<number>, shape: readonly [number, number], input: RecurrentInput = {}): RecurrentOutput {
    const lbl = this.label;
    const [T, B] = shape;
    if (!Number.isInteger(T) || !Number.isInteger(B) || T < 1 || B < 1 || ids.length !== T * B) {
      throw new TensorError(lbl, `forwardIds: ${ids.length} ids for shape ${shapeStr(shape)}`);
    }
    if (this.batchFirst) throw new TensorError(lbl, 'forwardIds takes time-major ids [T, B]; batchFirst is not supported there');
    for (let i = 0; i < ids.length; i++) {
      if (!Number.isInteger(ids[i]) || ids[i] < 0 || ids[i] >= this.inputSize) throw new TensorError(lbl, `forwardIds: ids[${i}] = ${ids[i]} is not a class in [0, ${this.inputSize})`);
    }
    return this.run(null, { ids, T, B }, input);
  }

  private run(x: Tensor | null, onehot: { ids: ArrayLike<number>; T: number; B: number } | null, input: RecurrentInput): RecurrentOutput {
    // (onehot and input may be replaced below: goBackwards reverses the ids, stateful supplies h0)
    const lbl = this.label;
    const xShape = x ? x.shape : [onehot!.T, onehot!.B, this.inputSize];
    if (input === null || typeof input !== 'object') throw new TensorError(lbl, `second argument must be { h0?, c0?, lengths? }, got ${input === null ? 'null' : typeof input}`);
    checkOptions(lbl, input, ['h0', 'c0', 'lengths'], { what: 'input field' });
    let seq: Tensor | null = x ? (this.batchFirst ? ad.permute(x, [1, 0, 2]) : x) : null; // [T, B, I]
    const [T, B, I] = seq ? seq.shape : xShape;
    if (I !== this.inputSize) throw new TensorError(lbl, `input feature size ${I} ≠ inputSize ${this.inputSize} (input ${shapeStr(xShape)})`);
    if (T === 0 || B === 0) throw new TensorError(lbl, `input ${shapeStr(xShape)} is empty (T = ${T}, B = ${B})`);
    const LD = this.numLayers * this.directions;
    const nState = STATES[this.kind];
    if (this.ext.goBackwards) {
      if (input.lengths !== undefined) throw new TensorError(lbl, 'goBackwards with lengths is not supported (reversing a padded batch would read the padding first); reverse each sequence before padding instead');
      if (seq) seq = reverseTime(seq);
      else onehot = reverseIds(onehot!);
    }
    if (this.ext.stateful && this.carried && input.h0 === undefined && input.c0 === undefined) {
      if (this.carried[0].shape[1] !== B) throw new TensorError(lbl, `stateful: the carried state is for a batch of ${this.carried[0].shape[1]}, this input has ${B} (call resetStates() first)`);
      input = { ...input, h0: this.carried[0], c0: this.carried[1] };
    }
    if (this.kind !== 'lstm' && input.c0 !== undefined) throw new TensorError(lbl, `c0 is only for LSTM (got c0 ${input.c0 instanceof Tensor ? shapeStr(input.c0.shape) : typeof input.c0})`);
    const given = [input.h0, input.c0].slice(0, nState);
    given.forEach((s, j) => {
      const what = j === 0 ? 'h0' : 'c0';
      if (s === undefined) return;
      const H = j === 0 ? this.stateSize : this.hiddenSize;
      if (!(s instanceof Tensor) || s.rank !== 3 || s.shape[0] !== LD || s.shape[1] !== B || s.shape[2] !== H) {
        throw new TensorError(lbl, `${what} must be [${LD}, ${B}, ${H}] (layers·directions, batch, ${j === 0 && this.ext.projSize ? 'projSize' : 'hidden'}) for input ${shapeStr(xShape)}, got ${s instanceof Tensor ? shapeStr(s.shape) : typeof s}`);
      }
      if (s.dtype !== this.dtype) throw new TensorError(lbl, `${what} ${shapeStr(s.shape)} is ${s.dtype}, layer is ${this.dtype}`);
    });
    const mask = input.lengths === undefined ? null : this.lengthMask(input.lengths, T, B, xShape); // [T, B, 1]
    // Zero the padding before anything reads it: garbage there (NaN, ±Inf) would otherwise
    // reach the parameter gradients, since the masked steps' adjoint 0 times NaN is NaN.
    if (mask && seq) seq = ad.where(mask, seq, zeros([], this.dtype));
    // the whole-sequence op takes the lengths themselves; the per-step path a [B, 1] mask per step
    const sequence = sequenceKernelsApply(this.usesFusedKernels);
    const lengths = input.lengths === undefined ? null : Int32Array.from(input.lengths);
    const masks = mask && !sequence ? Array.from({ length: T }, (_, t) => mask.slice(t)) : null;
    const step = cellStep(this.kind, this.usesFusedKernels);
    const ext = needsComposed(this.kind, this.ext) ? extendedStep(this.kind, this.ext) : null;

    const finals: Tensor[][] = Array.from({ length: nState }, () => []);
    for (let k = 0; k < this.numLayers; k++) {
      const outs: Tensor[] = [];
      for (let d = 0; d < this.directions; d++) {
        const idx = k * this.directions + d;
        const size = (j: number) => (j === 0 ? this.stateSize : this.hiddenSize);
        const state0 = given.map((s, j) => (s ? ad.slice(s, idx) : zeroConstant(j === 0 ? 'h' : 'c', [B, size(j)], this.dtype))) as CellState;
        while (state0.length < nState) state0.push(zeroConstant(state0.length === 0 ? 'h' : 'c', [B, size(state0.length)], this.dtype));
        const w = this.weights(k, d);
        let dirStep = step;
        if (ext) {
          // variational recurrent dropout: one mask per sequence (and layer, direction), scaled by 1/(1−p)
          const p = this.ext.recurrentDropout;
          const mask = p > 0 && this.training ? ad.dropout(ones([B, this.stateSize], this.dtype), p, { training: true, rng: this.rng }) : null;
          const extras = { whr: w.whr ?? null, mask };
          dirStep = (xp, st, whh, bhh) => ext(xp, st, whh, bhh, extras);
        }
        const r = sequence
          ? runDirectionSequence(this.kind, seq, k === 0 && onehot ? onehot.ids : null, T, B, w, d === 1, state0, lengths)
          : this.runDirection(seq, k === 0 ? onehot : null, T, B, w, d === 1, state0, masks, dirStep);
        outs.push(r.output);
        r.final.forEach((f, j) => finals[j].push(f));
      }
      let out = this.directions === 2 ? mergeDirections(this.ext.mergeMode, outs[0], outs[1]) : outs[0]; // [T, B, D·H] (concat) or [T, B, H]
      if (this.residual && k > 0) out = ad.add(out, seq!);
      if (k < this.numLayers - 1 && this.dropoutP > 0) out = ad.dropout(out, this.dropoutP, { training: this.training, rng: this.rng });
      seq = out;
    }
    const output = this.batchFirst ? ad.permute(seq!, [1, 0, 2]) : seq!;
    // [L·D, B, H]; one layer and direction: a view of the step's own output, no copy
    const stackStates = (f: Tensor[]): Tensor => (f.length === 1 ? ad.unsqueeze(f[0], 0) : ad.stack(f, 0));
    const res: RecurrentOutput = { output, hN: stackStates(finals[0]) };
    if (this.kind === 'lstm') res.cN = stackStates(finals[1]);
    if (this.ext.stateful) this.carried = [detach(res.hN), ...(res.cN ? [detach(res.cN)] : [])];
    return res;
  }

  /** The per-step path of one direction (one cell record per step); run() sends the layer to the sequence op instead when sequence.ts allows. */
  private runDirection(
    seq: Tensor | null, onehot: { ids: ArrayLike<number> } | null, T: number, B: number,
    w: DirectionWeights, reverse: boolean, state0: CellState, masks: Tensor[] | null, step: ReturnType<typeof cellStep>,
  ) {
    const GH = w.wih.shape[0];
    // LSTM and RNN add b_hh to the same pre-activation as b_ih: both are added here, once for all
    // T steps, and the cell step gets no bias (GRU cannot: b_hn sits inside r ⊙ (h W_hnᵀ + b_hn)).
    const fold = this.kind !== 'gru' && w.bhh !== null;
    const bias = fold && w.bih ? ad.add(w.bih, w.bhh!) : fold ? w.bhh : w.bih; // [G·H]
    const order = Array.from({ length: T }, (_, i) => (reverse ? T - 1 - i : i)); // real time index of each step
    let xs: Tensor[]; // x_t W_ihᵀ + bias, [B, G·H] for each step in `order`
    if (onehot) {
      // rows of the [I, G·H] table W_ihᵀ + bias (the bias is added to I rows, not to T·B),
      // gathered step by step: backward scatter-adds each step's rows into the table's adjoint
      const table = bias ? ad.add(ad.permute(w.wih, [1, 0]), bias) : ad.permute(w.wih, [1, 0]);
      const ids = Int32Array.from(onehot.ids);
      xs = order.map((t) => ad.gather(table, ids.subarray(t * B, (t + 1) * B)));
    } else {
      // one [T·B, I]×[I, G·H] GEMM for all steps, then a [B, G·H] view per step
      const xp = ad.linear(ad.reshape(seq!, [T * B, seq!.shape[2]]), w.wih, bias); // [T·B, G·H]
      const xp3 = ad.reshape(xp, [T, B, GH]);
      xs = order.map((t) => ad.slice(xp3, t));
    }
    const bhh = fold ? null : w.bhh;
    // W_hhᵀ is the B operand of every step's h·W_hhᵀ: packed once for the T steps (wasm backend)
    const r = withPackedOperand(w.whh, true, () => unroll(
      (state, xpt, i) => {
        const next = step(xpt, state, w.whh, bhh);
        if (!masks) return next;
        const m = masks[order[i - 1]]; // [B, 1]: 1 while t < length
        return next.map((n, j) => ad.where(m, n, state[j])); // frozen past the end
      },
      state0,
      xs,
    ));
    const zero = zeros([], this.dtype);
    const hs = r.states.map((s, i) => (masks ? ad.where(masks[order[i]], s[0], zero) : s[0])); // outputs are exactly +0 past the end
    if (reverse) hs.reverse();
    const final = r.states[T - 1];
    return { output: ad.stack(hs, 0), final };
  }

  /** [T, B, 1]: 1 where t < lengths[b]. */
  private lengthMask(lengths: ArrayLike<number>, T: number, B: number, xShape: readonly number[]): Tensor {
    if (lengths === null || typeof lengths !== 'object' || typeof lengths.length !== 'number') {
      throw new TensorError(this.label, `lengths must be an array of ${B} integers, got ${lengths === null ? 'null' : typeof lengths}`);
    }
    if (lengths.length !== B) throw new TensorError(this.label, `lengths has ${lengths.length} entries for a batch of ${B} (input ${shapeStr(xShape)}, T = ${T})`);
    for (let b = 0; b < B; b++) {
      const L = lengths[b];
      if (!Number.isInteger(L) || L < 0 || L > T) throw new TensorError(this.label, `lengths[${b}] = ${L} is not an integer in [0, T = ${T}] (input ${shapeStr(xShape)})`);
    }
    const m = zeros([T, B, 1], this.dtype);
    for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) m.data[t * B + b] = t < lengths[b] ? 1 : 0;
    return m;
  }
}

export class SimpleRNN extends RecurrentLayer {
  constructor(o: RecurrentOptions & { nonlinearity?: 'tanh' | 'relu' }) {
    const nl = o?.nonlinearity ?? 'tanh';
    if (nl !== 'tanh' && nl !== 'relu') throw new TensorError('SimpleRNN', `nonlinearity must be 'tanh' or 'relu', got '${String(nl)}'`);
    super(nl === 'relu' ? 'rnn_relu' : 'rnn_tanh', 'SimpleRNN', o);
  }
}

export class LSTM extends RecurrentLayer {
  constructor(o: RecurrentOptions) {
    super('lstm', 'LSTM', o);
  }
}

export class GRU extends RecurrentLayer {
  constructor(o: RecurrentOptions) {
    super('gru', 'GRU', o);
  }
}

/** [T, B, F] → the same steps in reverse time order. */
function reverseTime(x: Tensor): Tensor {
  const T = x.shape[0];
  return ad.stack(Array.from({ length: T }, (_, t) => ad.slice(x, T - 1 - t)), 0);
}

function reverseIds(o: { ids: ArrayLike<number>; T: number; B: number }): { ids: Int32Array; T: number; B: number } {
  const { T, B } = o;
  const ids = new Int32Array(T * B);
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) ids[t * B + b] = o.ids[(T - 1 - t) * B + b];
  return { ids, T, B };
}
