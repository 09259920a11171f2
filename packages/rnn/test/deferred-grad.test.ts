import { Rng, Tensor, full, normal } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { Adjoints, Deferred } from '@unfold/autodiff';
import { GRU, LSTM, RecurrentLayer, SimpleRNN, computeGradients } from '../src';

// The fused cells collect each step's dW_hh rows and add them with one GEMM per ~256 rows
// (fused-util.ts DeferredWeightGrad, autodiff's `defer`). Enough steps × batch to spill several
// times mid-pass must give the composed cells' gradients (float64, 1e-10), and the Adjoints must
// settle a deferred contribution before anything reads or adds to that adjoint.

function grads(layer: RecurrentLayer, x: Tensor, R: Tensor): Map<string, Tensor> {
  computeGradients(layer, () => ({ loss: ad.sum(ad.mul(layer.forward(x).output, R)) }));
  return new Map(layer.namedParameters().map(([n, p]) => [n, p.grad as Tensor]));
}

test.each([
  ['lstm', (fused: boolean) => new LSTM({ inputSize: 3, hiddenSize: 5, fused, dtype: 'float64', seed: 2 })],
  ['gru', (fused: boolean) => new GRU({ inputSize: 3, hiddenSize: 5, fused, dtype: 'float64', seed: 2 })],
  ['rnn', (fused: boolean) => new SimpleRNN({ inputSize: 3, hiddenSize: 5, fused, dtype: 'float64', seed: 2 })],
] as const)('%s: T·B = 37·19 rows (GEMMs of 247, 247 and 209 rows) = composed gradients', (_k, make) => {
  const rng = new Rng(4);
  const [T, B] = [37, 19];
  const x = normal([T, B, 3], 0, 1, { rng, dtype: 'float64' });
  const R = normal([T, B, 5], 0, 1, { rng, dtype: 'float64' });
  const f = grads(make(true), x, R);
  const c = grads(make(false), x, R);
  for (const [n, g] of f) {
    const ref = c.get(n) as Tensor;
    const a = g.toFlatArray();
    const b = ref.toFlatArray();
    const scale = Math.max(1, ...b.map(Math.abs));
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i]) / scale).toBeLessThan(1e-10);
  }
});

test('Adjoints settle a deferred contribution before a read, an add, a take, and at the end', () => {
  const adj = new Adjoints();
  let flushed = 0;
  class Sum implements Deferred {
    pending = 0;
    constructor(private readonly buf: Tensor) {}
    flush(): void {
      flushed++;
      this.buf.data[0] += this.pending;
    }
  }
  adj.defer(7, [1], 'float64', (b) => new Sum(b)).pending += 2;
  adj.defer(7, [1], 'float64', (b) => new Sum(b)).pending += 3; // the same accumulator
  expect(flushed).toBe(0);
  expect(adj.get(7)!.data[0]).toBe(5); // a read settles
  adj.defer(7, [1], 'float64', (b) => new Sum(b)).pending += 1;
  adj.add(7, full([1], 10, 'float64'));
  expect(adj.get(7)!.data[0]).toBe(16); // settled before the add, not lost
  adj.defer(7, [1], 'float64', (b) => new Sum(b)).pending += 4;
  expect(adj.take(7)!.data[0]).toBe(20);
  expect(flushed).toBe(3);
});
