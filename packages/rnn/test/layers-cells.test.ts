import { Tensor, tensor } from '@unfold/tensor';
import { GRU, LSTM, RecurrentLayer, SimpleRNN } from '@unfold/rnn';
import { Entry, Mode, RefConfig, Seq, flat3, refForward } from './layers-torchref';

// Small cases checked against numbers worked out by plain loops (layers-torchref.ts), and a
// one-unit case per cell written out inline, which also checks the reference itself.

const sig = (v: number): number => 1 / (1 + Math.exp(-v));
const t64 = (s: Seq): Tensor => tensor(flat3(s), [s.length, s[0].length, s[0][0].length], 'float64');

function make(mode: Mode, o: { inputSize: number; hiddenSize: number; fused: boolean; numLayers?: number; bidirectional?: boolean }): RecurrentLayer {
  const common = { ...o, dtype: 'float64' as const };
  if (mode === 'lstm') return new LSTM(common);
  if (mode === 'gru') return new GRU(common);
  return new SimpleRNN({ ...common, nonlinearity: mode === 'rnn_relu' ? 'relu' : 'tanh' });
}

/** Fixed, distinct, non-round weights: entry n of parameter p is a small irregular number. */
function fixedParams(mode: Mode, I: number, H: number): Record<string, Entry> {
  const G = { rnn_tanh: 1, rnn_relu: 1, lstm: 4, gru: 3 }[mode];
  const v = (p: number, n: number): number => Math.round(100 * Math.sin(7.3 * p + 1.7 * n + 0.4)) / 100 * 1.3 + (mode === 'rnn_relu' ? 0.15 : 0);
  const e = (p: number, shape: number[]): Entry => ({ shape, data: Array.from({ length: shape.reduce((a, b) => a * b) }, (_, n) => v(p, n)) });
  return { weight_ih_l0: e(1, [G * H, I]), weight_hh_l0: e(2, [G * H, H]), bias_ih_l0: e(3, [G * H]), bias_hh_l0: e(4, [G * H]) };
}

// T = 3, B = 2, I = 2: example 0 and example 1 differ in sign and size.
const X: Seq = [
  [[0.5, -1.2], [-0.3, 0.8]],
  [[1.1, 0.4], [0.9, -0.7]],
  [[-0.6, 0.25], [0.2, 1.5]],
];
const H0: Seq = [[[0.3, -0.4], [-0.2, 0.6]]];
const C0: Seq = [[[-0.5, 0.7], [0.1, -0.9]]];

function expectClose(actual: Tensor, expected: number[], tol = 1e-12): void {
  const a = actual.toFlatArray();
  expect(a.length).toBe(expected.length);
  a.forEach((v, i) => {
    if (Math.abs(v - expected[i]) > tol) throw new Error(`element ${i}: ${v} vs expected ${expected[i]}`);
  });
}

describe.each([true, false])('hand-computed T=3, B=2, I=2, H=2 (fused: %s)', (fused) => {
  test.each(['rnn_tanh', 'rnn_relu', 'lstm', 'gru'] as const)('%s: output, h_n (and c_n) match the plain-loop reference, from zero and from a given state', (mode) => {
    const cfg: RefConfig = { mode, inputSize: 2, hiddenSize: 2, numLayers: 1, bidirectional: false, bias: true };
    const p = fixedParams(mode, 2, 2);
    const layer = make(mode, { inputSize: 2, hiddenSize: 2, fused });
    layer.loadStateDict(p);
    layer.eval();
    for (const withState of [false, true]) {
      const ref = refForward(cfg, p, X, withState ? { h0: H0, c0: mode === 'lstm' ? C0 : undefined } : {});
      const inp = withState ? { h0: t64(H0), c0: mode === 'lstm' ? t64(C0) : undefined } : {};
      const r = layer.forward(t64(X), inp);
      expect(r.output.shape).toEqual([3, 2, 2]);
      expectClose(r.output, flat3(ref.output));
      expectClose(r.hN, flat3(ref.hN));
      if (mode === 'lstm') expectClose(r.cN!, flat3(ref.cN!));
      else expect(r.cN).toBeUndefined();
      // the relu case must actually exercise both sides of the kink
      if (mode === 'rnn_relu') {
        const o = r.output.toFlatArray();
        expect(o.some((v) => v === 0)).toBe(true);
        expect(o.some((v) => v > 0)).toBe(true);
      }
    }
  });
});

// One unit (I = H = 1), two steps, every formula written out. Weights are chosen so that the
// alternatives one could get wrong (GRU's r before W_hn, a different LSTM gate order, b_hn
// outside r) give different numbers: each check below would fail on them.
describe.each([true, false])('one unit, written out (fused: %s)', (fused) => {
  const x1 = 0.7;
  const x2 = -1.3;
  const h0 = 0.4;
  const run = (layer: RecurrentLayer, sd: Record<string, number[]>, c0?: number) => {
    layer.loadStateDict(Object.fromEntries(Object.entries(sd).map(([k, d]) => [k, { shape: k.startsWith('weight') ? [d.length, 1] : [d.length], data: d }])));
    const r = layer.forward(tensor([x1, x2], [2, 1, 1], 'float64'), { h0: tensor([h0], [1, 1, 1], 'float64'), c0: c0 === undefined ? undefined : tensor([c0], [1, 1, 1], 'float64') });
    return { out: r.output.toFlatArray(), c: r.cN?.toFlatArray()[0] };
  };

  test('SimpleRNN tanh: h_t = tanh(w x_t + b_i + u h_{t−1} + b_h)', () => {
    const [w, u, bi, bh] = [0.9, -0.6, 0.1, -0.25];
    const h1 = Math.tanh(w * x1 + bi + u * h0 + bh);
    const h2 = Math.tanh(w * x2 + bi + u * h1 + bh);
    const { out } = run(make('rnn_tanh', { inputSize: 1, hiddenSize: 1, fused }), { weight_ih_l0: [w], weight_hh_l0: [u], bias_ih_l0: [bi], bias_hh_l0: [bh] });
    expect(out[0]).toBeCloseTo(h1, 14);
    expect(out[1]).toBeCloseTo(h2, 14);
  });

  test('LSTM, gates in order i, f, g, o', () => {
    const wi = [0.5, -0.8, 1.2, 0.3]; // W_ii, W_if, W_ig, W_io
    const wh = [-0.4, 0.9, 0.2, -1.1];
    const bi = [0.1, 0.6, -0.3, 0.2];
    const bh = [-0.2, 0.3, 0.05, -0.15];
    const c0 = -0.8;
    const step = (x: number, h: number, c: number) => {
      const pre = (g: number) => wi[g] * x + bi[g] + wh[g] * h + bh[g];
      const [i, f, g, o] = [sig(pre(0)), sig(pre(1)), Math.tanh(pre(2)), sig(pre(3))];
      const cN = f * c + i * g;
      return { h: o * Math.tanh(cN), c: cN };
    };
    const s1 = step(x1, h0, c0);
    const s2 = step(x2, s1.h, s1.c);
    const { out, c } = run(make('lstm', { inputSize: 1, hiddenSize: 1, fused }), { weight_ih_l0: wi, weight_hh_l0: wh, bias_ih_l0: bi, bias_hh_l0: bh }, c0);
    expect(out[0]).toBeCloseTo(s1.h, 14);
    expect(out[1]).toBeCloseTo(s2.h, 14);
    expect(c).toBeCloseTo(s2.c, 14);
    // the order matters for these weights: i and f swapped would give another h
    const swapped = (x: number, h: number, cc: number) => {
      const pre = (g: number) => wi[g] * x + bi[g] + wh[g] * h + bh[g];
      const cN = sig(pre(0)) * cc + sig(pre(1)) * Math.tanh(pre(2));
      return sig(pre(3)) * Math.tanh(cN);
    };
    expect(Math.abs(swapped(x1, h0, c0) - s1.h)).toBeGreaterThan(1e-3);
  });

  test('GRU, PyTorch formulation: n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h′ = (1 − z) n + z h', () => {
    const wi = [0.5, -0.8, 1.2]; // W_ir, W_iz, W_in
    const wh = [-0.4, 0.9, 0.7];
    const bi = [0.1, 0.6, -0.3];
    const bh = [-0.2, 0.3, 0.45];
    const step = (x: number, h: number, variant: 'torch' | 'rBeforeMatmul' = 'torch') => {
      const r = sig(wi[0] * x + bi[0] + wh[0] * h + bh[0]);
      const z = sig(wi[1] * x + bi[1] + wh[1] * h + bh[1]);
      const n = Math.tanh(wi[2] * x + bi[2] + (variant === 'torch' ? r * (wh[2] * h + bh[2]) : wh[2] * (r * h) + bh[2]));
      return (1 - z) * n + z * h;
    };
    const h1 = step(x1, h0);
    const h2 = step(x2, h1);
    const { out } = run(make('gru', { inputSize: 1, hiddenSize: 1, fused }), { weight_ih_l0: wi, weight_hh_l0: wh, bias_ih_l0: bi, bias_hh_l0: bh });
    expect(out[0]).toBeCloseTo(h1, 14);
    expect(out[1]).toBeCloseTo(h2, 14);
    expect(Math.abs(step(x1, h0, 'rBeforeMatmul') - h1)).toBeGreaterThan(1e-3);
  });

  test('the plain-loop reference agrees with the written-out formulas (so it can serve as the oracle)', () => {
    const wi = [0.5, -0.8, 1.2];
    const wh = [-0.4, 0.9, 0.7];
    const bi = [0.1, 0.6, -0.3];
    const bh = [-0.2, 0.3, 0.45];
    const e = (d: number[], w: boolean): Entry => ({ shape: w ? [d.length, 1] : [d.length], data: d });
    const ref = refForward({ mode: 'gru', inputSize: 1, hiddenSize: 1, numLayers: 1, bidirectional: false, bias: true },
      { weight_ih_l0: e(wi, true), weight_hh_l0: e(wh, true), bias_ih_l0: e(bi, false), bias_hh_l0: e(bh, false) }, [[[x1]], [[x2]]], { h0: [[[h0]]] });
    const { out } = run(make('gru', { inputSize: 1, hiddenSize: 1, fused }), { weight_ih_l0: wi, weight_hh_l0: wh, bias_ih_l0: bi, bias_hh_l0: bh });
    expect(flat3(ref.output)).toEqual(out.map((v) => expect.closeTo(v, 14)));
  });
});

describe('fused and composed agree on larger stacks', () => {
  test.each(['rnn_tanh', 'lstm', 'gru'] as const)('%s, 2 layers, bidirectional, with lengths', (mode) => {
    const a = make(mode, { inputSize: 3, hiddenSize: 4, fused: true, numLayers: 2, bidirectional: true });
    const b = make(mode, { inputSize: 3, hiddenSize: 4, fused: false, numLayers: 2, bidirectional: true });
    b.loadStateDict(a.stateDict());
    const x = tensor(Array.from({ length: 5 * 3 * 3 }, (_, i) => Math.sin(i * 1.37)), [5, 3, 3], 'float64');
    const ra = a.forward(x, { lengths: [5, 2, 0] });
    const rb = b.forward(x, { lengths: [5, 2, 0] });
    expectClose(ra.output, rb.output.toFlatArray(), 1e-12);
    expectClose(ra.hN, rb.hN.toFlatArray(), 1e-12);
  });
});
