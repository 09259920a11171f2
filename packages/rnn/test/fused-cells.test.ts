import fc from 'fast-check';
import { DType, Rng, Tensor, normal } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { OpDef, Tape, apply, gradCheck, grad } from '@unfold/autodiff';
import {
  CellKind, CellStep, COMPOSED, FUSED, GRU, LSTM, SimpleRNN, RecurrentLayer, computeGradients,
  gruCellOp, lstmCellOp, rnnReluCellOp, rnnTanhCellOp, setSequenceKernels,
} from '../src';
import { maxErr } from './max-err';

// The fused cell kernels (cells/fused-*.ts) against their composed twins (cells/composed.ts):
// same values (1e-12) and same gradients w.r.t. every input (1e-10) in float64, finite
// differences on the fused ops themselves, whole layers fused vs composed, one tape record per
// step, float32 agreement, and a 1 %-wrong VJP that the comparison must catch.

interface Case {
  kind: CellKind;
  op: OpDef<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  G: number;
  nState: 1 | 2;
}
const CASES: Case[] = [
  { kind: 'rnn_tanh', op: rnnTanhCellOp, G: 1, nState: 1 },
  { kind: 'rnn_relu', op: rnnReluCellOp, G: 1, nState: 1 },
  { kind: 'lstm', op: lstmCellOp, G: 4, nState: 2 },
  { kind: 'gru', op: gruCellOp, G: 3, nState: 1 },
];


/**
 * A [rows, cols] tensor holding `src`'s values in one of four layouts:
 * 0 contiguous; 1 a transposed view (unit row stride: the kernels copy it);
 * 2 every other row of a bigger tensor (read in place, ld = 2·cols); 3 rows reversed (ld < 0).
 */
function layout(src: Tensor, mode: number): Tensor {
  const [rows, cols] = src.shape;
  if (mode === 1) {
    const t = Tensor.empty([cols, rows], src.dtype);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t.set(src.get(i, j), j, i);
    return t.transpose();
  }
  if (mode === 2) {
    const big = normal([2 * rows, cols], 0, 1, { dtype: src.dtype });
    const v = big.slice({ step: 2 });
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) v.set(src.get(i, j), i, j);
    return v;
  }
  if (mode === 3) {
    const t = Tensor.empty([rows, cols], src.dtype);
    const v = t.slice({ step: -1 });
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) v.set(src.get(i, j), i, j);
    return v;
  }
  return src;
}

interface Args {
  B: number;
  H: number;
  bias: boolean;
  scale: number;
  seed: number;
  modes: number[]; // layout of xp, h, c, whh
}

const arbArgs = fc.record({
  B: fc.integer({ min: 1, max: 4 }),
  H: fc.integer({ min: 1, max: 6 }),
  bias: fc.boolean(),
  scale: fc.constantFrom(0.5, 1, 3, 30), // 30: saturated gates
  seed: fc.integer({ min: 0, max: 1e6 }),
  modes: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 4, maxLength: 4 }),
});

/** The op's inputs [xp, h, (c), whh, (bhh)] and random cotangents for its outputs. */
function makeInputs(c: Case, a: Args, dtype: DType = 'float64'): { xs: Tensor[]; us: Tensor[] } {
  const rng = new Rng(a.seed);
  const r = (shape: number[], std: number) => normal(shape, 0, std, { rng, dtype });
  const GH = c.G * a.H;
  const xp = layout(r([a.B, GH], a.scale), a.modes[0]);
  const h = layout(r([a.B, a.H], 1), a.modes[1]);
  const cc = layout(r([a.B, a.H], a.scale), a.modes[2]);
  const whh = layout(r([GH, a.H], a.scale / Math.sqrt(a.H)), a.modes[3]);
  const bhh = r([GH], a.scale);
  const xs = [xp, h, ...(c.nState === 2 ? [cc] : []), whh, ...(a.bias ? [bhh] : [])];
  const us = Array.from({ length: c.nState }, () => r([a.B, a.H], 1));
  return { xs, us };
}

function run(step: CellStep, c: Case, xs: Tensor[]): Tensor[] {
  const state = xs.slice(1, 1 + c.nState);
  return step(xs[0], state, xs[1 + c.nState], xs[2 + c.nState] ?? null);
}

/** ⟨u, outputs⟩ summed over the outputs (h' and, for LSTM, c'), each with its own cotangent. */
const projection = (step: CellStep, c: Case, us: Tensor[]) => (xs: Tensor[]) =>
  run(step, c, xs).map((o, k) => ad.sum(ad.mul(o, us[k]))).reduce((p, q) => ad.add(p, q));

/** Worst value and gradient errors of the fused cell against the composed one. */
function compare(c: Case, a: Args, dtype: DType = 'float64'): { value: number; grad: number } {
  const { xs, us } = makeInputs(c, a, dtype);
  const vF = run(FUSED[c.kind], c, xs);
  const vC = run(COMPOSED[c.kind], c, xs);
  const value = Math.max(...vF.map((v, k) => maxErr(v, vC[k])));
  const gF = grad(projection(FUSED[c.kind], c, us))(xs);
  const gC = grad(projection(COMPOSED[c.kind], c, us))(xs);
  return { value, grad: Math.max(...gF.map((g, k) => maxErr(g, gC[k]))) };
}

describe.each(CASES)('$kind', (c) => {
  test('fused = composed: values 1e-12, gradients w.r.t. every input 1e-10 (float64)', () => {
    fc.assert(
      fc.property(arbArgs, (a) => {
        const e = compare(c, a);
        expect(e.value).toBeLessThanOrEqual(1e-12);
        expect(e.grad).toBeLessThanOrEqual(1e-10);
      }),
      { numRuns: 60 },
    );
  });

  test('gradCheck of the fused op over all its inputs', () => {
    fc.assert(
      fc.property(arbArgs.map((a) => ({ ...a, scale: Math.min(a.scale, 3) })), (a) => {
        const { xs } = makeInputs(c, a);
        const rep = gradCheck((...ins) => ad.concat(apply(c.op, ins, {}), 1), xs, { seed: a.seed });
        expect(rep.toString()).toMatch(/passed/);
      }),
      { numRuns: 15 },
    );
  });

  test('float32 agrees with composed to ~1e-5', () => {
    fc.assert(
      fc.property(arbArgs.map((a) => ({ ...a, scale: Math.min(a.scale, 3) })), (a) => {
        const e = compare(c, a, 'float32');
        expect(e.value).toBeLessThanOrEqual(1e-5);
        expect(e.grad).toBeLessThanOrEqual(1e-5);
      }),
      { numRuns: 30 },
    );
  });

  test('a VJP with one gate term 1 % off is caught (comparison and gradCheck)', () => {
    const a: Args = { B: 3, H: 4, bias: true, scale: 1, seed: 11, modes: [0, 0, 0, 0] };
    const good = c.op.vjp;
    // Scale gate 1's block of dxp (f for LSTM, z for GRU; the only gate for RNN) by 1.01.
    const gate = c.G === 1 ? 0 : 1;
    c.op.vjp = (...args) => {
      const out = good(...args);
      const dxp = out[0] as Tensor;
      for (let b = 0; b < a.B; b++) for (let j = 0; j < a.H; j++) dxp.data[b * c.G * a.H + gate * a.H + j] *= 1.01;
      return out;
    };
    try {
      expect(compare(c, a).grad).toBeGreaterThan(1e-4);
      const { xs } = makeInputs(c, a);
      expect(gradCheck((...ins) => ad.concat(apply(c.op, ins, {}), 1), xs).ok).toBe(false);
    } finally {
      c.op.vjp = good;
    }
    expect(compare(c, a).grad).toBeLessThanOrEqual(1e-10);
  });
});

// ---- whole layers ------------------------------------------------------------------------

type Ctor = (o: ConstructorParameters<typeof LSTM>[0]) => RecurrentLayer;
const LAYERS: [string, Ctor][] = [
  ['LSTM', (o) => new LSTM(o)],
  ['GRU', (o) => new GRU(o)],
  ['SimpleRNN tanh', (o) => new SimpleRNN({ ...o, nonlinearity: 'tanh' })],
  ['SimpleRNN relu', (o) => new SimpleRNN({ ...o, nonlinearity: 'relu' })],
];

interface LayerCfg {
  T: number;
  B: number;
  I: number;
  H: number;
  numLayers: number;
  bidirectional: boolean;
  bias: boolean;
  lengths?: number[];
}

/** Outputs and every parameter gradient of ⟨U, output⟩ + ⟨V, hN⟩ (+ ⟨W, cN⟩). */
function layerRun(make: Ctor, cfg: LayerCfg, fused: boolean, dtype: DType) {
  const layer = make({ inputSize: cfg.I, hiddenSize: cfg.H, numLayers: cfg.numLayers, bidirectional: cfg.bidirectional, bias: cfg.bias, fused, seed: 7, dtype });
  const rng = new Rng(99);
  const D = cfg.bidirectional ? 2 : 1;
  const x = normal([cfg.T, cfg.B, cfg.I], 0, 1, { rng, dtype });
  const U = normal([cfg.T, cfg.B, D * cfg.H], 0, 1, { rng, dtype });
  const V = normal([cfg.numLayers * D, cfg.B, cfg.H], 0, 1, { rng, dtype });
  const W = normal([cfg.numLayers * D, cfg.B, cfg.H], 0, 1, { rng, dtype });
  const r = computeGradients(layer, () => {
    const out = layer.forward(x, { lengths: cfg.lengths });
    let loss = ad.add(ad.sum(ad.mul(out.output, U)), ad.sum(ad.mul(out.hN, V)));
    if (out.cN) loss = ad.add(loss, ad.sum(ad.mul(out.cN, W)));
    return { loss, out };
  });
  return { out: [r.out.output, r.out.hN, ...(r.out.cN ? [r.out.cN] : [])], grads: layer.parameters().map((p) => [p.name, p.grad as Tensor] as const) };
}

const CFGS: [string, LayerCfg][] = [
  ['1 layer', { T: 6, B: 3, I: 4, H: 5, numLayers: 1, bidirectional: false, bias: true }],
  ['no bias', { T: 4, B: 2, I: 3, H: 4, numLayers: 1, bidirectional: false, bias: false }],
  ['2 layers, bidirectional, lengths', { T: 5, B: 3, I: 2, H: 3, numLayers: 2, bidirectional: true, bias: true, lengths: [5, 2, 0] }],
];

describe.each(LAYERS)('%s layer: fused vs composed', (_name, make) => {
  test.each(CFGS)('%s: same outputs and parameter gradients (float64)', (_c, cfg) => {
    const f = layerRun(make, cfg, true, 'float64');
    const c = layerRun(make, cfg, false, 'float64');
    f.out.forEach((o, k) => expect(maxErr(o, c.out[k])).toBeLessThanOrEqual(1e-12));
    expect(f.grads.map(([n]) => n)).toEqual(c.grads.map(([n]) => n));
    f.grads.forEach(([n, g], k) => {
      const e = maxErr(g, c.grads[k][1]);
      if (e > 1e-10) throw new Error(`${n}: gradient differs by ${e}`);
    });
  });

  test('float32 layer agrees to ~1e-5', () => {
    const cfg = CFGS[0][1];
    const f = layerRun(make, cfg, true, 'float32');
    const c = layerRun(make, cfg, false, 'float32');
    f.out.forEach((o, k) => expect(maxErr(o, c.out[k])).toBeLessThanOrEqual(1e-5));
    f.grads.forEach(([, g], k) => expect(maxErr(g, c.grads[k][1])).toBeLessThanOrEqual(1e-5));
  });
});

test.each(CASES)('one $kind tape record per time step', (c) => {
  const T = 5;
  const make = LAYERS.find(([n]) => n === { lstm: 'LSTM', gru: 'GRU', rnn_tanh: 'SimpleRNN tanh', rnn_relu: 'SimpleRNN relu' }[c.kind])![1];
  const layer = make({ inputSize: 3, hiddenSize: 4, fused: true, seed: 1, dtype: 'float64' });
  const tape = new Tape();
  tape.watch(...layer.parameters().map((p) => p.value));
  // the per-step path (the default runs the whole sequence as one record: layers-sequence.test.ts)
  const was = setSequenceKernels(false);
  try {
    tape.run(() => layer.forward(normal([T, 2, 3], 0, 1, { dtype: 'float64' })));
  } finally {
    setSequenceKernels(was);
  }
  const stepped = tape.entries.filter((r) => r.step !== undefined);
  expect(stepped.map((r) => [r.step, r.op])).toEqual(Array.from({ length: T }, (_, t) => [t + 1, c.op.name]));
  // The composed cell, for contrast, records several ops per step.
  const composed = make({ inputSize: 3, hiddenSize: 4, fused: false, seed: 1, dtype: 'float64' });
  const tape2 = new Tape();
  tape2.watch(...composed.parameters().map((p) => p.value));
  tape2.run(() => composed.forward(normal([T, 2, 3], 0, 1, { dtype: 'float64' })));
  expect(tape2.entries.filter((r) => r.step === 1).length).toBeGreaterThan(1);
});

test('argument errors name the op and the shapes', () => {
  const z = (s: number[], dtype: DType = 'float64') => Tensor.empty(s, dtype);
  expect(() => apply(lstmCellOp, [z([2, 11]), z([2, 3]), z([2, 3]), z([12, 3])], {})).toThrow('lstmCell: xp [2,11] must be [B, 4·H] = [2,12] for h [2,3]');
  expect(() => apply(gruCellOp, [z([2, 9]), z([2, 3]), z([9, 4])], {})).toThrow('gruCell: whh [9,4] must be [3·H, H] = [9,3]');
  expect(() => apply(rnnTanhCellOp, [z([2, 3]), z([2, 3]), z([3, 3]), z([4])], {})).toThrow('rnnTanhCell: bhh [4] must be [1·H] = [3]');
  expect(() => apply(rnnReluCellOp, [z([2, 3]), z([2, 3], 'float32'), z([3, 3])], {})).toThrow(/rnnReluCell: mixed dtypes/);
  expect(() => apply(lstmCellOp, [z([2, 12]), z([2, 3]), z([2, 3])], {})).toThrow(/lstmCell: expected inputs \[xp, h, c, whh\[, bhh\]\], got 3/);
});
