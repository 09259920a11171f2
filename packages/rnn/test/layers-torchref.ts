// An independent float64 reference of torch.nn.RNN / LSTM / GRU (eval mode), written as plain
// loops over numbers: no tensors, no autodiff, nothing shared with the implementation. It
// follows the equations of the PyTorch documentation, with PyTorch's gate orders
//   LSTM  W_ih = [W_ii | W_if | W_ig | W_io]   GRU  W_ih = [W_ir | W_iz | W_in]
// and GRU's  n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))  (r applied after the matmul).
// Lengths follow pack_padded_sequence: each example runs alone over its own L_b steps, the
// reverse direction starts at step L_b − 1, outputs past L_b are 0 and h_n is taken at L_b.

export type Mode = 'rnn_tanh' | 'rnn_relu' | 'lstm' | 'gru';
export type Seq = number[][][]; // [T][B][F]
export interface Entry {
  shape: number[];
  data: number[];
}

export interface RefConfig {
  mode: Mode;
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  bidirectional: boolean;
  bias: boolean;
}

export const GATES_OF: Record<Mode, number> = { rnn_tanh: 1, rnn_relu: 1, lstm: 4, gru: 3 };

const sig = (v: number): number => 1 / (1 + Math.exp(-v));

/** The parameter names torch gives this configuration, in its registration order. */
export function torchNames(cfg: RefConfig): string[] {
  const out: string[] = [];
  for (let k = 0; k < cfg.numLayers; k++) {
    for (let d = 0; d < (cfg.bidirectional ? 2 : 1); d++) {
      const s = `_l${k}${d ? '_reverse' : ''}`;
      out.push(`weight_ih${s}`, `weight_hh${s}`);
      if (cfg.bias) out.push(`bias_ih${s}`, `bias_hh${s}`);
    }
  }
  return out;
}

export function torchShapes(cfg: RefConfig): Record<string, number[]> {
  const G = GATES_OF[cfg.mode];
  const H = cfg.hiddenSize;
  const D = cfg.bidirectional ? 2 : 1;
  const out: Record<string, number[]> = {};
  for (const n of torchNames(cfg)) {
    const k = Number(/_l(\d+)/.exec(n)![1]);
    const inK = k === 0 ? cfg.inputSize : D * H;
    out[n] = n.startsWith('weight_ih') ? [G * H, inK] : n.startsWith('weight_hh') ? [G * H, H] : [G * H];
  }
  return out;
}

/** One step of one example: gi = W_ih x + b_ih, gh = W_hh h + b_hh, then the cell. */
function cell(mode: Mode, H: number, inK: number, p: Record<string, Entry>, sfx: string, x: number[], h: number[], c: number[]): { h: number[]; c: number[] } {
  const G = GATES_OF[mode];
  const wih = p[`weight_ih${sfx}`].data;
  const whh = p[`weight_hh${sfx}`].data;
  const bih = p[`bias_ih${sfx}`]?.data;
  const bhh = p[`bias_hh${sfx}`]?.data;
  const gi: number[] = [];
  const gh: number[] = [];
  for (let r = 0; r < G * H; r++) {
    let a = bih ? bih[r] : 0;
    for (let i = 0; i < inK; i++) a += wih[r * inK + i] * x[i];
    let b = bhh ? bhh[r] : 0;
    for (let j = 0; j < H; j++) b += whh[r * H + j] * h[j];
    gi.push(a);
    gh.push(b);
  }
  const hN: number[] = [];
  const cN: number[] = [];
  for (let j = 0; j < H; j++) {
    if (mode === 'rnn_tanh') hN.push(Math.tanh(gi[j] + gh[j]));
    else if (mode === 'rnn_relu') hN.push(Math.max(0, gi[j] + gh[j]));
    else if (mode === 'lstm') {
      const ig = sig(gi[j] + gh[j]);
      const fg = sig(gi[H + j] + gh[H + j]);
      const gg = Math.tanh(gi[2 * H + j] + gh[2 * H + j]);
      const og = sig(gi[3 * H + j] + gh[3 * H + j]);
      const cj = fg * c[j] + ig * gg;
      cN.push(cj);
      hN.push(og * Math.tanh(cj));
    } else {
      const r = sig(gi[j] + gh[j]);
      const z = sig(gi[H + j] + gh[H + j]);
      const n = Math.tanh(gi[2 * H + j] + r * gh[2 * H + j]);
      hN.push((1 - z) * n + z * h[j]);
    }
  }
  return { h: hN, c: cN };
}

export interface RefResult {
  output: Seq; // [T][B][D·H]
  hN: Seq; // [L·D][B][H]
  cN?: Seq;
}

/**
 * x: [T][B][I] (time-major). h0/c0: [L·D][B][H] (zeros when absent). lengths: per example.
 */
export function refForward(cfg: RefConfig, p: Record<string, Entry>, x: Seq, opts: { h0?: Seq; c0?: Seq; lengths?: number[] } = {}): RefResult {
  const T = x.length;
  const B = T > 0 ? x[0].length : (opts.lengths?.length ?? 0);
  const H = cfg.hiddenSize;
  const D = cfg.bidirectional ? 2 : 1;
  const zerosH = (): number[] => new Array(H).fill(0);
  const output: Seq = Array.from({ length: T }, () => Array.from({ length: B }, () => new Array(D * H).fill(0)));
  const hN: Seq = Array.from({ length: cfg.numLayers * D }, () => Array.from({ length: B }, zerosH));
  const cN: Seq = Array.from({ length: cfg.numLayers * D }, () => Array.from({ length: B }, zerosH));
  for (let b = 0; b < B; b++) {
    const L = opts.lengths ? opts.lengths[b] : T;
    let seq: number[][] = Array.from({ length: L }, (_, t) => x[t][b].slice()); // this example alone, unpadded
    for (let k = 0; k < cfg.numLayers; k++) {
      const inK = k === 0 ? cfg.inputSize : D * H;
      const next: number[][] = Array.from({ length: L }, () => new Array(D * H).fill(0));
      for (let d = 0; d < D; d++) {
        const idx = k * D + d;
        let h = opts.h0 ? opts.h0[idx][b].slice() : zerosH();
        let c = opts.c0 ? opts.c0[idx][b].slice() : zerosH();
        for (let s = 0; s < L; s++) {
          const t = d === 0 ? s : L - 1 - s;
          const r = cell(cfg.mode, H, inK, p, `_l${k}${d ? '_reverse' : ''}`, seq[t], h, c);
          h = r.h;
          c = r.c;
          for (let j = 0; j < H; j++) next[t][d * H + j] = h[j];
        }
        hN[idx][b] = h;
        cN[idx][b] = c;
      }
      seq = next;
    }
    for (let t = 0; t < L; t++) output[t][b] = seq[t];
  }
  return cfg.mode === 'lstm' ? { output, hN, cN } : { output, hN };
}

/** Deterministic pseudo-random numbers in [−a, a) (a tiny LCG: the fixture must not depend on the library's Rng). */
export function lcg(seed: number): (a?: number) => number {
  let s = seed >>> 0;
  return (a = 1) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 * a - a;
  };
}

/** Parameters of the given configuration, U(±1/√H) from the LCG, as {shape, data} entries. */
export function randomParams(cfg: RefConfig, seed: number): Record<string, Entry> {
  const rnd = lcg(seed);
  const bound = 1 / Math.sqrt(cfg.hiddenSize);
  const out: Record<string, Entry> = {};
  for (const [n, shape] of Object.entries(torchShapes(cfg))) {
    out[n] = { shape, data: Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rnd(bound)) };
  }
  return out;
}

export function randomSeq(T: number, B: number, F: number, seed: number, a = 1): Seq {
  const rnd = lcg(seed);
  return Array.from({ length: T }, () => Array.from({ length: B }, () => Array.from({ length: F }, () => rnd(a))));
}

export const flat3 = (s: Seq): number[] => s.flat(2);
