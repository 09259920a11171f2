// Shared pieces of the classic BPTT experiments: a sequence model run step by step, a training
// step, a tiny flag parser and a results table.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng, Tensor, TensorError, zeros } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { Adam, CellStep, GRU, LSTM, Linear, Module, Optimizer, RecurrentLayer, SimpleRNN, cellStep, clipGradNorm, computeGradients } from '@unfold/rnn';
import { writeSvg } from '@unfold/rnn/node';

export type ExpCell = 'rnn' | 'irnn' | 'lstm' | 'gru';
export const CELL_LABEL: Record<ExpCell, string> = { rnn: 'vanilla RNN (tanh)', irnn: 'IRNN (relu, W_hh = I)', lstm: 'LSTM', gru: 'GRU' };

export interface SeqNetOptions {
  cell: ExpCell;
  inputSize: number;
  hiddenSize: number;
  outputSize: number;
  seed: number;
  /** LSTM forget-gate bias at init (default 1, Gers et al. 2000 / Jozefowicz et al. 2015). */
  forgetBias?: number;
  /** Vanilla RNN: orthogonal W_hh instead of PyTorch's U(±1/√H). */
  orthogonalHh?: boolean;
}

/**
 * A one-layer RNN/LSTM/GRU with a linear readout. The cell is run here step by step on inputs
 * x_t [B, I] that are constants, projecting each step's input inside the step
 * (xp_t = x_t W_ihᵀ + b_ih): the tape then holds T small records per weight instead of slices
 * of one [T, B, G·H] projection, whose adjoints would each be a full [T, B, G·H] tensor.
 * Weights, names and initialisation are those of the library's layers (PyTorch's).
 */
export class SeqNet extends Module {
  readonly rnn: RecurrentLayer;
  readonly fc: Linear;
  private readonly step: CellStep;

  constructor(readonly o: SeqNetOptions) {
    super();
    const base = { inputSize: o.inputSize, hiddenSize: o.hiddenSize, seed: o.seed };
    this.rnn = this.registerModule('rnn',
      o.cell === 'lstm' ? new LSTM({ ...base, init: { forgetBias: o.forgetBias ?? 1 } })
        : o.cell === 'gru' ? new GRU(base)
          : o.cell === 'irnn' ? new SimpleRNN({ ...base, nonlinearity: 'relu', init: { weightHh: 'identity', bias: 'zeros', weightIh: 'uniform', range: 0.001 } })
            : new SimpleRNN(o.orthogonalHh ? { ...base, init: { weightHh: 'orthogonal' } } : base));
    this.fc = this.registerModule('fc', new Linear(o.hiddenSize, o.outputSize, { rng: new Rng(o.seed + 1) }));
    this.step = cellStep(this.rnn.kind, true);
  }

  initialState(B: number): Tensor[] {
    return Array.from({ length: this.rnn.kind === 'lstm' ? 2 : 1 }, () => zeros([B, this.o.hiddenSize]));
  }

  /** One time step: state_{t−1}, x_t [B, I] → state_t. */
  cell(state: Tensor[], x: Tensor): Tensor[] {
    const w = this.rnn.weights(0);
    let xp = ad.matmul(x, w.wih, { transB: true }); // [B,I]·[G·H,I]ᵀ → [B,G·H]
    if (w.bih) xp = ad.add(xp, w.bih);
    return this.step(xp, state, w.whh, w.bhh);
  }

  /** h_1 … h_T for inputs x_1 … x_T. */
  hiddens(xs: Tensor[], state?: Tensor[]): Tensor[] {
    let s = state ?? this.initialState(xs[0].shape[0]);
    return xs.map((x) => {
      s = this.cell(s, x);
      return s[0];
    });
  }
}

/**
 * forward + backward + clip + optimizer step. Returns the loss, the global gradient norm before
 * clipping and the norm of the gradient actually applied (after clipping).
 */
export function trainStep(model: Module, opt: Optimizer, lossFn: () => Tensor, clip = Infinity): { loss: number; gradNorm: number; appliedNorm: number } {
  const r = computeGradients(model, () => ({ loss: lossFn() }));
  const params = model.parameters();
  const gradNorm = clipGradNorm(params, clip);
  // the norm of what is actually applied, summed independently of clipGradNorm
  let sq = 0;
  for (const p of params) for (const v of p.grad ? p.grad.toFlatArray() : []) sq += v * v;
  const appliedNorm = Math.sqrt(sq);
  opt.step();
  return { loss: r.loss.item(), gradNorm, appliedNorm };
}

export function adam(model: Module, lr: number): Adam {
  return new Adam(model.parameters(), { lr });
}

/** `--name value` pairs over defaults (numbers stay numbers; lists are comma-separated strings). */
export function parseArgs<T extends Record<string, number | string>>(argv: readonly string[], defaults: T): T {
  const out: Record<string, number | string> = { ...defaults };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i]?.replace(/^--/, '');
    if (!argv[i]?.startsWith('--') || !(k in defaults) || argv[i + 1] === undefined) {
      throw new TensorError('experiment', `bad argument '${argv[i]}' (flags: ${Object.keys(defaults).map((d) => `--${d}`).join(' ')})`);
    }
    const v = argv[i + 1];
    out[k] = typeof defaults[k] === 'number' ? Number(v) : v;
    if (typeof defaults[k] === 'number' && !Number.isFinite(out[k] as number)) throw new TensorError('experiment', `--${k} takes a number, got '${v}'`);
  }
  return out as T;
}

/** A plain-text table with aligned columns (also valid Markdown). */
export function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const w = head.map((_, j) => Math.max(...cells.map((r) => r[j].length)));
  const line = (r: string[]) => `| ${r.map((c, j) => c.padEnd(w[j])).join(' | ')} |`;
  return [line(head), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

/** docs/figures of the repository (from examples/src/experiments or examples/dist/experiments). */
export const FIGURES = path.resolve(__dirname, '../../../docs/figures');

export function saveFigure(dir: string | null, name: string, svg: string): string | null {
  if (dir === null) return null;
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  writeSvg(file, svg);
  return file;
}

export const seconds = (t0: number) => (Date.now() - t0) / 1000;
