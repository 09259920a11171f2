import { Tensor, tensor, zeros } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { GRU, LSTM, RecurrentLayer, RecurrentOptions, SimpleRNN } from '@unfold/rnn';
import { Mode, lcg, torchNames, torchShapes } from './layers-torchref';

// Dropout between layers, initialisers, PyTorch names and shapes, state-dict loading and
// the errors for bad options and inputs.

function make(mode: Mode, o: RecurrentOptions): RecurrentLayer {
  if (mode === 'lstm') return new LSTM(o);
  if (mode === 'gru') return new GRU(o);
  return new SimpleRNN({ ...o, nonlinearity: mode === 'rnn_relu' ? 'relu' : 'tanh' });
}
const G = { rnn_tanh: 1, rnn_relu: 1, lstm: 4, gru: 3 } as const;
const MODES = ['rnn_tanh', 'rnn_relu', 'lstm', 'gru'] as const;

const seq = (T: number, B: number, I: number, dtype: 'float32' | 'float64' = 'float32'): Tensor => {
  const r = lcg(T * 100 + B * 10 + I);
  return tensor(Array.from({ length: T * B * I }, () => r()), [T, B, I], dtype);
};

/** Runs fn on a tape that watches x and returns the ops it recorded. */
function opsOf(fn: (x: Tensor) => unknown, x: Tensor): string[] {
  const tape = new ad.Tape();
  tape.watch(x);
  tape.run(() => fn(x));
  return tape.entries.map((e) => e.op);
}

describe('dropout between layers', () => {
  const opts = { inputSize: 3, hiddenSize: 8, numLayers: 3, dropout: 0.5, seed: 4 };
  const x = seq(6, 4, 3);

  test('training: one dropout per layer boundary (L − 1), never inside the recurrence; masks are 0 or 1/(1−p)', () => {
    const layer = new LSTM(opts);
    const tape = new ad.Tape();
    tape.watch(x);
    tape.run(() => layer.forward(x));
    const drops = tape.entries.filter((e) => e.op === 'dropout');
    expect(drops.length).toBe(2);
    for (const d of drops) {
      expect(d.step).toBeUndefined(); // outside every unrolled step
      const m = d.saved[0].toFlatArray();
      expect(m.length).toBe(6 * 4 * 8);
      expect(m.every((v) => v === 0 || v === 2)).toBe(true);
      expect(m.filter((v) => v === 0).length).toBeGreaterThan(0.3 * m.length);
      expect(m.filter((v) => v === 0).length).toBeLessThan(0.7 * m.length);
    }
  });

  test('eval: no dropout recorded, deterministic, equal to the same weights with dropout 0', () => {
    const layer = new GRU(opts).eval();
    expect(opsOf((xi) => layer.forward(xi), x)).not.toContain('dropout');
    const a = layer.forward(x).output.toFlatArray();
    expect(layer.forward(x).output.toFlatArray()).toEqual(a);
    const plain = new GRU({ ...opts, dropout: 0 });
    plain.loadStateDict(layer.stateDict());
    expect(plain.forward(x).output.toFlatArray()).toEqual(a);
    // and in training mode it does change the output
    expect(layer.train().forward(x).output.toFlatArray()).not.toEqual(a);
  });

  test('same seed, same masks; another seed, other masks', () => {
    const run = (seed: number) => new SimpleRNN({ ...opts, seed }).forward(x).output.toFlatArray();
    expect(run(4)).toEqual(run(4));
    const a = new SimpleRNN({ ...opts, seed: 4 });
    const b = new SimpleRNN({ ...opts, seed: 5 });
    b.loadStateDict(a.stateDict()); // same weights, other rng state
    expect(b.forward(x).output.toFlatArray()).not.toEqual(a.forward(x).output.toFlatArray());
  });

  test('p = 0, or a single layer: the identity even in training', () => {
    for (const o of [{ ...opts, dropout: 0 }, { ...opts, numLayers: 1 }]) {
      const layer = new LSTM(o);
      expect(opsOf((xi) => layer.forward(xi), x)).not.toContain('dropout');
      const train = layer.forward(x).output.toFlatArray();
      expect(layer.eval().forward(x).output.toFlatArray()).toEqual(train);
    }
  });
});

describe('initialisers', () => {
  const blocks = (w: Tensor, H: number): Tensor[] => Array.from({ length: w.shape[0] / H }, (_, g) => w.slice({ start: g * H, stop: (g + 1) * H }));
  const gramErr = (b: Tensor): number => {
    let e = 0;
    for (let i = 0; i < b.shape[0]; i++) for (let j = 0; j < b.shape[0]; j++) {
      let s = 0;
      for (let k = 0; k < b.shape[1]; k++) s += b.get(i, k) * b.get(j, k);
      e = Math.max(e, Math.abs(s - (i === j ? 1 : 0)));
    }
    return e;
  };

  test.each(MODES)('%s: orthogonal W_hh, each gate block W Wᵀ = I (both layers, both directions)', (mode) => {
    const layer = make(mode, { inputSize: 3, hiddenSize: 6, numLayers: 2, bidirectional: true, init: { weightHh: 'orthogonal' }, seed: 1 });
    const sd = layer.stateDict();
    for (const n of Object.keys(sd).filter((k) => k.startsWith('weight_hh'))) {
      const bs = blocks(sd[n], 6);
      expect(bs.length).toBe(G[mode]);
      for (const b of bs) expect(gramErr(b)).toBeLessThan(1e-5);
      if (bs.length > 1) expect(bs[0].toFlatArray()).not.toEqual(bs[1].toFlatArray()); // independent draws
    }
  });

  test('identity W_hh (IRNN): every block is scale · I', () => {
    const layer = new SimpleRNN({ inputSize: 2, hiddenSize: 4, nonlinearity: 'relu', init: { weightHh: 'identity', identityScale: 0.5 } });
    expect(layer.weights(0).whh.toFlatArray()).toEqual([0.5, 0, 0, 0, 0, 0.5, 0, 0, 0, 0, 0.5, 0, 0, 0, 0, 0.5]);
    const gru = new GRU({ inputSize: 2, hiddenSize: 2, init: { weightHh: 'identity' } });
    expect(gru.weights(0).whh.toFlatArray()).toEqual([1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1]);
  });

  test('forgetBias: b_ih forget slice = value, b_hh forget slice = 0, the other slices untouched', () => {
    const H = 5;
    const layer = new LSTM({ inputSize: 2, hiddenSize: H, numLayers: 2, bidirectional: true, init: { forgetBias: 1 }, seed: 3 });
    const ref = new LSTM({ inputSize: 2, hiddenSize: H, numLayers: 2, bidirectional: true, seed: 3 });
    for (const [n, v] of Object.entries(layer.stateDict()).filter(([k]) => k.startsWith('bias'))) {
      const a = v.toFlatArray();
      const r = ref.stateDict()[n].toFlatArray();
      expect(a.slice(H, 2 * H)).toEqual(new Array(H).fill(n.startsWith('bias_ih') ? 1 : 0));
      expect([...a.slice(0, H), ...a.slice(2 * H)]).toEqual([...r.slice(0, H), ...r.slice(2 * H)]);
    }
  });

  test.each(MODES)('%s: PyTorch default, every parameter U(±1/√H) and spread over it', (mode) => {
    const H = 16;
    const layer = make(mode, { inputSize: 7, hiddenSize: H, numLayers: 2, bidirectional: true, seed: 2 });
    const all = Object.values(layer.stateDict()).flatMap((t) => t.toFlatArray());
    expect(Math.max(...all.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(H));
    expect(Math.max(...all)).toBeGreaterThan(0.98 / Math.sqrt(H));
    expect(Math.min(...all)).toBeLessThan(-0.98 / Math.sqrt(H));
    expect(Math.abs(all.reduce((a, b) => a + b, 0) / all.length)).toBeLessThan(0.02);
  });

  test('uniform range, zeros bias, xavier W_ih', () => {
    const layer = new GRU({ inputSize: 10, hiddenSize: 20, init: { weightIh: 'xavier', weightHh: 'uniform', bias: 'zeros', range: 0.08 }, seed: 5 });
    const w = layer.weights(0);
    const hh = w.whh.toFlatArray();
    expect(Math.max(...hh.map(Math.abs))).toBeLessThanOrEqual(0.08);
    expect(Math.max(...hh.map(Math.abs))).toBeGreaterThan(0.079);
    expect([...w.bih!.toFlatArray(), ...w.bhh!.toFlatArray()].every((v) => v === 0)).toBe(true);
    const bound = Math.sqrt(6 / (10 + 60)); // fan_in 10, fan_out G·H = 60, as torch.nn.init.xavier_uniform_ on [3H, I]
    const ih = w.wih.toFlatArray().map(Math.abs);
    expect(Math.max(...ih)).toBeLessThanOrEqual(bound);
    expect(Math.max(...ih)).toBeGreaterThan(0.97 * bound);
  });

  test('the same seed gives the same weights; float64 layers hold float64 weights', () => {
    const a = new LSTM({ inputSize: 3, hiddenSize: 4, seed: 9, dtype: 'float64' });
    const b = new LSTM({ inputSize: 3, hiddenSize: 4, seed: 9, dtype: 'float64' });
    expect(Object.values(a.stateDict()).map((t) => t.toFlatArray())).toEqual(Object.values(b.stateDict()).map((t) => t.toFlatArray()));
    expect(Object.values(a.stateDict()).every((t) => t.dtype === 'float64')).toBe(true);
  });
});

describe('state dict: PyTorch names and shapes', () => {
  test('a 2-layer bidirectional LSTM (I = 3, H = 4), spelled out', () => {
    const sd = new LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true }).stateDict();
    expect(Object.entries(sd).map(([n, t]) => `${n} ${t.shape.join('x')}`)).toEqual([
      'weight_ih_l0 16x3', 'weight_hh_l0 16x4', 'bias_ih_l0 16', 'bias_hh_l0 16',
      'weight_ih_l0_reverse 16x3', 'weight_hh_l0_reverse 16x4', 'bias_ih_l0_reverse 16', 'bias_hh_l0_reverse 16',
      'weight_ih_l1 16x8', 'weight_hh_l1 16x4', 'bias_ih_l1 16', 'bias_hh_l1 16',
      'weight_ih_l1_reverse 16x8', 'weight_hh_l1_reverse 16x4', 'bias_ih_l1_reverse 16', 'bias_hh_l1_reverse 16',
    ]);
  });

  test.each(MODES)('%s: names in torch order, shapes [G·H, I_k] / [G·H, H] / [G·H], for every shape of stack', (mode) => {
    for (const numLayers of [1, 3]) for (const bidirectional of [false, true]) for (const bias of [true, false]) {
      const layer = make(mode, { inputSize: 5, hiddenSize: 3, numLayers, bidirectional, bias });
      const cfg = { mode, inputSize: 5, hiddenSize: 3, numLayers, bidirectional, bias };
      const sd = layer.stateDict();
      expect(Object.keys(sd)).toEqual(torchNames(cfg));
      const shapes = torchShapes(cfg);
      for (const n of Object.keys(sd)) expect(sd[n].shape).toEqual(shapes[n]);
      expect(shapes[`weight_hh_l0`][0]).toBe(G[mode] * 3);
    }
  });

  test('loadStateDict: missing, extra, mis-shaped and NaN entries in ONE error; the layer unchanged', () => {
    const layer = new GRU({ inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, dtype: 'float64' });
    const before = Object.values(layer.stateDict()).map((t) => t.toFlatArray());
    const x = seq(3, 2, 3, 'float64');
    const outBefore = layer.forward(x).output.toFlatArray();
    const sd: Record<string, Tensor> = {};
    for (const [n, t] of Object.entries(new GRU({ inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, seed: 7 }).stateDict())) sd[n] = t.clone();
    delete sd['bias_hh_l1_reverse'];
    delete sd['weight_ih_l0'];
    sd['weight_ih_l2'] = zeros([12, 8]);
    sd['weight_hh_l1'] = zeros([16, 4]); // an LSTM's shape
    sd['bias_ih_l0'].data[5] = NaN;
    sd['bias_hh_l0'].data[0] = -Infinity;
    let msg = '';
    try {
      layer.loadStateDict(sd);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/^loadStateDict: GRU state dict does not fit \(nothing was loaded\)/);
    expect(msg).toContain('missing: weight_ih_l0, bias_hh_l1_reverse');
    expect(msg).toContain('unexpected: weight_ih_l2');
    expect(msg).toContain('weight_hh_l1: shape [16,4], expected [12,4]');
    expect(msg).toContain('bias_ih_l0: non-finite value NaN at flat index 5');
    expect(msg).toContain('bias_hh_l0: non-finite value -Infinity at flat index 0');
    expect(Object.values(layer.stateDict()).map((t) => t.toFlatArray())).toEqual(before);
    expect(layer.forward(x).output.toFlatArray()).toEqual(outBefore);
  });

  test('loading one layer\'s state dict into another gives the same function', () => {
    const a = new LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2, seed: 1, dtype: 'float64' });
    const b = new LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2, seed: 2, dtype: 'float64' });
    const x = seq(4, 2, 3, 'float64');
    expect(b.forward(x).output.toFlatArray()).not.toEqual(a.forward(x).output.toFlatArray());
    b.loadStateDict(a.stateDict());
    expect(b.forward(x).output.toFlatArray()).toEqual(a.forward(x).output.toFlatArray());
  });
});

describe('errors name the layer and the shapes', () => {
  const lstm = new LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2 });
  const gru = new GRU({ inputSize: 3, hiddenSize: 4, bidirectional: true, batchFirst: true });
  const x = seq(5, 2, 3);

  test('input rank, feature size, dtype, emptiness', () => {
    expect(() => lstm.forward(zeros([5, 3]))).toThrow(/^LSTM: input must be \[T, B, I\], got \[5,3\]/);
    expect(() => gru.forward(zeros([2, 5, 3, 1]))).toThrow(/^GRU: input must be \[B, T, I\], got \[2,5,3,1\]/);
    expect(() => lstm.forward([1, 2] as never)).toThrow(/^LSTM: input must be \[T, B, I\], got object/);
    expect(() => lstm.forward(zeros([5, 2, 4]))).toThrow(/^LSTM: input feature size 4 ≠ inputSize 3 \(input \[5,2,4\]\)/);
    expect(() => gru.forward(zeros([2, 5, 4]))).toThrow(/^GRU: input feature size 4 ≠ inputSize 3 \(input \[2,5,4\]\)/);
    expect(() => lstm.forward(seq(5, 2, 3, 'float64'))).toThrow(/^LSTM: input \[5,2,3\] is float64, layer is float32/);
    expect(() => lstm.forward(zeros([0, 2, 3]))).toThrow(/^LSTM: input \[0,2,3\] is empty \(T = 0, B = 2\)/);
  });

  test('h0 / c0', () => {
    expect(() => lstm.forward(x, { h0: zeros([1, 2, 4]) })).toThrow(/^LSTM: h0 must be \[2, 2, 4\] \(layers·directions, batch, hidden\) for input \[5,2,3\], got \[1,2,4\]/);
    expect(() => lstm.forward(x, { h0: zeros([2, 2, 4]), c0: zeros([2, 3, 4]) })).toThrow(/^LSTM: c0 must be \[2, 2, 4\] .* got \[2,3,4\]/);
    expect(() => lstm.forward(x, { h0: zeros([2, 2, 4], 'float64') })).toThrow(/^LSTM: h0 \[2,2,4\] is float64, layer is float32/);
    expect(() => gru.forward(zeros([2, 5, 3]), { h0: zeros([1, 2, 4]) })).toThrow(/^GRU: h0 must be \[2, 2, 4\]/);
    expect(() => gru.forward(zeros([2, 5, 3]), { c0: zeros([2, 2, 4]) })).toThrow(/^GRU: c0 is only for LSTM \(got c0 \[2,2,4\]\)/);
    expect(() => new SimpleRNN({ inputSize: 3, hiddenSize: 4 }).forward(x, { c0: zeros([1, 2, 4]) })).toThrow(/^SimpleRNN: c0 is only for LSTM/);
    expect(() => lstm.forward(x, { h0: [0] as never })).toThrow(/^LSTM: h0 must be \[2, 2, 4\].*got object/);
    expect(() => lstm.forward(x, { hx: zeros([2, 2, 4]) } as never)).toThrow(/^LSTM: unknown input field hx \(valid: h0, c0, lengths\)/);
  });

  test('lengths', () => {
    expect(() => lstm.forward(x, { lengths: [5, 6] })).toThrow(/^LSTM: lengths\[1\] = 6 is not an integer in \[0, T = 5\]/);
    expect(() => lstm.forward(x, { lengths: [2.5, 1] })).toThrow(/^LSTM: lengths\[0\] = 2.5 is not an integer/);
    expect(() => lstm.forward(x, { lengths: [-1, 1] })).toThrow(/^LSTM: lengths\[0\] = -1/);
    expect(() => lstm.forward(x, { lengths: [NaN, 1] })).toThrow(/^LSTM: lengths\[0\] = NaN/);
    expect(() => lstm.forward(x, { lengths: [5] })).toThrow(/^LSTM: lengths has 1 entries for a batch of 2 \(input \[5,2,3\], T = 5\)/);
    expect(() => lstm.forward(x, { lengths: 5 as never })).toThrow(/^LSTM: lengths must be an array of 2 integers, got number/);
    expect(() => gru.forward(zeros([2, 5, 3]), { lengths: [5, 6] })).toThrow(/^GRU: lengths\[1\] = 6 is not an integer in \[0, T = 5\] \(input \[2,5,3\]\)/);
    expect(lstm.forward(x, { lengths: new Int32Array([5, 0]) }).output.shape).toEqual([5, 2, 4]);
  });

  test('options', () => {
    expect(() => new LSTM({ inputSize: 3, hiddenSize: 4, hidenSize: 2 } as never)).toThrow(/^LSTM: unknown option hidenSize \(valid: /);
    expect(() => new LSTM({ inputSize: 3, hiddenSize: 4, nonlinearity: 'relu' } as never)).toThrow(/^LSTM: unknown option nonlinearity/);
    expect(() => new GRU({ inputSize: 3, hiddenSize: 4, nonlinearity: 'tanh' } as never)).toThrow(/^GRU: unknown option nonlinearity/);
    expect(() => new SimpleRNN({ inputSize: 3, hiddenSize: 4, nonlinearity: 'sigmoid' as never })).toThrow(/^SimpleRNN: nonlinearity must be 'tanh' or 'relu', got 'sigmoid'/);
    expect(() => new GRU({ inputSize: 0, hiddenSize: 4 })).toThrow(/^GRU: inputSize must be a positive integer, got 0/);
    expect(() => new GRU({ inputSize: 3, hiddenSize: 2.5 })).toThrow(/^GRU: hiddenSize must be a positive integer, got 2.5/);
    expect(() => new GRU({ inputSize: 3, hiddenSize: 4, numLayers: 0 })).toThrow(/^GRU: numLayers must be a positive integer, got 0/);
    expect(() => new GRU({ inputSize: 3, hiddenSize: 4, dropout: 1 })).toThrow(/^GRU: dropout must be in \[0, 1\), got 1/);
    expect(() => new GRU({ inputSize: 3, hiddenSize: 4, dtype: 'int32' as never })).toThrow(/^GRU: dtype must be float32 or float64, got int32/);
    expect(() => new GRU({ inputSize: 3, hiddenSize: 4, bidirectional: 'yes' as never })).toThrow(/^GRU: bidirectional must be a boolean/);
    expect(() => new GRU({ inputSize: 3, hiddenSize: 4, init: { forgetBias: 1 } })).toThrow(/^GRU: init.forgetBias is for LSTM only/);
    expect(() => new LSTM({ inputSize: 3, hiddenSize: 4, bias: false, init: { forgetBias: 1 } })).toThrow(/^LSTM: init.forgetBias needs bias: true/);
    expect(() => new LSTM({ inputSize: 3, hiddenSize: 4, init: { weightIh: 'orthogonal' as never } })).toThrow(/^LSTM: init.weightIh must be one of pytorch, uniform, xavier, got 'orthogonal'/);
    expect(() => new LSTM({ inputSize: 3, hiddenSize: 4, init: { weightHh: 'glorot' as never } })).toThrow(/^LSTM: init.weightHh must be one of/);
    expect(() => new LSTM({ inputSize: 3, hiddenSize: 4, init: { scale: 2 } as never })).toThrow(/^LSTM: unknown init option scale/);
    expect(() => new LSTM({ inputSize: 3, hiddenSize: 4, init: { range: -1 } })).toThrow(/^LSTM: init.range must be positive, got -1/);
    expect(() => new LSTM(null as never)).toThrow(/^LSTM: options object required/);
    expect(() => new SimpleRNN(undefined as never)).toThrow(/^SimpleRNN: options object required/);
    expect(() => lstm.weights(2)).toThrow(/^LSTM: no layer 2 direction 0/);
  });
});
