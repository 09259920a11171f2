// Size probe: what a page that builds an LSTM and takes one Adam step pulls in.
import { Rng, normal } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { Adam, LSTM, computeGradients } from '@unfold/rnn';

const rng = new Rng(0);
const lstm = new LSTM({ inputSize: 8, hiddenSize: 32, seed: 1 });
const x = normal([10, 4, 8], 0, 1, { rng }); // [T, B, I]
const opt = new Adam(lstm.parameters(), { lr: 1e-3 });
const r = computeGradients(lstm, () => {
  const y = lstm.forward(x).output; // [T, B, H]
  return { loss: ad.mean(ad.mul(y, y)) };
});
opt.step();
console.log(r.loss.item());
