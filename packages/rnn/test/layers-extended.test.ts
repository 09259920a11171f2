import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { Rng, Tensor, tensor, zeros } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { gradCheck } from '@unfold/autodiff';
import { GRU, LSTM, RecurrentLayer, RecurrentOptions, SimpleRNN, layerFromTorchConfig, torchConfigOf } from '@unfold/rnn';
import { maxErr } from './max-err';

// The layer options beyond PyTorch's defaults (layers/extended.ts): against tfjs-layers (Keras
// semantics: GRU reset_after=False, activations, go_backwards, merge modes) and torch (proj_size)
// on committed fixtures, then gradient-checked in float64 over generated shapes.
interface E { shape: number[]; data: number[] }
const load = (f: string) => JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', f), 'utf8'));
const T64 = (e: E) => tensor(e.data, e.shape, 'float64');

// ---- tfjs-layers -----------------------------------------------------------------------------
interface TfCase { name: string; config: Record<string, unknown> & { layer?: { className: string; config: Record<string, unknown> }; mergeMode?: string }; weights: E[]; x: E; y: E }
const tfjs = load('tfjs_layers.json') as { source: string; cases: TfCase[] };

/** Keras [I, G·H] kernel → torch/Unfold [G·H, I], with the gate blocks reordered (GRU: z,r,h → r,z,n). */
function fromKeras(w: E, G: number, gru: boolean): E {
  const [rows, cols] = w.shape.length === 2 ? w.shape : [1, w.shape[0]];
  const H = cols / G;
  const order = gru ? [1, 0, 2] : Array.from({ length: G }, (_, g) => g);
  const out: number[] = [];
  for (const g of order) for (let j = 0; j < H; j++) for (let i = 0; i < rows; i++) out.push(w.data[i * cols + g * H + j]);
  return { shape: w.shape.length === 2 ? [cols, rows] : [cols], data: out };
}

function tfLayer(c: TfCase): { layer: RecurrentLayer; sd: Record<string, E> } {
  const bidi = c.config.layer !== undefined;
  const cfg = bidi ? c.config.layer!.config : c.config;
  const cls = bidi ? c.config.layer!.className : (c.name.startsWith('gru') ? 'GRU' : c.name.startsWith('lstm') ? 'LSTM' : 'SimpleRNN');
  const G = cls === 'GRU' ? 3 : cls === 'LSTM' ? 4 : 1;
  const I = c.x.shape[2];
  const H = cfg.units as number;
  const o: RecurrentOptions = { inputSize: I, hiddenSize: H, batchFirst: true, dtype: 'float64', activation: cfg.activation as never, goBackwards: cfg.goBackwards as boolean };
  if (G > 1) o.recurrentActivation = cfg.recurrentActivation as never;
  if (bidi) Object.assign(o, { bidirectional: true, mergeMode: c.config.mergeMode });
  const layer = cls === 'GRU' ? new GRU({ ...o, resetAfter: false }) : cls === 'LSTM' ? new LSTM(o) : new SimpleRNN(o);
  const sd: Record<string, E> = {};
  for (let d = 0; d < (bidi ? 2 : 1); d++) {
    const [k, rk, b] = c.weights.slice(3 * d, 3 * d + 3);
    const sfx = `_l0${d ? '_reverse' : ''}`;
    sd[`weight_ih${sfx}`] = fromKeras(k, G, G === 3);
    sd[`weight_hh${sfx}`] = fromKeras(rk, G, G === 3);
    sd[`bias_ih${sfx}`] = fromKeras(b, G, G === 3);
    sd[`bias_hh${sfx}`] = { shape: [G * H], data: new Array(G * H).fill(0) }; // Keras has one bias
  }
  layer.loadStateDict(sd);
  return { layer, sd };
}

describe(`layer options against ${tfjs.source} (Keras semantics)`, () => {
  test.each(tfjs.cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const { layer } = tfLayer(c);
    const y = ad.noGrad(() => layer.forward(T64(c.x)).output);
    expect(maxErr(y, T64(c.y))).toBeLessThan(2e-6); // tfjs computes in float32
  });

  test('negative controls: PyTorch\'s GRU form, no reversal, a different merge all miss tfjs', () => {
    const cho = tfjs.cases.find((c) => c.name === 'gru resetAfter false')!;
    const { sd } = tfLayer(cho);
    const torchForm = new GRU({ inputSize: 2, hiddenSize: 3, batchFirst: true, dtype: 'float64' });
    torchForm.loadStateDict(sd);
    expect(maxErr(ad.noGrad(() => torchForm.forward(T64(cho.x)).output), T64(cho.y))).toBeGreaterThan(1e-3);
    const back = tfjs.cases.find((c) => c.name === 'lstm goBackwards')!;
    const fwd = new LSTM({ inputSize: 3, hiddenSize: 2, batchFirst: true, dtype: 'float64' });
    fwd.loadStateDict(tfLayer(back).sd);
    expect(maxErr(ad.noGrad(() => fwd.forward(T64(back.x)).output), T64(back.y))).toBeGreaterThan(1e-3);
    const sum = tfjs.cases.find((c) => c.name === 'bidirectional lstm sum')!;
    const ave = tfjs.cases.find((c) => c.name === 'bidirectional lstm ave')!;
    const { layer } = tfLayer({ ...ave, weights: sum.weights });
    expect(maxErr(ad.noGrad(() => layer.forward(T64(sum.x)).output), T64(sum.y))).toBeGreaterThan(1e-3);
  });
});

// ---- torch proj_size ----------------------------------------------------------------------------
interface ProjCase { config: { inputSize: number; hiddenSize: number; projSize: number; numLayers: number; bidirectional: boolean }; stateDict: Record<string, E>; x: E; h0: E; c0: E; u: E; output: E; hN: E; cN: E; grads: Record<string, E>; dx: E }
const proj = load('torch_proj.json') as { source: string; cases: ProjCase[] };

describe(`LSTM projSize against ${proj.source}`, () => {
  test.each(proj.cases.map((c) => [JSON.stringify(c.config), c] as const))('%s', (_, c) => {
    const layer = new LSTM({ ...c.config, dtype: 'float64' });
    expect(layer.namedParameters().map(([n, p]) => [n, p.value.shape])).toEqual(Object.entries(c.stateDict).map(([n, e]) => [n, e.shape]));
    layer.loadStateDict(c.stateDict);
    const params = layer.parameters();
    const originals = params.map((p) => p.value);
    const f = ([x, ...ps]: Tensor[]) => {
      ps.forEach((p, i) => (params[i].value = p));
      const r = layer.forward(x, { h0: T64(c.h0), c0: T64(c.c0) });
      return ad.sum(ad.mul(r.output, T64(c.u)));
    };
    const { grads } = ad.valueAndGrad(f)([T64(c.x), ...originals]);
    params.forEach((p, i) => (p.value = originals[i]));
    const r = ad.noGrad(() => layer.forward(T64(c.x), { h0: T64(c.h0), c0: T64(c.c0) }));
    expect(maxErr(r.output, T64(c.output))).toBeLessThan(1e-13);
    expect(maxErr(r.hN, T64(c.hN))).toBeLessThan(1e-13);
    expect(maxErr(r.cN!, T64(c.cN))).toBeLessThan(1e-13);
    expect(maxErr(grads[0], T64(c.dx))).toBeLessThan(1e-12);
    params.forEach((p, i) => expect(maxErr(grads[1 + i], T64(c.grads[p.name]))).toBeLessThan(1e-12));
  });
});

// ---- gradient checks ---------------------------------------------------------------------------
function rand(shape: number[], rng: Rng): Tensor {
  return tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.next() * 2 - 1), shape, 'float64');
}
/** gradCheck of a layer w.r.t. x and every parameter; the dropout stream is rewound before each evaluation, so a training-mode mask is the same at every probe. */
function check(layer: RecurrentLayer, x: Tensor, seed: number) {
  const params = layer.parameters();
  const originals = params.map((p) => p.value);
  const rngs = layer.rngStates();
  const f = (xi: Tensor, ...ps: Tensor[]) => {
    ps.forEach((p, i) => (params[i].value = p));
    layer.setRngStates(rngs);
    const r = layer.forward(xi);
    return ad.concat([r.output, r.hN, ...(r.cN ? [r.cN] : [])].map((t) => ad.reshape(t, [-1])), 0);
  };
  try {
    return gradCheck(f, [x, ...originals], { seed, maxElementsPerInput: 6 });
  } finally {
    params.forEach((p, i) => (p.value = originals[i]));
  }
}

const OPTIONS: [string, 'rnn' | 'lstm' | 'gru', Partial<RecurrentOptions>][] = [
  ['gru resetAfter false', 'gru', { resetAfter: false }],
  ['lstm relu / hardSigmoid', 'lstm', { activation: 'relu', recurrentActivation: 'hardSigmoid' }],
  ['rnn sigmoid activation', 'rnn', { activation: 'sigmoid' }],
  ['gru linear activation', 'gru', { activation: 'linear' }],
  ['lstm goBackwards', 'lstm', { goBackwards: true }],
  ['gru bidirectional sum', 'gru', { bidirectional: true, mergeMode: 'sum' }],
  ['lstm bidirectional mul, 2 layers', 'lstm', { bidirectional: true, mergeMode: 'mul', numLayers: 2 }],
  ['rnn bidirectional ave', 'rnn', { bidirectional: true, mergeMode: 'ave' }],
  ['lstm recurrentDropout', 'lstm', { recurrentDropout: 0.4 }],
  ['gru recurrentDropout, resetAfter false', 'gru', { recurrentDropout: 0.3, resetAfter: false }],
  ['lstm projSize, bidirectional, 2 layers', 'lstm', { projSize: 2, bidirectional: true, numLayers: 2 }],
];

describe('layer options: gradCheck in float64 over generated shapes', () => {
  test.each(OPTIONS)('%s', (_, kind, extra) => {
    fc.assert(
      fc.property(fc.record({ T: fc.integer({ min: 1, max: 3 }), B: fc.integer({ min: 1, max: 2 }), I: fc.integer({ min: 1, max: 3 }), H: fc.integer({ min: 3, max: 4 }), seed: fc.integer({ min: 1, max: 999 }) }), ({ T, B, I, H, seed }) => {
        const o = { inputSize: I, hiddenSize: H, dtype: 'float64' as const, seed, ...extra };
        const layer = kind === 'lstm' ? new LSTM(o) : kind === 'gru' ? new GRU(o) : new SimpleRNN(o);
        const rep = check(layer, rand([T, B, I], new Rng(seed)), seed);
        if (!rep.ok) throw new Error(`T${T} B${B} I${I} H${H}: ${rep.toString()}`);
      }),
      { numRuns: 4, seed: 5 },
    );
  });

  test('the check can fail: a layer whose recorded path is 1 % off is caught', () => {
    const layer = new GRU({ inputSize: 2, hiddenSize: 3, dtype: 'float64', resetAfter: false });
    const x = rand([2, 1, 2], new Rng(1));
    const f = (xi: Tensor) => {
      const y = layer.forward(xi).output;
      return ad.activeTape() ? ad.mul(y, 1.01) : y;
    };
    expect(gradCheck(f, [x], { seed: 1 }).ok).toBe(false);
  });
});

// ---- stateful, recurrent dropout, regularizers ---------------------------------------------------
describe('stateful', () => {
  test('two calls carry the state: equal to one call over the whole sequence', () => {
    const o = { inputSize: 2, hiddenSize: 3, numLayers: 2, dtype: 'float64' as const, seed: 3 };
    const whole = new LSTM(o);
    const parts = new LSTM({ ...o, stateful: true });
    const x = rand([6, 2, 2], new Rng(7));
    const a = ad.noGrad(() => whole.forward(x).output);
    const b1 = ad.noGrad(() => parts.forward(ad.slice(x, { start: 0, stop: 4 })).output);
    const b2 = ad.noGrad(() => parts.forward(ad.slice(x, { start: 4, stop: 6 })).output);
    expect(maxErr(ad.concat([b1, b2], 0), a)).toBe(0);
    parts.resetStates();
    expect(maxErr(ad.noGrad(() => parts.forward(ad.slice(x, { start: 4, stop: 6 })).output), ad.noGrad(() => whole.forward(ad.slice(x, { start: 4, stop: 6 })).output))).toBe(0);
    expect(() => parts.forward(rand([2, 3, 2], new Rng(1)))).toThrow('LSTM: stateful: the carried state is for a batch of 2, this input has 3 (call resetStates() first)');
  });
});

describe('recurrentDropout', () => {
  test('one mask per sequence, the same at every step; none in eval mode', () => {
    const o = { inputSize: 2, hiddenSize: 4, dtype: 'float64' as const, seed: 9 };
    const plain = new SimpleRNN(o);
    const drop = new SimpleRNN({ ...o, recurrentDropout: 0.5 });
    drop.loadStateDict(plain.stateDict());
    const x = rand([5, 3, 2], new Rng(2));
    drop.eval();
    expect(maxErr(ad.noGrad(() => drop.forward(x).output), ad.noGrad(() => plain.forward(x).output))).toBe(0);
    drop.train();
    // the mask the layer draws next from its stream, rebuilt here from the stream's state
    const rng = new Rng(0);
    rng.setState(drop.rngStates().dropout);
    const mask = ad.dropout(tensor(new Array(12).fill(1), [3, 4], 'float64'), 0.5, { training: true, rng }); // [B, H]
    const w = plain.weights(0);
    let h = zeros([3, 4], 'float64');
    const outs: Tensor[] = [];
    for (let t = 0; t < 5; t++) {
      h = ad.tanh(ad.add(ad.add(ad.linear(ad.slice(x, t), w.wih, w.bih), ad.matmul(ad.mul(h, mask), w.whh, { transB: true })), w.bhh!));
      outs.push(h);
    }
    expect(maxErr(ad.noGrad(() => drop.forward(x).output), ad.stack(outs, 0))).toBeLessThan(1e-15);
    expect(new Set(Array.from(mask.toFlatArray())).size).toBe(2); // some units are dropped: the test can fail
  });
});

describe('regularizers', () => {
  test('l1·Σ|w| + l2·Σw² over kernels, recurrent kernels and biases; gradient-checked', () => {
    const layer = new GRU({ inputSize: 2, hiddenSize: 3, bidirectional: true, dtype: 'float64', seed: 4, kernelRegularizer: { l2: 0.01 }, recurrentRegularizer: { l1: 0.001, l2: 0.002 }, biasRegularizer: { l1: 0.1 } });
    const sd = layer.stateDict();
    const sum = (names: string[], f: (v: number) => number) => names.reduce((a, n) => a + Array.from(sd[n].toFlatArray()).reduce((s, v) => s + f(v), 0), 0);
    const names = (p: string) => Object.keys(sd).filter((n) => n.startsWith(p));
    const want = 0.01 * sum(names('weight_ih'), (v) => v * v) + sum(names('weight_hh'), (v) => 0.001 * Math.abs(v) + 0.002 * v * v) + 0.1 * sum(names('bias'), Math.abs);
    expect(layer.regularizationLoss()!.item()).toBeCloseTo(want, 14);
    const params = layer.parameters();
    const originals = params.map((p) => p.value);
    const rep = gradCheck((...ps: Tensor[]) => {
      ps.forEach((p, i) => (params[i].value = p));
      return layer.regularizationLoss()!;
    }, originals, { seed: 3 });
    params.forEach((p, i) => (p.value = originals[i]));
    expect(rep.ok).toBe(true);
    expect(new LSTM({ inputSize: 1, hiddenSize: 2 }).regularizationLoss()).toBeNull();
  });
});

describe('option errors', () => {
  test.each([
    ['resetAfter on LSTM', () => new LSTM({ inputSize: 1, hiddenSize: 2, resetAfter: false }), 'LSTM: resetAfter is for GRU only'],
    ['projSize on GRU', () => new GRU({ inputSize: 1, hiddenSize: 2, projSize: 1 }), 'GRU: projSize is for LSTM only'],
    ['projSize ≥ hidden', () => new LSTM({ inputSize: 1, hiddenSize: 2, projSize: 2 }), 'projSize must be an integer in [0, hiddenSize = 2)'],
    ['mergeMode without bidirectional', () => new GRU({ inputSize: 1, hiddenSize: 2, mergeMode: 'sum' }), 'mergeMode needs bidirectional: true'],
    ['bad activation', () => new GRU({ inputSize: 1, hiddenSize: 2, activation: 'gelu' as never }), "activation must be one of tanh, sigmoid, relu, hardSigmoid, linear, got 'gelu'"],
    ['recurrentActivation on SimpleRNN', () => new SimpleRNN({ inputSize: 1, hiddenSize: 2, recurrentActivation: 'sigmoid' }), 'recurrentActivation is for LSTM and GRU'],
    ['recurrentDropout 1', () => new LSTM({ inputSize: 1, hiddenSize: 2, recurrentDropout: 1 }), 'recurrentDropout must be in [0, 1)'],
    ['regularizer typo', () => new LSTM({ inputSize: 1, hiddenSize: 2, kernelRegularizer: { L2: 1 } as never }), 'unknown kernelRegularizer option L2'],
    ['goBackwards with lengths', () => new LSTM({ inputSize: 1, hiddenSize: 2, goBackwards: true }).forward(zeros([2, 1, 1]), { lengths: [1] }), 'goBackwards with lengths is not supported'],
  ] as const)('%s', (_, f, msg) => {
    expect(f).toThrow(msg);
  });
});

describe('kernel routing', () => {
  test('options only the composed step implements turn the fused kernels off; the others keep them', () => {
    expect(new LSTM({ inputSize: 1, hiddenSize: 2 }).usesFusedKernels).toBe(true);
    expect(new GRU({ inputSize: 1, hiddenSize: 2, bidirectional: true, mergeMode: 'sum', goBackwards: true, stateful: true }).usesFusedKernels).toBe(true);
    for (const o of [{ resetAfter: false }, { activation: 'relu' as const }, { recurrentActivation: 'hardSigmoid' as const }, { recurrentDropout: 0.1 }]) {
      expect(new GRU({ inputSize: 1, hiddenSize: 2, ...o }).usesFusedKernels).toBe(false);
    }
    expect(new LSTM({ inputSize: 1, hiddenSize: 3, projSize: 2 }).usesFusedKernels).toBe(false);
  });
});

describe('torch config', () => {
  test('proj_size round-trips; Keras-only options have no torch config', () => {
    const c = torchConfigOf(new LSTM({ inputSize: 2, hiddenSize: 4, projSize: 3 }));
    expect(c.proj_size).toBe(3);
    expect(layerFromTorchConfig(c).stateSize).toBe(3);
    expect(() => torchConfigOf(new GRU({ inputSize: 2, hiddenSize: 3, resetAfter: false, bidirectional: true, mergeMode: 'sum' }))).toThrow('torchConfigOf: GRU uses resetAfter: false, mergeMode sum, which torch.nn has no option for');
  });
});
