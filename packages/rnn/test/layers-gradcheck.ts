import { Tensor, tensor } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { gradCheck } from '@unfold/autodiff';
import { GRU, LSTM, RecurrentLayer, RecurrentOptions, SimpleRNN } from '@unfold/rnn';
import { Mode, lcg } from './layers-torchref';

// Helpers for the whole-layer gradient checks (layers-grad*.test.ts).
// Whole layers against central differences, in float64, with respect to the input, h0/c0 and
// every parameter at once: gradCheck perturbs its own copies of [x, h0, (c0,) ...params], and
// the closure puts the copies into the layer's Param records before running it.

export function make(mode: Mode, o: Omit<RecurrentOptions, 'dtype'>): RecurrentLayer {
  const c = { ...o, dtype: 'float64' as const };
  if (mode === 'lstm') return new LSTM(c);
  if (mode === 'gru') return new GRU(c);
  return new SimpleRNN({ ...c, nonlinearity: mode === 'rnn_relu' ? 'relu' : 'tanh' });
}

export const rand = (shape: number[], seed: number, a = 1): Tensor => {
  const r = lcg(seed);
  return tensor(Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => r(a)), shape, 'float64');
};

/** Everything the layer returns, flattened into one vector: output, h_n (and c_n). */
export const flatAll = (r: { output: Tensor; hN: Tensor; cN?: Tensor }): Tensor =>
  ad.concat([r.output, r.hN, ...(r.cN ? [r.cN] : [])].map((t) => ad.reshape(t, [-1])), 0);

export function check(layer: RecurrentLayer, x: Tensor, opts: { lengths?: number[]; withState?: boolean; maxElementsPerInput?: number } = {}) {
  const params = layer.parameters();
  const LD = layer.numLayers * layer.directions;
  const B = layer.batchFirst ? x.shape[0] : x.shape[1];
  const nState = opts.withState ? (layer.kind === 'lstm' ? 2 : 1) : 0;
  const states = Array.from({ length: nState }, (_, j) => rand([LD, B, layer.hiddenSize], 40 + j, 0.8));
  const originals = params.map((p) => p.value);
  const f = (xi: Tensor, ...rest: Tensor[]): Tensor => {
    rest.slice(nState).forEach((v, i) => (params[i].value = v));
    const [h0, c0] = rest.slice(0, nState);
    return flatAll(layer.forward(xi, { h0, c0, lengths: opts.lengths }));
  };
  try {
    return gradCheck(f, [x, ...states, ...originals], { maxElementsPerInput: opts.maxElementsPerInput ?? 8, seed: 3 });
  } finally {
    params.forEach((p, i) => (p.value = originals[i]));
  }
}

