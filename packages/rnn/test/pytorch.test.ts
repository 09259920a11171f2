import * as fs from 'fs';
import * as path from 'path';
import { Tensor, tensor } from '@unfold/tensor';
import { GRU, LSTM, SimpleRNN } from '@unfold/rnn';
import { exportLayerJson, layerFromTorchConfig, loadPytorchJson, readPytorchExport, stateDictToJson, torchConfigOf, TorchConfig } from '@unfold/rnn';
import { Entry, Mode, RefConfig, Seq, flat3, randomParams, randomSeq, refForward } from './layers-torchref';

// PyTorch interchange. The fixtures in test/fixtures/ have the layout docs/export_pytorch.py
// writes, but their numbers come from the independent float64 reference in
// layers-torchref.ts (no PyTorch here) — their __source__ says so. Regenerate them with
//   UNFOLD_REGEN_FIXTURES=1 npx jest packages/rnn/test/pytorch.test.ts
// or replace them by real PyTorch exports (docs/pytorch.md); the tests read either.

const FIXTURES = path.join(__dirname, 'fixtures');
const REF_SOURCE = 'unfold float64 reference of torch.nn semantics (packages/rnn/test/layers-torchref.ts), not PyTorch';

interface FixtureSpec {
  file: string;
  config: TorchConfig;
  T: number;
  B: number;
  lengths?: number[];
  withState: boolean;
  seed: number;
}

const SPECS: FixtureSpec[] = [
  { file: 'lstm_2layer_bidirectional.json', config: { mode: 'LSTM', input_size: 3, hidden_size: 4, num_layers: 2, bias: true, batch_first: false, bidirectional: true }, T: 5, B: 3, lengths: [5, 3, 1], withState: true, seed: 1 },
  { file: 'gru_2layer_bidirectional_batchfirst.json', config: { mode: 'GRU', input_size: 3, hidden_size: 4, num_layers: 2, bias: true, batch_first: true, bidirectional: true }, T: 4, B: 2, withState: false, seed: 2 },
  { file: 'rnn_relu_nobias.json', config: { mode: 'RNN_RELU', input_size: 2, hidden_size: 3, num_layers: 2, bias: false, batch_first: false, bidirectional: false }, T: 4, B: 2, withState: true, seed: 3 },
];

const MODE: Record<TorchConfig['mode'], Mode> = { LSTM: 'lstm', GRU: 'gru', RNN_TANH: 'rnn_tanh', RNN_RELU: 'rnn_relu' };
const entry3 = (s: Seq): Entry => ({ shape: [s.length, s[0].length, s[0][0].length], data: flat3(s) });
const swap01 = (s: Seq): Seq => s[0].map((_, b) => s.map((row) => row[b])); // [T][B] ↔ [B][T]

/** The file docs/export_pytorch.py would write, with numbers from the reference. */
function buildFixture(s: FixtureSpec): Record<string, unknown> {
  const c = s.config;
  const cfg: RefConfig = { mode: MODE[c.mode], inputSize: c.input_size, hiddenSize: c.hidden_size, numLayers: c.num_layers, bidirectional: c.bidirectional, bias: c.bias };
  const params = randomParams(cfg, s.seed);
  const x = randomSeq(s.T, s.B, c.input_size, s.seed + 100);
  const LD = c.num_layers * (c.bidirectional ? 2 : 1);
  const h0 = s.withState ? randomSeq(LD, s.B, c.hidden_size, s.seed + 200, 0.5) : undefined;
  const c0 = s.withState && c.mode === 'LSTM' ? randomSeq(LD, s.B, c.hidden_size, s.seed + 300, 0.5) : undefined;
  const r = refForward(cfg, params, x, { h0, c0, lengths: s.lengths });
  const out: Record<string, unknown> = { __source__: REF_SOURCE, __config__: c, ...params };
  out.__input__ = entry3(c.batch_first ? swap01(x) : x);
  if (h0) out.__h0__ = entry3(h0);
  if (c0) out.__c0__ = entry3(c0);
  if (s.lengths) out.__lengths__ = s.lengths;
  out.__output__ = entry3(c.batch_first ? swap01(r.output) : r.output);
  out.__h_n__ = entry3(r.hN);
  if (r.cN) out.__c_n__ = entry3(r.cN);
  return out;
}

function maxDiff(a: Tensor, b: Tensor): number {
  expect(a.shape).toEqual(b.shape);
  const x = a.toFlatArray();
  const y = b.toFlatArray();
  return x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);
}

describe.each(SPECS)('fixture $file', (spec) => {
  const file = path.join(FIXTURES, spec.file);
  // a fixture PyTorch wrote (scripts/interop/pytorch_roundtrip.sh) is never overwritten by the reference
  const fromTorch = fs.existsSync(file) && String(JSON.parse(fs.readFileSync(file, 'utf8')).__source__).startsWith('torch');
  if (process.env.UNFOLD_REGEN_FIXTURES === '1' && !fromTorch) {
    fs.mkdirSync(FIXTURES, { recursive: true });
    // one entry per line, each compact: diffs stay readable
    const lines = Object.entries(buildFixture(spec)).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`);
    fs.writeFileSync(file, `{\n${lines.join(',\n')}\n}\n`);
  }
  const text = fs.readFileSync(file, 'utf8');

  test('is what the reference produces (so it can be regenerated) — or a real PyTorch export', () => {
    const stored = JSON.parse(text);
    if (String(stored.__source__).startsWith('torch')) return; // replaced by a PyTorch export: nothing to regenerate
    expect(stored).toEqual(buildFixture(spec));
  });

  test.each([
    ['float64', true, 1e-12],
    ['float64', false, 1e-12],
    ['float32', true, 2e-5],
  ] as const)('an Unfold layer (%s, fused: %s) loaded from it reproduces __output__, __h_n__, __c_n__', (dtype, fused, tol) => {
    const ex = readPytorchExport(text, { dtype });
    expect(ex.config).toEqual(spec.config);
    const layer = layerFromTorchConfig(ex.config!, { dtype, fused }).eval();
    layer.loadStateDict(ex.params);
    const r = layer.forward(ex.input!, { h0: ex.h0, c0: ex.c0, lengths: ex.lengths });
    expect(maxDiff(r.output, ex.output!)).toBeLessThan(tol);
    expect(maxDiff(r.hN, ex.hN!)).toBeLessThan(tol);
    if (ex.cN) expect(maxDiff(r.cN!, ex.cN)).toBeLessThan(tol);
    else expect(r.cN).toBeUndefined();
  });

  test('the check is sharp: a perturbed weight moves the output past the tolerance', () => {
    const ex = readPytorchExport(text);
    const layer = layerFromTorchConfig(ex.config!, { dtype: 'float64' });
    const params = { ...ex.params };
    const w = params.weight_ih_l0.clone();
    for (let i = 0; i < w.size; i++) w.data[i] += 1e-3; // every input weight, so some path is surely open
    params.weight_ih_l0 = w;
    layer.loadStateDict(params);
    const r = layer.forward(ex.input!, { h0: ex.h0, c0: ex.c0, lengths: ex.lengths });
    expect(maxDiff(r.output, ex.output!)).toBeGreaterThan(1e-6);
  });
});

describe('loadPytorchJson', () => {
  test('names, shapes and values; reserved __x__ entries skipped; text or object', () => {
    const j = { weight_ih_l0: { shape: [2, 1], data: [1, 2] }, 'rnn.bias': { shape: [], data: [3.5] }, __input__: { shape: [1], data: [9] }, __source__: 'x' };
    for (const src of [j, JSON.stringify(j)]) {
      const sd = loadPytorchJson(src);
      expect(Object.keys(sd)).toEqual(['weight_ih_l0', 'rnn.bias']);
      expect(sd.weight_ih_l0.shape).toEqual([2, 1]);
      expect(sd.weight_ih_l0.dtype).toBe('float64');
      expect(sd['rnn.bias'].item()).toBe(3.5);
    }
    expect(loadPytorchJson(j, { dtype: 'float32' }).weight_ih_l0.dtype).toBe('float32');
  });

  test('clear errors, all problems at once', () => {
    const err = (src: unknown): string => {
      try {
        loadPytorchJson(src as never);
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(err('{"a": ')).toMatch(/^loadPytorchJson: not valid JSON/);
    expect(err('{"a": {"shape": [1], "data": [NaN]}}')).toMatch(/not valid JSON: .* holds NaN or Infinity \(as Python writes them\)/);
    expect(err('[1, 2]')).toMatch(/^loadPytorchJson: expected an object \{ name: \{ shape, data \} \}, got an array/);
    expect(err(null)).toMatch(/got null/);
    const many = err({
      a: { shape: [2, 2], data: [1, 2, 3] },
      b: { shape: [2], data: [1, 'x'] },
      c: [1, 2],
      d: { shape: [-1], data: [] },
      e: { shape: [2, 1], data: [[1], [2]] },
      f: { shape: [1], data: [1e400] },
      '': { shape: [1], data: [1] },
      g: { shape: [1] },
    });
    for (const part of [
      'a: shape [2,2] needs 4 values, data has 3',
      'b: data[1] = "x" is not a finite number',
      'c: expected { shape, data }, got an array',
      'd: shape must be an array of non-negative integers, got [-1]',
      'e: data is nested; write it flat in row-major order',
      'f: data[0] = null is not a finite number', // 1e400 parses to Infinity; JSON.stringify shows null
      'an entry has an empty name',
      'g: data must be an array of numbers, got undefined',
    ]) expect(many).toContain(part);
    expect(() => loadPytorchJson({}, { dtype: 'int8' as never })).toThrow(/dtype must be float32 or float64/);
  });

  test('readPytorchExport validates the reserved entries', () => {
    expect(() => readPytorchExport({ __lengths__: [1, -2] })).toThrow(/readPytorchExport: __lengths__ must be an array of non-negative integers/);
    expect(() => readPytorchExport({ __config__: { mode: 'LSTM', input_size: 3, hidden_size: 0 } })).toThrow(/__config__.hidden_size must be a positive integer, got 0/);
    expect(() => readPytorchExport({ __output__: { shape: [2], data: [1] } })).toThrow(/__output__: shape \[2\] needs 2 values, data has 1/);
    expect(() => readPytorchExport({ __outptu__: 1 })).toThrow(/unknown reserved entry __outptu__/);
    expect(() => readPytorchExport({ __dtype__: 'float16' })).toThrow(/__dtype__ must be 'float32' or 'float64', got "float16"/);
  });

  test('a real-looking PyTorch state dict loads into an LSTM; a wrong one is refused whole', () => {
    const lstm = new LSTM({ inputSize: 2, hiddenSize: 3, dtype: 'float64' });
    const names = ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0'];
    const shapes = [[12, 2], [12, 3], [12], [12]];
    const j = Object.fromEntries(names.map((n, k) => [n, { shape: shapes[k], data: Array.from({ length: shapes[k].reduce((a, b) => a * b) }, (_, i) => (i - k) / 10) }]));
    lstm.loadStateDict(loadPytorchJson(j));
    expect(lstm.weights(0).whh.get(1, 0)).toBeCloseTo(0.2, 15);
    expect(() => lstm.loadStateDict(loadPytorchJson({ ...j, weight_hh_l0: { shape: [9, 3], data: new Array(27).fill(0) } }))).toThrow(/weight_hh_l0: shape \[9,3\], expected \[12,3\]/);
  });
});

describe('stateDictToJson', () => {
  test('round trip is exact (float64 and float32, strided tensors), extras written verbatim', () => {
    for (const dtype of ['float64', 'float32'] as const) {
      const lstm = new LSTM({ inputSize: 3, hiddenSize: 2, numLayers: 2, bidirectional: true, dtype, seed: 4 });
      const text = stateDictToJson(lstm.stateDict(), { extra: { __source__: 'test', __input__: tensor([1, 2], [2, 1]) } });
      const back = loadPytorchJson(text, { dtype });
      for (const [n, t] of Object.entries(lstm.stateDict())) expect(back[n].toFlatArray()).toEqual(t.toFlatArray());
      expect(readPytorchExport(text).input!.shape).toEqual([2, 1]);
    }
    const t = tensor([[1, 2], [3, 4]], undefined, 'float64').transpose();
    expect(JSON.parse(stateDictToJson({ w: t })).w).toEqual({ shape: [2, 2], data: [1, 3, 2, 4] });
  });

  test('non-finite values and bad extras are refused', () => {
    const t = tensor([1, NaN, 3]);
    expect(() => stateDictToJson({ w: t })).toThrow(/stateDictToJson: w \[3\]: value NaN at flat index 1 cannot be written as JSON/);
    expect(() => stateDictToJson({ w: [1] as never })).toThrow(/w: not a Tensor/);
    expect(() => stateDictToJson({}, { extra: { input: 1 } })).toThrow(/extra entry input must be named __x__/);
  });
});

describe('exportLayerJson (Unfold → PyTorch)', () => {
  test.each([
    ['LSTM', () => new LSTM({ inputSize: 3, hiddenSize: 2, numLayers: 2, bidirectional: true, dtype: 'float64', dropout: 0.3, seed: 1 })],
    ['GRU', () => new GRU({ inputSize: 3, hiddenSize: 2, batchFirst: true, bias: false, dtype: 'float64', seed: 2 })],
    ['RNN_RELU', () => new SimpleRNN({ inputSize: 3, hiddenSize: 2, nonlinearity: 'relu', dtype: 'float64', seed: 3 })],
  ] as const)('%s: the file holds what torch needs, and the reference reproduces its outputs from it', (mode, mk) => {
    const layer = mk();
    const shape = layer.batchFirst ? [2, 4, 3] : [4, 2, 3];
    const x = tensor(randomSeq(4, 2, 3, 9).flat(2), shape, 'float64');
    const lengths = [4, 2];
    const text = exportLayerJson(layer, x, { lengths });
    expect(layer.training).toBe(true); // restored after the eval-mode run
    const ex = readPytorchExport(text);
    expect(ex.config!.mode).toBe(mode);
    expect(ex.producerDtype).toBe('float64'); // __dtype__: the checker's tolerance comes from it
    expect(ex.config).toEqual(torchConfigOf(layer));
    const c = ex.config!;
    const cfg: RefConfig = { mode: MODE[c.mode], inputSize: c.input_size, hiddenSize: c.hidden_size, numLayers: c.num_layers, bidirectional: c.bidirectional, bias: c.bias };
    const raw = JSON.parse(text);
    const params = Object.fromEntries(Object.keys(ex.params).map((n) => [n, raw[n] as Entry]));
    const toSeq = (t: Tensor): Seq => Array.from({ length: t.shape[0] }, (_, i) => Array.from({ length: t.shape[1] }, (_, j) => Array.from({ length: t.shape[2] }, (_, k) => t.get(i, j, k))));
    const xin = c.batch_first ? swap01(toSeq(ex.input!)) : toSeq(ex.input!);
    const r = refForward(cfg, params, xin, { lengths: ex.lengths });
    expect(maxDiff(ex.output!, tensor(flat3(c.batch_first ? swap01(r.output) : r.output), ex.output!.shape.slice(), 'float64'))).toBeLessThan(1e-12);
    expect(maxDiff(ex.hN!, tensor(flat3(r.hN), ex.hN!.shape.slice(), 'float64'))).toBeLessThan(1e-12);
  });

  test('residual stacks have no torch twin; NaN in the input cannot be written', () => {
    expect(() => torchConfigOf(new GRU({ inputSize: 2, hiddenSize: 2, numLayers: 2, residual: true }))).toThrow(/torchConfigOf: GRU has residual connections/);
    const lstm = new LSTM({ inputSize: 1, hiddenSize: 1 });
    expect(() => exportLayerJson(lstm, tensor([1, NaN], [2, 1, 1]), { lengths: [1] })).toThrow(/__input__ \[2,1,1\]: value NaN at flat index 1/);
  });
});
