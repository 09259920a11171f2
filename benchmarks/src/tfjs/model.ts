// The TensorFlow.js contender: a tfjs-layers Sequential (stacked LSTM/GRU/SimpleRNN with
// returnSequences → Dense to V logits), softmax cross-entropy at every step, tf.train.adam,
// trained with optimizer.minimize — the way a tfjs user writes a custom training loop.
import * as tf from '@tensorflow/tfjs';
import { Contender, Instance } from '../harness/contender';
import { Formulation } from '../harness/reference';
import { Batch, StateDict, Workload } from '../workloads';
import { TfBackend, describeBackend, useBackend, wasmMemoryBytes } from './backend';
import { KerasArray, kerasWeights, pytorchGrads } from './layout';

function recurrentLayer(w: Workload, first: boolean): tf.layers.Layer {
  // every weight is overwritten by setWeights; explicit cheap initialisers avoid tfjs's slow default orthogonal init
  const init = tf.initializers.randomUniform({ minval: -0.08, maxval: 0.08, seed: 1 });
  const args = {
    units: w.hidden,
    returnSequences: true,
    kernelInitializer: init,
    recurrentInitializer: init,
    biasInitializer: 'zeros' as const,
    ...(first ? { inputShape: [w.seq, w.vocab] } : {}),
  };
  switch (w.cell) {
    case 'lstm':
      return tf.layers.lstm({ ...args, recurrentActivation: 'sigmoid' }); // tfjs defaults to hardSigmoid
    case 'gru':
      return tf.layers.gru({ ...args, recurrentActivation: 'sigmoid' });
    case 'rnn':
      return tf.layers.simpleRNN({ ...args, activation: 'tanh' });
  }
}

/** ids time-major [T, B] → batch-major [B, T] (Keras RNNs take [batch, time, features]). */
function batchMajor(ids: Int32Array, T: number, B: number): Int32Array {
  const out = new Int32Array(T * B);
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) out[b * T + t] = ids[t * B + b];
  return out;
}

class TfjsInstance implements Instance {
  private readonly model: tf.Sequential;
  private readonly opt: tf.AdamOptimizer;
  private readonly xIds: tf.Tensor2D;
  private readonly yIds: tf.Tensor2D;
  private readonly vars: tf.Variable[];

  constructor(private readonly w: Workload, sd: StateDict, batch: Batch) {
    this.model = tf.sequential();
    for (let k = 0; k < w.layers; k++) this.model.add(recurrentLayer(w, k === 0));
    this.model.add(tf.layers.dense({ units: w.vocab, kernelInitializer: 'zeros' }));
    kerasWeights(w, sd).forEach((arrays, i) => {
      const ts = arrays.map((a) => tf.tensor(a.data, a.shape, 'float32'));
      this.model.layers[i].setWeights(ts);
      tf.dispose(ts);
    });
    this.vars = this.model.trainableWeights.map((v) => v.read() as tf.Variable);
    this.opt = tf.train.adam(w.lr, 0.9, 0.999, 1e-8); // PyTorch's defaults; ε added after bias correction in both
    this.xIds = tf.tensor2d(batchMajor(batch.x, batch.T, batch.B), [batch.B, batch.T], 'int32');
    this.yIds = tf.tensor2d(batchMajor(batch.y, batch.T, batch.B), [batch.B, batch.T], 'int32');
  }

  /** ids → one-hot [B, T, V] → logits [B, T, V] → mean softmax cross-entropy over B·T. */
  private loss(training: boolean): tf.Scalar {
    const V = this.w.vocab;
    const x = tf.cast(tf.oneHot(this.xIds, V), 'float32');
    const logits = this.model.apply(x, { training }) as tf.Tensor;
    return tf.losses.softmaxCrossEntropy(tf.oneHot(this.yIds, V), logits) as tf.Scalar;
  }

  evaluate(): number {
    const l = tf.tidy(() => this.loss(false));
    const v = l.dataSync()[0];
    l.dispose();
    return v;
  }

  trainStep(): number {
    const cost = this.opt.minimize(() => this.loss(true), true, this.vars);
    if (cost === null) throw new Error('tfjs trainStep: minimize returned no cost');
    const v = cost.dataSync()[0];
    cost.dispose();
    return v;
  }

  gradients(): StateDict {
    const { value, grads } = tf.variableGrads(() => this.loss(true), this.vars);
    // model.layers[i].trainableWeights are in setWeights order: [kernel, recurrent_kernel, bias] / [kernel, bias]
    const layers: KerasArray[][] = this.model.layers.map((l) =>
      l.trainableWeights.map((v) => {
        const g = grads[(v.read() as tf.Variable).name];
        return { shape: g.shape, data: g.dataSync() as Float32Array };
      }),
    );
    tf.dispose([value, ...Object.values(grads)]);
    return pytorchGrads(this.w, layers);
  }

  async profiledTrainStep(): Promise<{ loss: number; peakBytes: number }> {
    let loss = NaN;
    const info = await tf.profile(() => {
      loss = this.trainStep();
    });
    return { loss, peakBytes: info.peakBytes };
  }

  memory(): Record<string, number> {
    const m: Record<string, number> = { tfTensorBytes: tf.memory().numBytes };
    const wasm = tf.getBackend() === 'wasm' ? wasmMemoryBytes() : undefined;
    if (wasm !== undefined) m.wasmMemoryBytes = wasm;
    return m;
  }

  dispose(): void {
    this.model.dispose();
    this.opt.dispose();
    tf.dispose([this.xIds, this.yIds]);
  }
}

export function tfjsContender(backend: TfBackend): Contender {
  let description = `tfjs ${tf.version.tfjs} ${backend}`;
  return {
    name: backend === 'wasm' ? 'tfjs-wasm' : 'tfjs-cpu',
    formulation: (w: Workload): Formulation => (w.cell === 'gru' ? 'gru-reset-before' : 'pytorch'),
    parameters: 'keras',
    async activate() {
      await useBackend(backend);
      description = await describeBackend(backend);
    },
    async build(w, sd, batch) {
      await useBackend(backend);
      return new TfjsInstance(w, sd, batch);
    },
    describe: () => description,
  };
}
