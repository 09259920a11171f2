import fc from 'fast-check';
import { Tensor, tensor, zeros } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { GRU, LSTM, RecurrentLayer, SimpleRNN, computeGradients } from '@unfold/rnn';
import { Mode, flat3, lcg, refForward } from './layers-torchref';

// Lengths: past its length an example must behave as if it were not there at all — same
// outputs, final state and gradients as running it alone unpadded, whatever garbage the padding holds.

const MODES = ['rnn_tanh', 'rnn_relu', 'lstm', 'gru'] as const;

function make(mode: Mode, o: { inputSize: number; hiddenSize: number; numLayers?: number; bidirectional?: boolean; residual?: boolean; batchFirst?: boolean; seed?: number }): RecurrentLayer {
  const c = { ...o, dtype: 'float64' as const };
  if (mode === 'lstm') return new LSTM(c);
  if (mode === 'gru') return new GRU(c);
  return new SimpleRNN({ ...c, nonlinearity: mode === 'rnn_relu' ? 'relu' : 'tanh' });
}

/** x [T, B, I] with example values from an LCG and `pad` written past each example's length. */
function padded(T: number, B: number, I: number, lengths: number[], pad: (i: number) => number, seed = 1): Tensor {
  const rnd = lcg(seed);
  const x = zeros([T, B, I], 'float64');
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) for (let i = 0; i < I; i++) x.data[(t * B + b) * I + i] = t < lengths[b] ? rnd() : pad(t * 7 + i);
  return x;
}

/** Rows t < L of example b: [L, 1, I]. */
const alone = (x: Tensor, b: number, L: number): Tensor => x.slice({ start: 0, stop: L }, { start: b, stop: b + 1 }).clone();

const GARBAGE: [string, (i: number) => number][] = [
  ['NaN', () => NaN],
  ['±Inf', (i) => (i % 2 ? Infinity : -Infinity)],
  ['huge', (i) => (i % 2 ? 1e300 : -3e307)],
];

/** Loss ⟨U, output⟩ + ⟨V, h_n⟩ (+ ⟨W, c_n⟩) with fixed weights; U is nonzero past the lengths too. */
function lossOf(layer: RecurrentLayer, x: Tensor, lengths: number[] | undefined, seed = 5) {
  const r = layer.forward(x, lengths ? { lengths } : {});
  // one LCG per term, so the weights of output rows t < L do not depend on T
  const w = (t: Tensor, k: number) => {
    const rnd = lcg(seed + k);
    return tensor(Array.from({ length: t.size }, () => rnd()), t.shape.slice(), 'float64');
  };
  let loss = ad.sum(ad.mul(r.output, w(r.output, 0)));
  loss = ad.add(loss, ad.sum(ad.mul(r.hN, w(r.hN, 1))));
  if (r.cN) loss = ad.add(loss, ad.sum(ad.mul(r.cN, w(r.cN, 2))));
  return { loss, r };
}

function gradsOf(layer: RecurrentLayer, x: Tensor, lengths?: number[]) {
  const xs = x.clone();
  let dx: Tensor | null = null;
  const tape = new ad.Tape();
  tape.watch(xs, ...layer.parameters().map((p) => p.value));
  const { loss, r } = tape.run(() => lossOf(layer, xs, lengths));
  const g = ad.backward(tape, loss);
  dx = g.get(xs);
  return { r, dx, grads: Object.fromEntries(layer.parameters().map((p) => [p.name, g.get(p.value).toFlatArray()])) };
}

describe.each(MODES)('%s: a padded example is the example alone', (mode) => {
  test.each(GARBAGE)('B = 1, padding holds %s: same output (then exact 0), h_n, c_n, parameter and input gradients', (_name, pad) => {
    const layer = make(mode, { inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, seed: 2 });
    const T = 6;
    const L = 4;
    const x = padded(T, 1, 3, [L], pad);
    const a = gradsOf(layer, x, [L]);
    const b = gradsOf(layer, alone(x, 0, L), undefined);
    const out = a.r.output.toFlatArray();
    const DH = 8;
    expect(out.slice(0, L * DH)).toEqual(b.r.output.toFlatArray());
    expect(out.slice(L * DH)).toEqual(new Array((T - L) * DH).fill(0));
    expect(a.r.hN.toFlatArray()).toEqual(b.r.hN.toFlatArray());
    if (mode === 'lstm') expect(a.r.cN!.toFlatArray()).toEqual(b.r.cN!.toFlatArray());
    for (const [n, g] of Object.entries(a.grads)) {
      expect(g.every(Number.isFinite)).toBe(true);
      // the losses differ only by ⟨U, 0⟩ past L: the padded steps add exact zeros to every sum
      expect(g).toEqual(b.grads[n]);
    }
    const dx = a.dx!.toFlatArray();
    expect(dx.slice(L * 3).every((v) => v === 0)).toBe(true); // ±0: dy · 0
    expect(dx.slice(0, L * 3)).toEqual(b.dx!.toFlatArray());
  });
});

test('property: every example of a padded batch equals that example alone (random modes, sizes, lengths, NaN padding)', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...MODES),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 3 }),
      fc.boolean(),
      fc.integer({ min: 1, max: 2 }),
      fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
      fc.boolean(),
      (mode, T, B, bidirectional, numLayers, seeds, batchFirst) => {
        const lengths = Array.from({ length: B }, (_, b) => seeds[b] % (T + 1));
        const layer = make(mode, { inputSize: 2, hiddenSize: 3, numLayers, bidirectional, seed: seeds[0] });
        const x = padded(T, B, 2, lengths, () => NaN, seeds[1]);
        const h0 = tensor(Array.from({ length: numLayers * (bidirectional ? 2 : 1) * B * 3 }, (_, i) => Math.cos(i)), [numLayers * (bidirectional ? 2 : 1), B, 3], 'float64');
        const c0 = mode === 'lstm' ? tensor(h0.toFlatArray().map((v) => -v / 2), h0.shape.slice(), 'float64') : undefined;
        const r = layer.forward(x, { lengths, h0, c0 });
        if (batchFirst) {
          const bf = make(mode, { inputSize: 2, hiddenSize: 3, numLayers, bidirectional, seed: seeds[0], batchFirst: true });
          const rb = bf.forward(x.permute([1, 0, 2]).clone(), { lengths, h0, c0 });
          expect(rb.output.permute([1, 0, 2]).toFlatArray()).toEqual(r.output.toFlatArray());
          expect(rb.hN.toFlatArray()).toEqual(r.hN.toFlatArray());
        }
        const DH = 3 * (bidirectional ? 2 : 1);
        for (let b = 0; b < B; b++) {
          const L = lengths[b];
          const hb = h0.slice(null, { start: b, stop: b + 1 }).clone();
          const cb = c0?.slice(null, { start: b, stop: b + 1 }).clone();
          const hN = r.hN.slice(null, b).toFlatArray();
          if (L === 0) {
            // nothing ran: h_n is h0 (c_n is c0), every output is 0
            expect(hN).toEqual(hb.toFlatArray());
            if (cb) expect(r.cN!.slice(null, b).toFlatArray()).toEqual(cb.toFlatArray());
          } else {
            const s = layer.forward(alone(x, b, L), { h0: hb, c0: cb });
            expect(r.output.slice({ start: 0, stop: L }, b).toFlatArray()).toEqual(s.output.toFlatArray());
            expect(hN).toEqual(s.hN.toFlatArray());
            if (cb) expect(r.cN!.slice(null, b).toFlatArray()).toEqual(s.cN!.toFlatArray());
          }
          expect(r.output.slice({ start: L }, b).toFlatArray()).toEqual(new Array((T - L) * DH).fill(0));
        }
      },
    ),
    { numRuns: 60, seed: 42 },
  );
});

describe.each(MODES)('%s, bidirectional with lengths', (mode) => {
  test('the reverse direction starts at each example\'s own last valid step (= the reversed unpadded sequence)', () => {
    const bi = make(mode, { inputSize: 2, hiddenSize: 3, bidirectional: true, seed: 4 });
    const lengths = [5, 2, 3];
    const x = padded(5, 3, 2, lengths, (i) => (i % 2 ? NaN : 1e6));
    const r = bi.forward(x, { lengths });
    // a one-direction layer holding the reverse weights
    const rev = make(mode, { inputSize: 2, hiddenSize: 3 });
    rev.loadStateDict(Object.fromEntries(Object.entries(bi.stateDict()).filter(([n]) => n.endsWith('_reverse')).map(([n, v]) => [n.replace('_reverse', ''), v])));
    lengths.forEach((L, b) => {
      const xr = alone(x, b, L).slice({ step: -1 }).clone(); // x_{L−1}, …, x_0
      const s = rev.forward(xr);
      for (let t = 0; t < L; t++) {
        expect(r.output.slice(t, b, { start: 3 }).toFlatArray()).toEqual(s.output.slice(L - 1 - t, 0).toFlatArray());
      }
      expect(r.hN.slice(1, b).toFlatArray()).toEqual(s.hN.slice(0, 0).toFlatArray());
    });
  });

  test('matches the pack_padded_sequence reference (2 layers)', () => {
    const layer = make(mode, { inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true, seed: 8 });
    const lengths = [4, 1, 3, 0];
    const x = padded(4, 4, 2, lengths, () => NaN);
    const p = Object.fromEntries(Object.entries(layer.stateDict()).map(([n, v]) => [n, { shape: v.shape.slice(), data: v.toFlatArray() }]));
    const xs = Array.from({ length: 4 }, (_, t) => Array.from({ length: 4 }, (_, b) => [0, 1].map((i) => x.get(t, b, i))));
    const ref = refForward({ mode, inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true, bias: true }, p, xs, { lengths });
    const r = layer.forward(x, { lengths });
    r.output.toFlatArray().forEach((v, i) => expect(v).toBeCloseTo(flat3(ref.output)[i], 12));
    r.hN.toFlatArray().forEach((v, i) => expect(v).toBeCloseTo(flat3(ref.hN)[i], 12));
  });
});

test('residual stacks keep padded steps at exactly 0', () => {
  const layer = make('gru', { inputSize: 3, hiddenSize: 3, numLayers: 3, residual: true, seed: 1 });
  const x = padded(4, 2, 3, [2, 4], () => NaN);
  const r = layer.forward(x, { lengths: [2, 4] });
  expect(r.output.slice({ start: 2 }, 0).toFlatArray()).toEqual(new Array(6).fill(0));
  expect(r.output.toFlatArray().every(Number.isFinite)).toBe(true);
});

test('computeGradients over a NaN-padded batch gives finite gradients', () => {
  const layer = make('lstm', { inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true });
  const x = padded(5, 2, 2, [3, 5], () => NaN);
  computeGradients(layer, () => lossOf(layer, x, [3, 5]));
  for (const p of layer.parameters()) expect(p.grad!.toFlatArray().every(Number.isFinite)).toBe(true);
});
