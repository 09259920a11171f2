import * as fs from 'fs';
import * as path from 'path';
import fc from 'fast-check';
import { Rng, Tensor, tensor, uniform } from '@unfold/tensor';
import { noGrad } from '@unfold/autodiff';
import { CharRNN, CharRNNOptions, Embedding, GRU, LSTM, Linear, RecurrentLayer, SimpleRNN, exportOnnx } from '@unfold/rnn';
import { exportOnnxWith } from '../src/interop/onnx/export';
import { RecurrentFaults } from '../src/interop/onnx/recurrent';
import { OrtFeed, OrtRunner } from './ort';

// ONNX export checked by ONNX Runtime (onnxruntime-web, wasm, in a worker thread): the same
// weights and inputs through Unfold and through the exported model give the same numbers
// within float32 rounding; the negative controls (gates in PyTorch's order, GRU with
// linear_before_reset = 0) must not. The models in fixtures/onnx/ are what this test writes
// (UNFOLD_REGEN_FIXTURES=1); scripts/interop/onnx_check.py runs python3-onnx's checker on them.

const FIX = path.join(__dirname, 'fixtures', 'onnx');
let ort: OrtRunner;
beforeAll(() => {
  ort = new OrtRunner();
});
afterAll(async () => {
  await ort.close();
});

const f32 = (t: Tensor, dims = t.shape.slice()): OrtFeed => ({ type: 'float32', data: Float32Array.from(t.toTypedArray()), dims });

/** max |a − b| / max(1, max |b|), after checking the shapes agree. */
function relErr(got: { data: Float32Array; dims: number[] }, want: Tensor): number {
  expect(got.dims).toEqual(want.shape.slice());
  const w = want.toFlatArray();
  let m = 0;
  let scale = 1;
  for (let i = 0; i < w.length; i++) {
    m = Math.max(m, Math.abs(got.data[i] - w[i]));
    scale = Math.max(scale, Math.abs(w[i]));
  }
  return m / scale;
}
const TOL = 1e-5; // float32 rounding through a few layers (seen: ≤ 1.4e-7 over the fast-check runs)

type Kind = 'lstm' | 'gru' | 'rnn_tanh' | 'rnn_relu';
interface Case {
  kind: Kind;
  L: number;
  bidirectional: boolean;
  batchFirst: boolean;
  bias: boolean;
  residual: boolean;
  state: boolean;
  withLengths: boolean;
  T: number;
  B: number;
  I: number;
  H: number;
  seed: number;
}

function makeLayer(c: Case, dtype: 'float32' | 'float64' = 'float32'): RecurrentLayer {
  const o = { inputSize: c.I, hiddenSize: c.H, numLayers: c.L, bidirectional: c.bidirectional, batchFirst: c.batchFirst, bias: c.bias, residual: c.residual, seed: c.seed, dtype };
  if (c.kind === 'lstm') return new LSTM(o);
  if (c.kind === 'gru') return new GRU(o);
  return new SimpleRNN({ ...o, nonlinearity: c.kind === 'rnn_relu' ? 'relu' : 'tanh' });
}

/** Runs the layer in Unfold and its export in ORT; returns the worst relative error over output, h_n, c_n. */
async function compareLayer(c: Case, faults: RecurrentFaults = {}, dtype: 'float32' | 'float64' = 'float32'): Promise<number> {
  const layer = makeLayer(c, dtype);
  const rng = new Rng(c.seed + 1000);
  const D = c.bidirectional ? 2 : 1;
  const x = uniform(c.batchFirst ? [c.B, c.T, c.I] : [c.T, c.B, c.I], -1, 1, { rng, dtype });
  const h0 = c.state ? uniform([c.L * D, c.B, c.H], -1, 1, { rng, dtype }) : undefined;
  const c0 = c.state && c.kind === 'lstm' ? uniform([c.L * D, c.B, c.H], -1, 1, { rng, dtype }) : undefined;
  // 1…T: for a length-0 example ONNX Runtime returns h_n = 0 where Unfold keeps h0 (docs/onnx.md)
  const lengths = c.withLengths ? Array.from({ length: c.B }, () => 1 + Math.floor(rng.next() * c.T)) : undefined;
  const want = noGrad(() => layer.forward(x, { h0, c0, lengths }));
  const model = exportOnnxWith(layer, { initialState: c.state, lengths: c.withLengths }, faults);
  const feeds: Record<string, OrtFeed> = { input: f32(x) };
  if (h0) feeds.h0 = f32(h0);
  if (c0) feeds.c0 = f32(c0);
  if (lengths) feeds.lengths = { type: 'int32', data: Int32Array.from(lengths), dims: [c.B] };
  const got = await ort.run(model, feeds);
  let e = Math.max(relErr(got.output, want.output), relErr(got.h_n, want.hN));
  if (want.cN) e = Math.max(e, relErr(got.c_n, want.cN));
  return e;
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  kind: fc.constantFrom<Kind>('lstm', 'gru', 'rnn_tanh', 'rnn_relu'),
  L: fc.integer({ min: 1, max: 2 }),
  bidirectional: fc.boolean(),
  batchFirst: fc.boolean(),
  bias: fc.boolean(),
  residual: fc.constant(false),
  state: fc.boolean(),
  withLengths: fc.boolean(),
  T: fc.integer({ min: 1, max: 5 }),
  B: fc.integer({ min: 1, max: 3 }),
  I: fc.integer({ min: 1, max: 4 }),
  H: fc.integer({ min: 1, max: 5 }),
  seed: fc.integer({ min: 0, max: 1000 }),
});

const BASE: Case = { kind: 'lstm', L: 2, bidirectional: true, batchFirst: false, bias: true, residual: false, state: true, withLengths: true, T: 5, B: 3, I: 3, H: 4, seed: 7 };

describe('recurrent layers through ONNX Runtime', () => {
  test('random SimpleRNN / LSTM / GRU stacks (bidirectional, batchFirst, bias, h0/c0, lengths) match (fast-check)', async () => {
    await fc.assert(fc.asyncProperty(caseArb, async (c) => {
      expect(await compareLayer(c)).toBeLessThan(TOL);
    }), { numRuns: 16, seed: 18 });
  });

  test.each<Kind>(['lstm', 'gru', 'rnn_tanh', 'rnn_relu'])('%s, 2 layers, bidirectional, every input', async (kind) => {
    expect(await compareLayer({ ...BASE, kind })).toBeLessThan(TOL);
  });

  test('residual stacks and float64 layers (written as float32)', async () => {
    expect(await compareLayer({ ...BASE, L: 3, I: 8, bidirectional: true, residual: true })).toBeLessThan(TOL);
    expect(await compareLayer({ ...BASE, kind: 'gru' }, {}, 'float64')).toBeLessThan(TOL);
  });

  test('negative controls: PyTorch gate order unchanged, or linear_before_reset = 0, fail the comparison', async () => {
    expect(await compareLayer({ ...BASE, kind: 'lstm' }, { noReorder: true })).toBeGreaterThan(1e-2);
    expect(await compareLayer({ ...BASE, kind: 'gru' }, { noReorder: true })).toBeGreaterThan(1e-2);
    expect(await compareLayer({ ...BASE, kind: 'gru' }, { linearBeforeReset0: true })).toBeGreaterThan(1e-2);
  });
});

describe('Linear, Embedding, CharRNN through ONNX Runtime', () => {
  test('Linear over [N, in] and [T, B, in]; Embedding over [T, B] ids', async () => {
    const rng = new Rng(3);
    const lin = new Linear(4, 3, { rng });
    const x = uniform([2, 5, 4], -1, 1, { rng });
    const got = await ort.run(exportOnnx(lin, { inputDims: ['T', 'B', 4] }), { input: f32(x) });
    expect(relErr(got.output, noGrad(() => lin.forward(x)))).toBeLessThan(TOL);
    const nobias = new Linear(4, 2, { rng, bias: false });
    const x2 = uniform([3, 4], -1, 1, { rng });
    expect(relErr((await ort.run(exportOnnx(nobias), { input: f32(x2) })).output, noGrad(() => nobias.forward(x2)))).toBeLessThan(TOL);
    const emb = new Embedding(6, 3, { rng });
    const ids = [0, 5, 2, 2, 1, 3];
    const ge = await ort.run(exportOnnx(emb, { inputDims: ['T', 'B'] }), { ids: { type: 'int64', data: BigInt64Array.from(ids.map(BigInt)), dims: [3, 2] } });
    expect(relErr(ge.output, noGrad(() => emb.forward(tensor(ids, [3, 2]))))).toBeLessThan(TOL);
  });

  test.each<CharRNNOptions>([
    { cell: 'lstm', vocabSize: 7, hiddenSize: 5, numLayers: 2, input: 'embedding', embeddingDim: 4, seed: 1 },
    { cell: 'gru', vocabSize: 6, hiddenSize: 4, numLayers: 1, input: 'onehot', seed: 2 },
    { cell: 'rnn_relu', vocabSize: 5, hiddenSize: 3, numLayers: 2, input: 'onehot', seed: 3 },
  ])('CharRNN $cell, $numLayers layer(s), $input input: logits and final state, from a carried state', async (o) => {
    const m = new CharRNN(o);
    const T = 4;
    const B = 2;
    const ids = Array.from({ length: T * B }, (_, i) => (i * 3 + 1) % o.vocabSize);
    const warm = m.predict(ids, [T, B]).state; // a non-zero state to start from
    const want = m.predict(ids, [T, B], warm);
    const feeds: Record<string, OrtFeed> = { ids: { type: 'int64', data: BigInt64Array.from(ids.map(BigInt)), dims: [T, B] }, h0: f32(warm.h) };
    if (warm.c) feeds.c0 = f32(warm.c);
    const got = await ort.run(exportOnnx(m), feeds);
    expect(relErr(got.logits, want.logits)).toBeLessThan(TOL);
    expect(relErr(got.h_n, want.state.h)).toBeLessThan(TOL);
    if (want.state.c) expect(relErr(got.c_n, want.state.c)).toBeLessThan(TOL);
    // without state inputs the model starts from zeros
    const fresh = await ort.run(exportOnnx(m, { initialState: false }), { ids: feeds.ids });
    expect(relErr(fresh.logits, m.predict(ids, [T, B]).logits)).toBeLessThan(TOL);
  });
});

// The models python3-onnx's checker validates (scripts/interop/onnx_check.py).
const CHECKED: [string, () => Uint8Array][] = [
  ['charrnn_lstm_embedding.onnx', () => exportOnnx(new CharRNN({ cell: 'lstm', vocabSize: 7, hiddenSize: 5, numLayers: 2, input: 'embedding', embeddingDim: 4, seed: 1 }))],
  ['charrnn_gru_onehot.onnx', () => exportOnnx(new CharRNN({ cell: 'gru', vocabSize: 6, hiddenSize: 4, seed: 2 }), { opset: 14 })],
  ['gru_bidirectional_batchfirst_lengths.onnx', () => exportOnnx(makeLayer({ ...BASE, kind: 'gru', batchFirst: true }), { initialState: true, lengths: true })],
  ['rnn_relu_nobias.onnx', () => exportOnnx(makeLayer({ ...BASE, kind: 'rnn_relu', bias: false, bidirectional: false }))],
  ['linear.onnx', () => exportOnnx(new Linear(4, 3), { inputDims: ['T', 'B', 4] })],
  ['embedding.onnx', () => exportOnnx(new Embedding(6, 3))],
];

describe('files and errors', () => {
  test.each(CHECKED)('%s is what exportOnnx writes (python3-onnx checks it)', (file, make) => {
    const bytes = make();
    if (process.env.UNFOLD_REGEN_FIXTURES === '1') {
      fs.mkdirSync(FIX, { recursive: true });
      fs.writeFileSync(path.join(FIX, file), bytes);
    }
    expect(Buffer.from(bytes).equals(fs.readFileSync(path.join(FIX, file)))).toBe(true);
  });

  test('bad input is named', () => {
    const l = new LSTM({ inputSize: 2, hiddenSize: 3 });
    expect(() => exportOnnx(l, { opset: 9 })).toThrow(/opset must be an integer in \[14, 21\], got 9/);
    expect(() => exportOnnx(l, { lengts: true } as never)).toThrow(/unknown option lengts \(valid: opset, initialState, lengths/);
    expect(() => exportOnnx(new Linear(4, 3), { inputDims: ['N', 5] })).toThrow(/inputDims must end in 4/);
    class Other extends Linear {}
    expect(() => exportOnnx(new Other(2, 2))).not.toThrow(); // subclasses export as their base
    expect(() => exportOnnx({} as never)).toThrow(/cannot export a Object \(supported: SimpleRNN, LSTM, GRU, Linear, Embedding, CharRNN\)/);
  });
});
