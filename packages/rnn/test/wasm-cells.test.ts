import fc from 'fast-check';
import { Rng, Tensor, backendInfo, normal, setBackend } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { GRU, LSTM, RecurrentLayer, SimpleRNN, computeGradients } from '../src';
import { maxErr } from './max-err';

// The fused cells on the wasm gate kernels (float32, packages/tensor/src/wasm/gates.ts) against
// the same cells on the JS loops: whole layers, outputs and every parameter's gradient, over
// random sizes (H not a multiple of 4 included), initial states, masks and views (batchFirst).
//
// Tolerance: both are float32. The σ/tanh of the kernel are within ~3.4 ulp of the correctly
// rounded value and the JS loops compute them in float64 then round (≤ 0.5 ulp); the GEMMs
// also differ (wasm SIMD vs JS kernel: other summation orders, ≤ K·u relative each). Over T ≤ 6
// steps of contractive cells this stays well below 1e-4 relative to max(1, |value|); a wrong
// gate formula or a swapped gate is off by O(0.1) (see the last test).

const wasm = backendInfo().simd;


type Kind = 'lstm' | 'gru' | 'rnn_tanh' | 'rnn_relu';
function make(kind: Kind, I: number, H: number, batchFirst: boolean): RecurrentLayer {
  const o = { inputSize: I, hiddenSize: H, batchFirst, seed: 5 };
  if (kind === 'lstm') return new LSTM(o);
  if (kind === 'gru') return new GRU(o);
  return new SimpleRNN({ ...o, nonlinearity: kind === 'rnn_tanh' ? 'tanh' : 'relu' });
}

/** Output and gradients of Σ output ⊙ R (R fixed random) under one backend. */
function run(backend: 'js' | 'wasm', kind: Kind, sd: Record<string, Tensor>, x: Tensor, R: Tensor, lengths: number[] | undefined, batchFirst: boolean) {
  setBackend(backend, { minFlops: 0 });
  const layer = make(kind, x.shape[2], R.shape[2], batchFirst);
  layer.loadStateDict(sd);
  let out: Tensor | null = null;
  computeGradients(layer, () => {
    const r = layer.forward(x, { lengths });
    out = r.output;
    return { loss: ad.sum(ad.mul(r.output, R)) };
  });
  return { out: out as unknown as Tensor, grads: layer.namedParameters().map(([n, p]) => [n, p.grad as Tensor] as const) };
}

(wasm ? describe : describe.skip)('fused cells: wasm gate kernels = JS loops (float32)', () => {
  afterAll(() => setBackend('auto'));

  test.each(['lstm', 'gru', 'rnn_tanh', 'rnn_relu'] as const)('%s layer: outputs and all gradients agree', (kind) => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 21 }),
        fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 1e6 }),
        (T, B, I, H, masked, batchFirst, seed) => {
          const rng = new Rng(seed);
          const x0 = normal([T, B, I], 0, 1.5, { rng });
          const x = batchFirst ? x0.permute([1, 0, 2]) : x0; // a non-contiguous view
          const R = normal([batchFirst ? B : T, batchFirst ? T : B, H], 0, 1, { rng });
          const lengths = masked ? Array.from({ length: B }, (_, b) => 1 + ((seed + b) % T)) : undefined;
          const sd = make(kind, I, H, batchFirst).stateDict();
          const js = run('js', kind, sd, x, R, lengths, batchFirst);
          const wa = run('wasm', kind, sd, x, R, lengths, batchFirst);
          expect(maxErr(wa.out, js.out)).toBeLessThan(1e-4);
          wa.grads.forEach(([n, g], k) => {
            const e = maxErr(g, js.grads[k][1]);
            if (!(e < 1e-4)) throw new Error(`${kind} ${n}: wasm vs js gradient differs by ${e}`);
          });
        },
      ),
      { numRuns: 25 },
    );
  });

  test('float32 on wasm with T·B = 360 rows: the deferred dW_hh GEMM spills mid-pass (256-row blocks) and still matches JS', () => {
    const rng = new Rng(21);
    const [T, B, I, H] = [12, 30, 3, 9];
    const x = normal([T, B, I], 0, 1, { rng });
    const R = normal([T, B, H], 0, 1, { rng });
    for (const kind of ['lstm', 'gru', 'rnn_tanh'] as const) {
      const sd = make(kind, I, H, false).stateDict();
      const js = run('js', kind, sd, x, R, undefined, false);
      const wa = run('wasm', kind, sd, x, R, undefined, false);
      wa.grads.forEach(([n, g], k) => {
        const e = maxErr(g, js.grads[k][1]);
        if (!(e < 1e-4)) throw new Error(`${kind} ${n}: wasm vs js gradient differs by ${e}`);
      });
    }
  });

  test('the comparison catches a wrong kernel: swapping the LSTM forget and input gates is off by far more than the tolerance', () => {
    const rng = new Rng(1);
    const x = normal([4, 3, 2], 0, 1.5, { rng });
    const R = normal([4, 3, 6], 0, 1, { rng });
    const sd = make('lstm', 2, 6, false).stateDict();
    const swapped: Record<string, Tensor> = { ...sd };
    for (const n of ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0']) {
      const t = sd[n];
      const [i, f, g, o] = ad.split(t, 6, 0); // four blocks of H = 6 rows
      swapped[n] = ad.concat([f, i, g, o], 0); // what a kernel reading the gates in the wrong order computes
    }
    const good = run('wasm', 'lstm', sd, x, R, undefined, false);
    const bad = run('wasm', 'lstm', swapped, x, R, undefined, false);
    expect(maxErr(good.out, bad.out)).toBeGreaterThan(1e-2);
  });
});
