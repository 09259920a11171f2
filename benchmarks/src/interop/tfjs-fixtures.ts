// Writes the TensorFlow.js LayersModel fixtures of packages/rnn/test/interop-tfjs.test.ts:
// for each model, model.json + weights.bin exactly as tfjs saves them (tf.io's browser/file
// layout: one weights group, one shard) and io.json with an input and tfjs's output on it.
//   npx tsc -b && node benchmarks/dist/interop/tfjs-fixtures.js
// tfjs-layers 4.22 throws on GRU resetAfter: true, so the only GRU here is resetAfter: false,
// the one Unfold refuses by name (its GRU is PyTorch's, reset after the product).
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';

const OUT = path.join(__dirname, '..', '..', '..', 'packages', 'rnn', 'test', 'fixtures', 'tfjs');

interface Spec {
  name: string;
  build: () => tf.Sequential;
  /** input shape [B, T] for ids, [B, T, F] for floats */
  input: number[];
  ids?: number;
}

const seqModel = (layers: tf.layers.Layer[]): tf.Sequential => tf.sequential({ layers });
// Seeded initialisers; after building, every weight is overwritten with its own deterministic
// values (a Bidirectional layer's backward copy would otherwise repeat the forward seeds, and a
// swap of the two directions would not show).
let seed = 1;
const u = (r: number) => tf.initializers.randomUniform({ minval: -r, maxval: r, seed: seed++ });
const init = () => ({ kernelInitializer: u(0.6), recurrentInitializer: u(0.6), biasInitializer: u(0.4) });
const denseInit = () => ({ kernelInitializer: u(0.6), biasInitializer: u(0.4) });

const SPECS: Spec[] = [
  {
    name: 'embedding_lstm_timedistributed',
    build: () => seqModel([
      tf.layers.embedding({ inputDim: 7, outputDim: 4, inputLength: 5, embeddingsInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: 6 }) }),
      tf.layers.lstm({ units: 5, returnSequences: true, recurrentActivation: 'sigmoid', ...init() }),
      tf.layers.timeDistributed({ layer: tf.layers.dense({ units: 7, ...denseInit() }) }),
    ]),
    input: [2, 5],
    ids: 7,
  },
  {
    name: 'bidirectional_simplernn_relu_dense_softmax',
    build: () => seqModel([
      tf.layers.bidirectional({ layer: tf.layers.simpleRNN({ units: 4, activation: 'relu', returnSequences: true, ...init() }) as tf.RNN, mergeMode: 'concat', inputShape: [6, 3] }),
      tf.layers.dense({ units: 3, activation: 'softmax', ...denseInit() }),
    ]),
    input: [3, 6, 3],
  },
  {
    name: 'lstm_stack_last_dense_tanh',
    build: () => seqModel([
      tf.layers.lstm({ units: 4, returnSequences: true, recurrentActivation: 'sigmoid', inputShape: [5, 2], ...init() }),
      tf.layers.lstm({ units: 3, recurrentActivation: 'sigmoid', useBias: false, ...init() }),
      tf.layers.dense({ units: 2, activation: 'tanh', ...denseInit() }),
    ]),
    input: [2, 5, 2],
  },
  {
    name: 'bidirectional_lstm_last',
    build: () => seqModel([
      tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 3, recurrentActivation: 'sigmoid', ...init() }) as tf.RNN, inputShape: [4, 2] }),
      tf.layers.dense({ units: 2, useBias: false, ...denseInit() }),
    ]),
    input: [2, 4, 2],
  },
  {
    name: 'simplernn_dense',
    build: () => seqModel([
      tf.layers.simpleRNN({ units: 3, inputShape: [4, 2], returnSequences: true, ...init() }),
      tf.layers.dense({ units: 2, activation: 'sigmoid', ...denseInit() }),
    ]),
    input: [2, 4, 2],
  },
  {
    name: 'gru_reset_before',
    build: () => seqModel([tf.layers.gru({ units: 3, inputShape: [4, 2], recurrentActivation: 'sigmoid', ...init() })]),
    input: [1, 4, 2],
  },
];

/** A deterministic input: ids in [0, V) or floats in (−1, 1). */
function inputOf(s: Spec): number[] {
  const n = s.input.reduce((a, b) => a * b, 1);
  return Array.from({ length: n }, (_, i) => (s.ids ? (i * 3 + 1) % s.ids : Math.sin(1.7 * i + 0.3)));
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  for (const s of SPECS) {
    const model = s.build();
    model.setWeights(model.weights.map((w, k) => {
      const n = w.shape.reduce((a: number, b) => a * (b ?? 1), 1);
      return tf.tensor(Array.from({ length: n }, (_, i) => 0.6 * Math.sin(12.9898 * (i + 1) + 78.233 * (k + 1))), w.shape as number[]);
    }));
    const dir = path.join(OUT, s.name);
    fs.mkdirSync(dir, { recursive: true });
    await model.save(tf.io.withSaveHandler(async (a) => {
      const json = {
        format: a.format, generatedBy: a.generatedBy, convertedBy: a.convertedBy ?? null,
        modelTopology: a.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
      };
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
      fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(a.weightData as ArrayBuffer));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    const x = inputOf(s);
    const xt = s.ids ? tf.tensor(x, s.input, 'float32') : tf.tensor(x, s.input);
    const y = model.predict(xt) as tf.Tensor;
    fs.writeFileSync(path.join(dir, 'io.json'), JSON.stringify({ source: `@tensorflow/tfjs ${tf.version.tfjs}, benchmarks/src/interop/tfjs-fixtures.ts`, input: { shape: s.input, data: x }, output: { shape: y.shape, data: Array.from(await y.data()) } }) + '\n');
    console.log(`${s.name}: ${model.weights.map((w) => w.name).join(', ')}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
