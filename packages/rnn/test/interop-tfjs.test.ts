import * as fs from 'fs';
import * as path from 'path';
import { tensor } from '@unfold/tensor';
import { KerasSequential, loadTfjsLayersModel } from '@unfold/rnn';
import { loadTfjsLayersModelFile } from '@unfold/rnn/node';

// TensorFlow.js LayersModels imported into Unfold. The fixtures are written by
// benchmarks/src/interop/tfjs-fixtures.ts (tfjs-layers 4.22: model.json + weights.bin as tfjs
// saves them, and tfjs's output) and, for the GRU with reset_after: true that tfjs-layers
// cannot build, by scripts/interop/keras_gru_fixture.py (Keras' layout from torch.nn.GRU).

const FIX = path.join(__dirname, 'fixtures', 'tfjs');
const dirs = fs.readdirSync(FIX).filter((d) => d !== 'gru_reset_before').sort();

interface IO {
  input: { shape: number[]; data: number[] };
  output: { shape: number[]; data: number[] };
}
const io = (d: string): IO => JSON.parse(fs.readFileSync(path.join(FIX, d, 'io.json'), 'utf8'));
const modelJson = (d: string) => JSON.parse(fs.readFileSync(path.join(FIX, d, 'model.json'), 'utf8'));
const weightBytes = (d: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(FIX, d, 'weights.bin')));

function err(m: KerasSequential, r: IO): number {
  const y = m.predict(tensor(r.input.data, r.input.shape, m.dtype));
  expect(y.shape).toEqual(r.output.shape);
  const got = y.toFlatArray();
  return Math.max(...got.map((v, i) => Math.abs(v - r.output.data[i])));
}

test('the fixtures cover every supported layer', () => {
  const classes = new Set<string>();
  const walk = (l: { class_name: string; config: { layer?: unknown } }): void => {
    classes.add(l.class_name);
    if (l.config.layer) walk(l.config.layer as never);
  };
  for (const d of dirs) modelJson(d).modelTopology.config.layers.forEach(walk);
  expect([...classes].sort()).toEqual(['Bidirectional', 'Dense', 'Embedding', 'GRU', 'InputLayer', 'LSTM', 'SimpleRNN', 'TimeDistributed']);
});

describe.each(dirs)('%s', (d) => {
  test('gives the output tfjs gave (float32 rounding)', () => {
    expect(err(loadTfjsLayersModelFile(path.join(FIX, d, 'model.json')), io(d))).toBeLessThan(1e-5);
  });
  test('from bytes, as one buffer or { path: bytes }, and in float64', () => {
    const m = loadTfjsLayersModel(fs.readFileSync(path.join(FIX, d, 'model.json'), 'utf8'), { 'weights.bin': weightBytes(d) }, { dtype: 'float64' });
    expect(err(m, io(d))).toBeLessThan(1e-5);
    expect(err(loadTfjsLayersModel(modelJson(d), weightBytes(d).buffer as ArrayBuffer), io(d))).toBeLessThan(1e-5);
  });
});

describe('negative controls: a wrong mapping fails the comparison', () => {
  test('LSTM kernel with gates f and c swapped', () => {
    const d = 'lstm_stack_last_dense_tanh';
    const m = modelJson(d);
    const w = new Float32Array(weightBytes(d).slice().buffer);
    const spec = m.weightsManifest[0].weights[0]; // lstm kernel [I, 4H]
    const [I, G4] = spec.shape;
    const H = G4 / 4;
    for (let i = 0; i < I; i++) for (let j = 0; j < H; j++) [w[i * G4 + H + j], w[i * G4 + 2 * H + j]] = [w[i * G4 + 2 * H + j], w[i * G4 + H + j]];
    expect(err(loadTfjsLayersModel(m, new Uint8Array(w.buffer)), io(d))).toBeGreaterThan(1e-3);
  });
  test('Bidirectional with forward and backward swapped', () => {
    const d = 'bidirectional_simplernn_relu_dense_softmax';
    const m = modelJson(d);
    for (const s of m.weightsManifest[0].weights) s.name = s.name.replace('forward_', 'TMP_').replace('backward_', 'forward_').replace('TMP_', 'backward_');
    expect(err(loadTfjsLayersModel(m, weightBytes(d)), io(d))).toBeGreaterThan(1e-3);
  });
  test('GRU (reset_after) with Keras gate order z, r, h taken as PyTorch r, z, n', () => {
    const d = 'keras_gru_reset_after';
    const m = modelJson(d);
    // swap the z and r blocks of every kernel, recurrent kernel and bias row
    const w = new Float32Array(weightBytes(d).slice().buffer);
    let off = 0;
    for (const s of m.weightsManifest[0].weights) {
      const n = s.shape.reduce((a: number, b: number) => a * b, 1);
      const cols = s.shape[s.shape.length - 1];
      const H = cols / 3;
      for (let r = 0; r < n / cols; r++) for (let j = 0; j < H; j++) [w[off + r * cols + j], w[off + r * cols + H + j]] = [w[off + r * cols + H + j], w[off + r * cols + j]];
      off += n;
    }
    expect(err(loadTfjsLayersModel(m, new Uint8Array(w.buffer)), io(d))).toBeGreaterThan(1e-3);
  });
});

describe('unsupported layers and options are named, with what is supported', () => {
  const base = () => modelJson('simplernn_dense');
  const load = (m: object, w: Uint8Array = weightBytes('simplernn_dense')) => () => loadTfjsLayersModel(m, w);

  test("tfjs's GRU (reset_after: false)", () => {
    expect(() => loadTfjsLayersModelFile(path.join(FIX, 'gru_reset_before', 'model.json'))).toThrow(/layer 'gru_GRU1' \(GRU\): GRU reset_after: false .* not supported.*supported: reset_after: true/);
  });
  test('hard_sigmoid, an unknown layer, options, merge modes, functional models', () => {
    const hard = modelJson('lstm_stack_last_dense_tanh');
    hard.modelTopology.config.layers[0].config.recurrent_activation = 'hard_sigmoid';
    expect(load(hard, weightBytes('lstm_stack_last_dense_tanh'))).toThrow(/recurrent_activation: activation 'hard_sigmoid' is not supported \(tfjs's default .*recurrentActivation: 'sigmoid'\) \(supported: sigmoid\)/);
    const conv = base();
    conv.modelTopology.config.layers.push({ class_name: 'Conv1D', config: { name: 'conv' } });
    expect(load(conv)).toThrow(/layer 'conv' \(Conv1D\) is not supported \(supported: InputLayer, Embedding, SimpleRNN, LSTM, GRU \(reset_after: true\), Bidirectional/);
    const back = base();
    back.modelTopology.config.layers[0].config.go_backwards = true;
    expect(load(back)).toThrow(/go_backwards: true is not supported/);
    const act = base();
    act.modelTopology.config.layers[1].config.activation = 'elu';
    expect(load(act)).toThrow(/activation 'elu' is not supported \(supported: linear, relu, tanh, sigmoid, softmax\)/);
    const merge = modelJson('bidirectional_lstm_last');
    merge.modelTopology.config.layers[0].config.merge_mode = 'sum';
    expect(load(merge, weightBytes('bidirectional_lstm_last'))).toThrow(/merge_mode "sum" is not supported \(supported: merge_mode: 'concat'\)/);
    const fn = base();
    fn.modelTopology.class_name = 'Functional';
    expect(load(fn)).toThrow(/model class "Functional" is not supported \(supported: Sequential/);
  });
  test('weights that do not fit the manifest', () => {
    expect(load(base(), weightBytes('simplernn_dense').subarray(4))).toThrow(/ends inside/);
    const extra = new Uint8Array(weightBytes('simplernn_dense').length + 4);
    extra.set(weightBytes('simplernn_dense'));
    expect(load(base(), extra)).toThrow(/has \d+ bytes, the manifest's weights take \d+/);
    const wrong = base();
    wrong.modelTopology.config.layers[1].config.units = 3;
    expect(load(wrong)).toThrow(/kernel is \[3, 2\], expected \[3, 3\]/);
    expect(() => loadTfjsLayersModel(base(), {})).toThrow(/weight shards missing: weights.bin/);
    expect(() => loadTfjsLayersModelFile(path.join(FIX, 'none', 'model.json'))).toThrow(/cannot read/);
  });
});
