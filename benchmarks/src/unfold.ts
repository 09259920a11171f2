// The Unfold contender: @unfold/rnn's CharRNN (one-hot input, stacked cell, Linear head,
// cross-entropy at every step) with its Adam, loaded with the shared PyTorch-layout weights.
import { Adam, CharRNN, computeGradients } from '@unfold/rnn';
import { Contender, Instance } from './harness/contender';
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

export const unfoldContender: Contender = {
  name: 'unfold',
  formulation: () => 'pytorch',
  parameters: 'pytorch',
  async activate() {},
  async build(w, sd, batch) {
    return new UnfoldInstance(w, sd, batch);
  },
  describe: () => 'Unfold @unfold/rnn CharRNN (plain TypeScript, float32, single thread)',
};
