import { Tensor } from '@unfold/tensor';
import { gradCheck } from '@unfold/autodiff';
import { check, flatAll, make, rand } from './layers-gradcheck';

// gradCheck of whole layers (float64) w.r.t. x, h0/c0 and every parameter; see layers-gradcheck.ts.

const MODES = ['rnn_tanh', 'rnn_relu', 'lstm', 'gru'] as const;

describe.each(MODES)('%s: gradCheck of the whole layer with lengths, residual, batchFirst, no bias', (mode) => {
  test('with lengths (one full, one short, one empty)', () => {
    const layer = make(mode, { inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true, seed: 12 });
    const rep = check(layer, rand([4, 3, 2], 2), { lengths: [4, 2, 0], withState: true });
    if (!rep.ok) throw new Error(rep.toString());
  });

  test('residual stack of 3, batchFirst', () => {
    const layer = make(mode, { inputSize: 3, hiddenSize: 3, numLayers: 3, residual: true, batchFirst: true, seed: 13 });
    const rep = check(layer, rand([2, 4, 3], 3), { lengths: [3, 4] });
    if (!rep.ok) throw new Error(rep.toString());
  });

  test('no bias, single layer, eval-mode dropout is the identity', () => {
    const layer = make(mode, { inputSize: 2, hiddenSize: 4, numLayers: 2, bias: false, dropout: 0.5, seed: 14 }).eval();
    expect(layer.stateDict()).not.toHaveProperty('bias_ih_l0');
    const rep = check(layer, rand([3, 2, 2], 4));
    if (!rep.ok) throw new Error(rep.toString());
  });
});


test('the check can fail: a parameter used outside the tape is caught', () => {
  const layer = make('gru', { inputSize: 2, hiddenSize: 2, seed: 1 });
  const params = layer.parameters();
  const originals = params.map((p) => p.value);
  // copies the perturbed W_hh into the layer's own tensor: the forward pass sees it, the tape does not
  const f = (x: Tensor, ...ps: Tensor[]): Tensor => {
    ps.forEach((v, i) => (i === 1 ? originals[1].data.set(v.data) : (params[i].value = v)));
    return flatAll(layer.forward(x));
  };
  const rep = gradCheck(f, [rand([3, 2, 2], 5), ...originals.map((t) => t.clone())], { seed: 3 });
  params.forEach((p, i) => (p.value = originals[i]));
  expect(rep.ok).toBe(false);
  expect(rep.worst!.input === 2 || rep.worst!.kind === 'direction').toBe(true);
});
