import { DType, Rng, Tensor, normal, setBackend } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { valueAndGrad } from '@unfold/autodiff';
import { GRU, LSTM, RecurrentLayer, SimpleRNN, setSequenceKernels } from '@unfold/rnn';
import { zeroConstant } from '../src/layers/zero-state';

// A layer called without h0/c0 starts from a shared all-zero constant per shape
// (layers/zero-state.ts) instead of fresh zeros on every call. That is only sound if nothing
// ever writes into it and no layer hands it back: checked here on every path a state takes.

type Kind = 'lstm' | 'gru' | 'rnn';
const make = (kind: Kind, dtype: DType, o: { layers: number; bidirectional: boolean; stateful?: boolean; fused?: boolean }): RecurrentLayer => {
  const c = { inputSize: 3, hiddenSize: 4, numLayers: o.layers, bidirectional: o.bidirectional, stateful: o.stateful, fused: o.fused, dtype, seed: 1, bias: kind !== 'gru' };
  return kind === 'lstm' ? new LSTM(c) : kind === 'gru' ? new GRU(c) : new SimpleRNN(c);
};
const [T, B, H] = [5, 2, 4];

/** Outputs of a forward and backward pass without h0/c0: Σ u ⊙ (output, hN, cN), its gradients taken. */
function pass(layer: RecurrentLayer, x: Tensor, lengths?: number[]): { outs: Tensor[]; values: number[][] } {
  let outs: Tensor[] = [];
  valueAndGrad((ls: Tensor[]) => {
    const r = layer.forward(ls[0], { lengths });
    outs = [r.output, r.hN, ...(r.cN ? [r.cN] : [])];
    const rng = new Rng(7);
    return outs.map((o) => ad.sum(ad.mul(o, normal(o.shape, 0, 1, { rng, dtype: o.dtype })))).reduce((a, b) => ad.add(a, b));
  })([x]);
  return { outs, values: outs.map((o) => Array.from(o.toFlatArray())) };
}

const allZero = (t: Tensor): boolean => Array.from(t.toFlatArray()).every((v) => v === 0 && !Object.is(v, -0));

describe.each(['js', 'wasm'] as const)('the shared zero initial state (%s backend)', (backend) => {
  beforeAll(() => setBackend(backend));
  afterAll(() => setBackend('auto'));

  const cases: [Kind, DType, boolean, number, boolean][] = [];
  for (const kind of ['lstm', 'gru', 'rnn'] as Kind[]) {
    for (const dtype of ['float32', 'float64'] as DType[]) {
      for (const sequence of [true, false]) cases.push([kind, dtype, sequence, 2, true], [kind, dtype, sequence, 1, false]);
    }
  }
  test.each(cases)('%s %s sequence op %s, %i layer(s), bidirectional %s: stays zero, never returned', (kind, dtype, sequence, layers, bidirectional) => {
    const was = setSequenceKernels(sequence);
    try {
      const layer = make(kind, dtype, { layers, bidirectional });
      const x = normal([T, B, 3], 0, 1, { rng: new Rng(3), dtype });
      const zs = [zeroConstant('h', [B, H], dtype), zeroConstant('c', [B, H], dtype), ...(kind === 'gru' ? [zeroConstant('bhh', [3 * H], dtype)] : [])];
      for (const lengths of [undefined, [3, 5]]) {
        const a = pass(layer, x, lengths);
        const b = pass(layer, x, lengths);
        expect(b.values).toEqual(a.values); // the same numbers call after call
        for (const z of zs) expect(allZero(z)).toBe(true);
        for (const o of [...a.outs, ...b.outs]) for (const z of zs) expect(o.storage).not.toBe(z.storage);
      }
      // the composed cells (one record per primitive op) read it too
      const composed = make(kind, dtype, { layers, bidirectional, fused: false });
      pass(composed, x, [3, 5]);
      for (const z of zs) expect(allZero(z)).toBe(true);
      // stateful: the carried state is the layer's own, not the constant
      const st = make(kind, dtype, { layers, bidirectional, stateful: true });
      pass(st, x);
      pass(st, x);
      for (const z of zs) expect(allZero(z)).toBe(true);
    } finally {
      setSequenceKernels(was);
    }
  });

  test('negative control: the layer reads the constant, so a write into it would show', () => {
    for (const sequence of [true, false]) {
      const was = setSequenceKernels(sequence);
      try {
        const layer = make('lstm', 'float64', { layers: 1, bidirectional: false });
        const x = normal([T, B, 3], 0, 1, { rng: new Rng(3), dtype: 'float64' });
        const clean = pass(layer, x).values;
        for (const role of ['h', 'c'] as const) {
          const z = zeroConstant(role, [B, H], 'float64');
          z.data.fill(0.5);
          try {
            expect(pass(layer, x).values).not.toEqual(clean);
          } finally {
            z.data.fill(0);
          }
        }
        expect(pass(layer, x).values).toEqual(clean);
      } finally {
        setSequenceKernels(was);
      }
    }
  });
});
