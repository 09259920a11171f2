import { check, make, rand } from './layers-gradcheck';

// gradCheck of whole layers (float64) w.r.t. x, h0/c0 and every parameter; see layers-gradcheck.ts.

const MODES = ['rnn_tanh', 'rnn_relu', 'lstm', 'gru'] as const;

describe.each(MODES)('%s: gradCheck of the whole layer (x, h0/c0, every parameter)', (mode) => {
  test.each([true, false])('2 layers, bidirectional, from a given state (fused: %s)', (fused) => {
    const layer = make(mode, { inputSize: 3, hiddenSize: 3, numLayers: 2, bidirectional: true, fused, seed: 11 });
    const rep = check(layer, rand([3, 2, 3], 1), { withState: true });
    if (!rep.ok) throw new Error(rep.toString());
  });
});
