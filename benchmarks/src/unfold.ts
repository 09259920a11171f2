// The Unfold contender: @unfold/rnn's CharRNN (one-hot input, stacked cell, Linear head,
// cross-entropy at every step) with its Adam, loaded with the shared PyTorch-layout weights.
import { Adam, CharRNN, computeGradients, setSequenceKernels } from '@unfold/rnn';
import { backendInfo, setBackend, setThreads } from '@unfold/tensor';
import { Contender, Instance, UnfoldName } from './harness/contender';
import { Batch, StateDict, Workload } from './workloads';

class UnfoldInstance implements Instance {
  private readonly model: CharRNN;
  private readonly opt: Adam;
  private readonly shape: [number, number];

  constructor(w: Workload, sd: StateDict, private readonly batch: Batch) {
    this.model = new CharRNN({ cell: w.cell, vocabSize: w.vocab, hiddenSize: w.hidden, numLayers: w.layers, input: 'onehot', seed: 0 });
    this.model.loadStateDict(sd);
    this.opt = new Adam(this.model.parameters(), { lr: w.lr });
    this.shape = [batch.T, batch.B];
  }

  evaluate(): number {
    return this.model.evaluate(this.batch.x, this.batch.y, this.shape);
  }

  trainStep(): number {
    return this.model.trainStep(this.batch.x, this.batch.y, this.shape, this.opt);
  }

  gradients(): StateDict {
    const { x, y } = this.batch;
    computeGradients(this.model, () => this.model.loss(x, y, this.shape));
    const sd: StateDict = {};
    for (const [name, p] of this.model.namedParameters()) {
      if (!p.grad) throw new Error(`unfold gradients: no gradient for ${name}`);
      sd[name] = { shape: [...p.grad.shape], data: Float32Array.from(p.grad.toFlatArray()) };
      p.grad = null;
    }
    return sd;
  }

  dispose(): void {}
}

/**
 * Unfold on one kernel backend: 'unfold-js' (the pure-TypeScript kernels), 'unfold-wasm-1t' and
 * 'unfold-wasm-2t' (the WebAssembly SIMD kernels, large GEMMs split over 1 or 2 threads).
 * `activate` selects the backend before each timed share; the model is built after it, so
 * under wasm its weights live in the wasm arena.
 */
export function unfoldContender(name: UnfoldName): Contender {
  const wasm = name !== 'unfold-js';
  const threads = name === 'unfold-wasm-2t' ? 2 : 1;
  return {
    name,
    formulation: () => 'pytorch',
    parameters: 'pytorch',
    async activate() {
      setBackend(wasm ? 'wasm' : 'js');
      setThreads(threads);
      // UNFOLD_SEQUENCE=0: the per-step path (one cell record per step), for before/after figures
      setSequenceKernels((globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.UNFOLD_SEQUENCE !== '0'); // the page bundles this file: no bare process
      if (wasm && threads > 1 && backendInfo().threads < threads) throw new Error(`${name}: ${backendInfo().threadsNote}`);
    },
    async build(w, sd, batch) {
      return new UnfoldInstance(w, sd, batch);
    },
    describe: () => {
      const i = backendInfo();
      return wasm
        ? `Unfold @unfold/rnn CharRNN, float32, WebAssembly SIMD kernels${i.fma ? ' (relaxed-SIMD FMA)' : ''}, ${threads} thread${threads > 1 ? 's' : ''}`
        : 'Unfold @unfold/rnn CharRNN, float32, pure TypeScript kernels, single thread';
    },
  };
}
