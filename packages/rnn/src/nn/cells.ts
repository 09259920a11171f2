import { DType, Rng, Tensor, TensorError, isDType, shapeStr, zeros } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { Module } from './module';
import { Param } from '../optim/param';
import { uniformRange } from './init';
import { CellKind, GATES, cellStep } from '../cells';
import { checkOptions, keysOf } from '../options';

export interface CellOptions {
  /** Add b_ih and b_hh (default true). */
  bias?: boolean;
  /** The fused per-step kernel (default) or the composed reference cell. */
  fused?: boolean;
  rng?: Rng;
  dtype?: DType;
}

/**
 * One step of a recurrent cell as a module, as torch.nn.RNNCell / LSTMCell / GRUCell, for users
 * who write their own loop over time. Parameters have torch's names and shapes —
 * weight_ih [G·H, I], weight_hh [G·H, H], bias_ih [G·H], bias_hh [G·H] (gate order i,f,g,o for
 * LSTM, r,z,n for GRU) — so `loadStateDict` takes `torch.nn.LSTMCell(...).state_dict()` as it is,
 * and they start as torch's do, U(±1/√H).
 * Input x: [B, I] (or unbatched [I]); state [B, H] (or [H]), zeros when not given.
 */
abstract class CellModule extends Module {
  private readonly wih: Param;
  private readonly whh: Param;
  private readonly bih: Param | null;
  private readonly bhh: Param | null;
  readonly fused: boolean;
  readonly dtype: DType;

  protected constructor(readonly kind: CellKind, readonly label: string, readonly inputSize: number, readonly hiddenSize: number, o: CellOptions, extra: string[] = []) {
    super();
    checkOptions(label, o, [...keysOf<CellOptions>({ bias: 1, fused: 1, rng: 1, dtype: 1 }), ...extra]);
    for (const [n, v] of [['inputSize', inputSize], ['hiddenSize', hiddenSize]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new TensorError(label, `${n} must be a positive integer, got ${v}`);
    }
    if (o.bias !== undefined && typeof o.bias !== 'boolean') throw new TensorError(label, `bias must be a boolean, got ${String(o.bias)}`);
    if (o.dtype !== undefined && !isDType(o.dtype)) throw new TensorError(label, `dtype must be float32 or float64, got ${String(o.dtype)}`);
    this.fused = o.fused ?? true;
    this.dtype = o.dtype ?? 'float32';
    const rng = o.rng ?? new Rng(0);
    const GH = GATES[kind] * hiddenSize;
    const k = 1 / Math.sqrt(hiddenSize);
    this.wih = this.registerParam('weight_ih', uniformRange([GH, inputSize], k, rng, this.dtype));
    this.whh = this.registerParam('weight_hh', uniformRange([GH, hiddenSize], k, rng, this.dtype));
    this.bih = o.bias === false ? null : this.registerParam('bias_ih', uniformRange([GH], k, rng, this.dtype));
    this.bhh = o.bias === false ? null : this.registerParam('bias_hh', uniformRange([GH], k, rng, this.dtype));
  }

  get weightIh(): Tensor {
    return this.wih.value;
  }
  get weightHh(): Tensor {
    return this.whh.value;
  }

  /** Checks x and the state, runs one step; `unbatched` says whether to drop the batch axis. */
  protected step(x: Tensor, state: (Tensor | undefined)[]): Tensor[] {
    const lbl = this.label;
    if (!(x instanceof Tensor)) throw new TensorError(lbl, `input must be a Tensor [B, ${this.inputSize}] or [${this.inputSize}], got ${typeof x}`);
    if ((x.rank !== 1 && x.rank !== 2) || x.shape[x.rank - 1] !== this.inputSize) throw new TensorError(lbl, `input must be [B, ${this.inputSize}] or [${this.inputSize}], got ${shapeStr(x.shape)}`);
    if (x.dtype !== this.dtype) throw new TensorError(lbl, `input is ${x.dtype}, the cell is ${this.dtype}`);
    const unbatched = x.rank === 1;
    const x2 = unbatched ? ad.reshape(x, [1, this.inputSize]) : x; // [B, I]
    const B = x2.shape[0];
    const want = unbatched ? [this.hiddenSize] : [B, this.hiddenSize];
    const st = state.map((s, j) => {
      if (s === undefined) return zeros([B, this.hiddenSize], this.dtype);
      const name = j === 0 ? 'h' : 'c';
      if (!(s instanceof Tensor) || s.rank !== want.length || s.shape.some((d, i) => d !== want[i])) {
        throw new TensorError(lbl, `${name} must be ${shapeStr(want)} for input ${shapeStr(x.shape)}, got ${s instanceof Tensor ? shapeStr(s.shape) : typeof s}`);
      }
      if (s.dtype !== this.dtype) throw new TensorError(lbl, `${name} is ${s.dtype}, the cell is ${this.dtype}`);
      return unbatched ? ad.reshape(s, [1, this.hiddenSize]) : s; // [B, H]
    });
    const xp = ad.linear(x2, this.wih.value, this.bih ? this.bih.value : null); // [B, I] × [GH, I]ᵀ + [GH] → [B, GH]
    const next = cellStep(this.kind, this.fused)(xp, st, this.whh.value, this.bhh ? this.bhh.value : null);
    return unbatched ? next.map((t) => ad.reshape(t, [this.hiddenSize])) : next;
  }
}

/** torch.nn.RNNCell: h' = φ(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), φ = tanh (default) or relu. */
export class RNNCell extends CellModule {
  readonly nonlinearity: 'tanh' | 'relu';
  constructor(inputSize: number, hiddenSize: number, o: CellOptions & { nonlinearity?: 'tanh' | 'relu' } = {}) {
    const nl = o?.nonlinearity ?? 'tanh';
    if (nl !== 'tanh' && nl !== 'relu') throw new TensorError('RNNCell', `nonlinearity must be 'tanh' or 'relu', got '${String(nl)}'`);
    super(nl === 'relu' ? 'rnn_relu' : 'rnn_tanh', 'RNNCell', inputSize, hiddenSize, o, ['nonlinearity']);
    this.nonlinearity = nl;
  }
  /** x [B, I] (or [I]), h [B, H] → h' [B, H] */
  forward(x: Tensor, h?: Tensor): Tensor {
    return this.step(x, [h])[0];
  }
}

/** torch.nn.LSTMCell: returns [h', c'] (torch's (h_1, c_1)); gates i, f, g, o. */
export class LSTMCell extends CellModule {
  constructor(inputSize: number, hiddenSize: number, o: CellOptions = {}) {
    super('lstm', 'LSTMCell', inputSize, hiddenSize, o);
  }
  /** x [B, I] (or [I]), state [h, c] each [B, H] → [h', c'] */
  forward(x: Tensor, state?: readonly [Tensor, Tensor]): [Tensor, Tensor] {
    if (state !== undefined && (!Array.isArray(state) || state.length !== 2)) throw new TensorError('LSTMCell', 'state must be [h, c]');
    const [h, c] = this.step(x, state ? [state[0], state[1]] : [undefined, undefined]);
    return [h, c];
  }
}

/** torch.nn.GRUCell: gates r, z, n; n = tanh(x W_inᵀ + b_in + r ⊙ (h W_hnᵀ + b_hn)). */
export class GRUCell extends CellModule {
  constructor(inputSize: number, hiddenSize: number, o: CellOptions = {}) {
    super('gru', 'GRUCell', inputSize, hiddenSize, o);
  }
  /** x [B, I] (or [I]), h [B, H] → h' [B, H] */
  forward(x: Tensor, h?: Tensor): Tensor {
    return this.step(x, [h])[0];
  }
}
