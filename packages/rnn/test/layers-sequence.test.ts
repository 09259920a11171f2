import fc from 'fast-check';
import { DType, Tensor, normal, Rng } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { OpDef, Tape, apply, gradCheck, unroll, valueAndGrad } from '@unfold/autodiff';
import { GRU, LSTM, RecurrentLayer, RecurrentOptions, SimpleRNN, recurrentSequenceOp, setSequenceKernels, SeqAttrs } from '@unfold/rnn';
import { Mode } from './layers-torchref';
import { runLayer } from './layers-sequence-run';

// The whole-sequence op (layers/sequence-op.ts: one tape record per layer and direction)
// against the per-step fused path (one cell record per step), which stays the reference.

const MODES: Mode[] = ['rnn_tanh', 'rnn_relu', 'lstm', 'gru'];

function make(mode: Mode, o: Omit<RecurrentOptions, 'dtype'>, dtype: DType): RecurrentLayer {
  const c = { ...o, dtype };
  if (mode === 'lstm') return new LSTM(c);
  if (mode === 'gru') return new GRU(c);
  return new SimpleRNN({ ...c, nonlinearity: mode === 'rnn_relu' ? 'relu' : 'tanh' });
}

interface Run { values: number[][]; grads: number[][]; records: string[] }

/** runLayer (layers-sequence-run.ts) with this file's copies. */
function run(layer: RecurrentLayer, x: Tensor, h0: Tensor, c0: Tensor | undefined, lengths: number[] | undefined, sequence: boolean, seed: number): Run {
  return runLayer(layer, x, h0, c0, lengths, sequence, seed, (a) => Array.from(a));
}

function maxRelErr(a: number[][], b: number[][]): number {
  let e = 0;
  a.forEach((v, k) => {
    expect(v.length).toBe(b[k].length);
    v.forEach((x, i) => (e = Math.max(e, Math.abs(x - b[k][i]) / (1 + Math.abs(b[k][i])))));
  });
  return e;
}

function inputs(mode: Mode, T: number, B: number, I: number, H: number, LD: number, dtype: DType, seed: number) {
  const rng = new Rng(seed);
  const x = normal([T, B, I], 0, 1, { rng, dtype });
  const h0 = normal([LD, B, H], 0, 0.5, { rng, dtype });
  const c0 = mode === 'lstm' ? normal([LD, B, H], 0, 0.5, { rng, dtype }) : undefined;
  return { x, h0, c0 };
}

describe('the sequence op equals the per-step path', () => {
  test('records: one recurrentSequence per layer and direction, none per step', () => {
    const layer = make('lstm', { inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, seed: 1 }, 'float64');
    const { x, h0, c0 } = inputs('lstm', 5, 2, 3, 4, 4, 'float64', 2);
    const seq = run(layer, x, h0, c0, undefined, true, 3);
    const step = run(layer, x, h0, c0, undefined, false, 3);
    expect(seq.records.filter((r) => r === 'recurrentSequence')).toHaveLength(4);
    expect(seq.records).not.toContain('lstmCell');
    expect(step.records.filter((r) => r === 'lstmCell')).toHaveLength(4 * 5);
  });

  test('property (float64, ≈1e-12): random modes, shapes, layers, directions, lengths, bias', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...MODES), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 2 }), fc.boolean(), fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 1000 }),
        (mode, T, B, I, H, L, bi, masked, bias, seed) => {
          const layer = make(mode, { inputSize: I, hiddenSize: H, numLayers: L, bidirectional: bi, bias, seed }, 'float64');
          const { x, h0, c0 } = inputs(mode, T, B, I, H, L * (bi ? 2 : 1), 'float64', seed + 1);
          const r = new Rng(seed + 2);
          const lengths = masked ? Array.from({ length: B }, () => r.int(0, T + 1)) : undefined;
          const a = run(layer, x, h0, c0, lengths, true, seed);
          const b = run(layer, x, h0, c0, lengths, false, seed);
          expect(maxRelErr(a.values, b.values)).toBeLessThan(1e-12);
          expect(maxRelErr(a.grads, b.grads)).toBeLessThan(1e-12);
        },
      ),
      { numRuns: 60, seed: 16 },
    );
  });

  // float32: both paths round every product and sum to 2^-24 relative; over T steps and sums
  // of K ≤ T·B terms the difference stays a small multiple of T·K·2^-24 (checked with margin 10).
  test.each(MODES)('%s float32, bidirectional 2 layers with lengths: within T·(H+T·B)·2^-24·10', (mode) => {
    const [T, B, I, H] = [7, 3, 4, 6];
    const layer = make(mode, { inputSize: I, hiddenSize: H, numLayers: 2, bidirectional: true, seed: 5 }, 'float32');
    const { x, h0, c0 } = inputs(mode, T, B, I, H, 4, 'float32', 6);
    const lengths = [7, 3, 0];
    const a = run(layer, x, h0, c0, lengths, true, 7);
    const b = run(layer, x, h0, c0, lengths, false, 7);
    const tol = T * (2 * H + T * B) * 2 ** -24 * 10;
    expect(maxRelErr(a.values, b.values)).toBeLessThan(tol);
    expect(maxRelErr(a.grads, b.grads)).toBeLessThan(tol);
  });

  test('one-hot ids (forwardIds) give the same as the per-step gather path', () => {
    const layer = make('gru', { inputSize: 5, hiddenSize: 3, seed: 8 }, 'float64');
    const ids = [0, 4, 2, 1, 3, 3];
    const f = (sequence: boolean) => {
      const was = setSequenceKernels(sequence);
      try {
        const w = layer.parameters().map((p) => p.value);
        const { value, grads } = valueAndGrad((ws: Tensor[]) => {
          layer.parameters().forEach((p, i) => (p.value = ws[i]));
          return ad.sum(ad.mul(layer.forwardIds(ids, [3, 2]).output, ad.reshape(layer.forwardIds(ids, [3, 2]).output, [3, 2, 3])));
        })(w);
        layer.parameters().forEach((p, i) => (p.value = w[i]));
        return [Array.from(value.toFlatArray()), ...grads.map((g) => Array.from(g.toFlatArray()))];
      } finally {
        setSequenceKernels(was);
      }
    };
    expect(maxRelErr(f(true), f(false))).toBeLessThan(1e-12);
  });
});

describe('gradCheck of the sequence op itself (float64)', () => {
  const opFn = (def: OpDef<SeqAttrs>, attrs: SeqAttrs, nState: number) => (...xs: Tensor[]): Tensor => {
    const outs = apply(def, xs, attrs);
    return ad.concat(outs.slice(0, 2 + (nState - 1)).map((o) => ad.reshape(o, [-1])), 0);
  };
  const args = (mode: Mode, T: number, B: number, H: number, seed: number) => {
    const G = { rnn_tanh: 1, rnn_relu: 1, lstm: 4, gru: 3 }[mode];
    const rng = new Rng(seed);
    const n = (s: number[], sd = 0.6) => normal(s, 0, sd, { rng, dtype: 'float64' });
    return [n([T, B, G * H], 1), n([B, H]), ...(mode === 'lstm' ? [n([B, H])] : []), n([G * H, H], 0.5), ...(mode === 'gru' ? [n([G * H], 0.3)] : [])];
  };
  test.each(MODES.flatMap((m) => [[m, false], [m, true]] as const))('%s reverse=%s with lengths', (mode, reverse) => {
    const xs = args(mode, 4, 3, 3, 21);
    const attrs: SeqAttrs = { kind: mode, reverse, lengths: Int32Array.from([4, 2, 0]) };
    const rep = gradCheck(opFn(recurrentSequenceOp, attrs, mode === 'lstm' ? 2 : 1), xs, { seed: 4 });
    if (!rep.ok) throw new Error(rep.toString());
  });

  // attrs.dense: x [T,B,I] in and W_ih (+ bias) at the end; the projection differentiated inside the op
  const denseArgs = (mode: Mode, T: number, B: number, I: number, H: number, bias: boolean, seed: number) => {
    const G = { rnn_tanh: 1, rnn_relu: 1, lstm: 4, gru: 3 }[mode];
    const rng = new Rng(seed);
    const n = (s: number[], sd = 0.6) => normal(s, 0, sd, { rng, dtype: 'float64' });
    const [, ...rest] = args(mode, T, B, H, seed + 1);
    return [n([T, B, I], 1), ...rest, n([G * H, I], 0.5), ...(bias ? [n([G * H], 0.3)] : [])];
  };
  test.each(MODES.flatMap((m) => [[m, false, true], [m, true, false]] as const))('dense %s reverse=%s bias=%s with lengths', (mode, reverse, bias) => {
    const xs = denseArgs(mode, 4, 3, 2, 3, bias, 31);
    const attrs: SeqAttrs = { kind: mode, reverse, lengths: Int32Array.from([4, 2, 0]), dense: { bias } };
    const rep = gradCheck(opFn(recurrentSequenceOp, attrs, mode === 'lstm' ? 2 : 1), xs, { seed: 5 });
    if (!rep.ok) throw new Error(rep.toString());
  });
  test('dense: wrong shapes and mixed modes are named errors', () => {
    const xs = denseArgs('lstm', 3, 2, 2, 3, true, 7);
    const attrs: SeqAttrs = { kind: 'lstm', reverse: false, lengths: null, dense: { bias: true } };
    const bad = (k: number, t: Tensor) => apply(recurrentSequenceOp, xs.map((x, i) => (i === k ? t : x)), attrs);
    expect(() => bad(4, normal([12, 3], 0, 1, { dtype: 'float64' }))).toThrow(/recurrentSequence: wih \[12,3\] must be \[G·H, 2\] for x \[3,2,2\]/);
    expect(() => bad(5, normal([11], 0, 1, { dtype: 'float64' }))).toThrow(/recurrentSequence: bias \[11\] must be \[12\]/);
    expect(() => bad(4, normal([8, 2], 0, 1, { dtype: 'float64' }))).toThrow(/recurrentSequence: bias \[12\] must be \[8\] for wih \[8,2\]/);
    const noBias = { ...attrs, dense: { bias: false } };
    expect(() => apply(recurrentSequenceOp, [...xs.slice(0, 4), normal([8, 2], 0, 1, { dtype: 'float64' })], noBias)).toThrow(/recurrentSequence: wih \[8,2\] must be \[4·H, I\] for h0 \[2,3\]/);
    expect(() => apply(recurrentSequenceOp, xs.slice(0, 5), attrs)).toThrow(/expected 6 inputs \[x, h0, c0, whh, wih, bias\], got 5/);
    expect(() => apply(recurrentSequenceOp, xs, { ...attrs, ids: Int32Array.from([0, 1, 0, 1, 0, 1]) })).toThrow(/ids .* and dense are exclusive/);
    // attrs.table (one-hot, the table built inside) only for a call nothing records
    const tableAttrs: SeqAttrs = { kind: 'lstm', reverse: false, lengths: null, ids: Int32Array.from([0, 1, 1, 0, 1, 1]), table: { bias: true } };
    const tin = [xs[4], ...xs.slice(1, 4), xs[5]]; // [W_ih, h0, c0, W_hh, bias]
    expect(() => apply(recurrentSequenceOp, tin, { ...tableAttrs, ids: undefined })).toThrow(/table needs ids/);
    expect(() => apply(recurrentSequenceOp, tin, { ...tableAttrs, save: false, ids: Int32Array.from([0, 1, 2, 0, 1, 1]) })).toThrow(/ids\[2\] = 2 is not one of the 2 classes of wih \[12,2\]/);
    const out = apply(recurrentSequenceOp, tin, { ...tableAttrs, save: false });
    const table = ad.add(ad.permute(xs[4], [1, 0]), xs[5]).contiguous(); // [I, 4H], as the recorded path builds it
    const ref = apply(recurrentSequenceOp, [table, ...xs.slice(1, 4)], { ...tableAttrs, table: null });
    expect(out.map((t) => t.toFlatArray())).toEqual(ref.map((t) => t.toFlatArray()));
  });

  /** The op with the accumulated gradient of input k made 1 % too large. */
  const wrongGrad = (k: number): OpDef<SeqAttrs> => ({
    ...recurrentSequenceOp,
    vjp: (dys, saved, attrs, inputs, needs, acc, defer) => {
      const r = recurrentSequenceOp.vjp(dys, saved, attrs, inputs, needs, acc, defer);
      const dW = acc(k);
      for (let i = 0; i < dW.size; i++) dW.data[dW.offset + i] *= 1.01;
      return r;
    },
  });
  test('negative control (dense): a 1 % wrong dW_ih is caught', () => {
    const xs = denseArgs('lstm', 4, 2, 2, 3, true, 23);
    const rep = gradCheck(opFn(wrongGrad(4), { kind: 'lstm', reverse: true, lengths: null, dense: { bias: true } }, 2), xs, { seed: 4 });
    expect(rep.ok).toBe(false);
  });

  // attrs.table: one-hot ids, inputs [W_ih, h0, (c0), W_hh, (b_hh), (bias)]; the table W_ihᵀ + bias
  // built inside the op, its adjoint sent on to W_ih and the bias
  const tableArgs = (mode: Mode, B: number, I: number, H: number, bias: boolean, seed: number) => {
    const G = { rnn_tanh: 1, rnn_relu: 1, lstm: 4, gru: 3 }[mode];
    const rng = new Rng(seed);
    const n = (s: number[], sd = 0.6) => normal(s, 0, sd, { rng, dtype: 'float64' });
    const [, ...rest] = args(mode, 1, B, H, seed + 1);
    return [n([G * H, I], 0.5), ...rest, ...(bias ? [n([G * H], 0.3)] : [])];
  };
  const tIds = Int32Array.from([0, 2, 1, 1, 0, 2, 2, 2, 0, 1, 0, 0]); // T = 4, B = 3, I = 3
  test.each(MODES.flatMap((m) => [[m, false, true], [m, true, false]] as const))('one-hot table %s reverse=%s bias=%s with lengths', (mode, reverse, bias) => {
    const xs = tableArgs(mode, 3, 3, 3, bias, 41);
    const attrs: SeqAttrs = { kind: mode, reverse, lengths: Int32Array.from([4, 2, 0]), ids: tIds, table: { bias } };
    const rep = gradCheck(opFn(recurrentSequenceOp, attrs, mode === 'lstm' ? 2 : 1), xs, { seed: 6 });
    if (!rep.ok) throw new Error(rep.toString());
  });
  test.each([[0, 'dW_ih'], [4, 'db']] as const)('negative control (one-hot table): a 1 %% wrong %s is caught', (k, _what) => {
    const xs = tableArgs('lstm', 3, 3, 3, true, 42);
    const rep = gradCheck(opFn(wrongGrad(k), { kind: 'lstm', reverse: false, lengths: null, ids: tIds, table: { bias: true } }, 2), xs, { seed: 4 });
    expect(rep.ok).toBe(false);
  });

  test('negative control: a 1 % wrong dW_hh is caught', () => {
    const xs = args('lstm', 4, 2, 3, 22);
    const rep = gradCheck(opFn(wrongGrad(3), { kind: 'lstm', reverse: false, lengths: null }, 2), xs, { seed: 4 });
    expect(rep.ok).toBe(false);
  });
});

describe('per-step adjoints fall back to the per-step path', () => {
  test('inside unroll (as bptt/onStateGrad/explain use it) the layer records one cell per step', () => {
    const layer = make('rnn_tanh', { inputSize: 2, hiddenSize: 3, seed: 9 }, 'float64');
    const tape = new Tape();
    const rng = new Rng(1);
    const xs = [normal([1, 2, 2], 0, 1, { rng, dtype: 'float64' }), normal([1, 2, 2], 0, 1, { rng, dtype: 'float64' })];
    tape.watch(...xs);
    tape.run(() => unroll((state, x) => [layer.forward(x, { h0: ad.reshape(state[0], [1, 2, 3]) }).hN.slice(0)], [Tensor.empty([2, 3], 'float64')], xs));
    const ops = tape.entries.map((e) => e.op);
    expect(ops).toContain('rnnTanhCell');
    expect(ops).not.toContain('recurrentSequence');
  });

  test('composed cells (fused: false) never use the sequence op', () => {
    const layer = make('gru', { inputSize: 2, hiddenSize: 3, fused: false, seed: 9 }, 'float64');
    const { x, h0 } = inputs('gru', 3, 2, 2, 3, 1, 'float64', 3);
    expect(run(layer, x, h0, undefined, undefined, true, 1).records).not.toContain('recurrentSequence');
  });
});
