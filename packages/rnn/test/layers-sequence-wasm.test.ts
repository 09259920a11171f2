import fc from 'fast-check';
import { DType, Rng, Tensor, arenaStats, backendInfo, normal, recurrence, setBackend, setThreads } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { OpDef, Tape, noGrad, valueAndGrad } from '@unfold/autodiff';
import { GRU, LSTM, RecurrentLayer, RecurrentOptions, SeqAttrs, SimpleRNN, recurrentSequenceOp, releaseSequenceWorkspace, sequenceWorkspace, setSequenceKernels } from '@unfold/rnn';
import { setSequenceParts } from '../src/layers/sequence-wasm';
import { Mode } from './layers-torchref';
import { runLayer } from './layers-sequence-run';

// The whole-sequence op on the wasm recurrence kernels (one wasm call per thread for all T
// steps: packages/tensor/src/wasm/recurrence.ts) against the per-step fused path, in float32;
// its row split (parts, threads) against one part, bit for bit; and its inference path
// (no tape: workspace rings, nothing saved) against the recorded one, bit for bit.

const MODES: Mode[] = ['rnn_tanh', 'rnn_relu', 'lstm', 'gru'];
const GATESOF: Record<Mode, number> = { rnn_tanh: 1, rnn_relu: 1, lstm: 4, gru: 3 };
const wasm = backendInfo().simd;

function make(mode: Mode, o: Omit<RecurrentOptions, 'dtype'>, dtype: DType = 'float32'): RecurrentLayer {
  const c = { ...o, dtype };
  if (mode === 'lstm') return new LSTM(c);
  if (mode === 'gru') return new GRU(c);
  return new SimpleRNN({ ...c, nonlinearity: mode === 'rnn_relu' ? 'relu' : 'tanh' });
}

interface Run { values: Float32Array[]; grads: Float32Array[]; records: string[] }

/** runLayer (layers-sequence-run.ts) with this file's copies. */
function run(layer: RecurrentLayer, x: Tensor, h0: Tensor, c0: Tensor | undefined, lengths: number[] | undefined, sequence: boolean, seed: number): Run {
  return runLayer(layer, x, h0, c0, lengths, sequence, seed, (a) => Float32Array.from(a));
}

/** Forward values only, under noGrad (the op is told nothing will record it). */
function infer(layer: RecurrentLayer, x: Tensor, h0: Tensor, c0: Tensor | undefined, lengths: number[] | undefined): Float32Array[] {
  return noGrad(() => {
    const r = layer.forward(x, { h0, c0, lengths });
    return [r.output, r.hN, ...(r.cN ? [r.cN] : [])].map((o) => Float32Array.from(o.toFlatArray()));
  });
}

function maxRelErr(a: Float32Array[], b: Float32Array[]): number {
  let e = 0;
  a.forEach((v, k) => {
    expect(v.length).toBe(b[k].length);
    v.forEach((x, i) => (e = Math.max(e, Math.abs(x - b[k][i]) / (1 + Math.abs(b[k][i])))));
  });
  return e;
}

function inputs(mode: Mode, T: number, B: number, I: number, H: number, LD: number, seed: number) {
  const rng = new Rng(seed);
  const x = normal([T, B, I], 0, 1, { rng, dtype: 'float32' });
  const h0 = normal([LD, B, H], 0, 0.5, { rng, dtype: 'float32' });
  const c0 = mode === 'lstm' ? normal([LD, B, H], 0, 0.5, { rng, dtype: 'float32' }) : undefined;
  return { x, h0, c0 };
}

// float32: both paths round every product and sum to 2^-24 relative; over T steps and sums of
// K ≤ T·B terms the difference stays a small multiple of T·(2H + T·B)·2^-24 (margin 10, as layers-sequence.test.ts).
const tolerance = (T: number, B: number, H: number): number => T * (2 * H + T * B) * 2 ** -24 * 10;

(wasm ? describe : describe.skip)('wasm recurrence kernels (float32)', () => {
  beforeAll(() => setBackend('wasm'));
  afterAll(() => {
    setThreads(1);
    setSequenceParts(null);
    setBackend('auto');
  });

  test('the kernels are in use (shared arena)', () => {
    expect(recurrence()).not.toBeNull();
  });

  // H = 6 and 9: rows of the gate kernels end in partial vectors; B = 7: parts of 4 and 3 rows
  describe.each([[7, 7, 5, 6], [5, 9, 3, 9]])('T %i, B %i, I %i, H %i', (T, B, I, H) => {
    test.each(MODES)('%s, 2 layers, bidirectional, lengths, h0/c0 and their gradients: equal the per-step path', (mode) => {
      const layer = make(mode, { inputSize: I, hiddenSize: H, numLayers: 2, bidirectional: true, seed: 5 });
      const { x, h0, c0 } = inputs(mode, T, B, I, H, 4, 6);
      const lengths = Array.from({ length: B }, (_, b) => [T, 3, 0, 1, T - 1][b % 5]);
      const a = run(layer, x, h0, c0, lengths, true, 7);
      const b = run(layer, x, h0, c0, lengths, false, 7);
      expect(a.records).toContain('recurrentSequence');
      expect(b.records).not.toContain('recurrentSequence');
      expect(maxRelErr(a.values, b.values)).toBeLessThan(tolerance(T, B, H));
      expect(maxRelErr(a.grads, b.grads)).toBeLessThan(tolerance(T, B, H));
    });
  });

  test('property: random modes, shapes (T 1–6, B 1–9, H 1–9), layers, directions, lengths, bias, parts', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...MODES), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 2 }), fc.boolean(), fc.boolean(), fc.boolean(), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 1000 }),
        (mode, T, B, I, H, L, bi, masked, bias, parts, seed) => {
          const layer = make(mode, { inputSize: I, hiddenSize: H, numLayers: L, bidirectional: bi, bias, seed });
          const { x, h0, c0 } = inputs(mode, T, B, I, H, L * (bi ? 2 : 1), seed + 1);
          const r = new Rng(seed + 2);
          const lengths = masked ? Array.from({ length: B }, () => r.int(0, T + 1)) : undefined;
          setSequenceParts(parts);
          try {
            const a = run(layer, x, h0, c0, lengths, true, seed);
            const b = run(layer, x, h0, c0, lengths, false, seed);
            expect(maxRelErr(a.values, b.values)).toBeLessThan(tolerance(T, B, H));
            expect(maxRelErr(a.grads, b.grads)).toBeLessThan(tolerance(T, B, H));
          } finally {
            setSequenceParts(null);
          }
        },
      ),
      { numRuns: 40, seed: 161 },
    );
  });

  test('H = 260 > KC = 256: the recurrent GEMMs take two K slices (forward K = H, backward K = 4H)', () => {
    const [T, B, I, H] = [3, 5, 2, 260];
    const layer = make('lstm', { inputSize: I, hiddenSize: H, seed: 30 });
    const { x, h0, c0 } = inputs('lstm', T, B, I, H, 1, 31);
    const a = run(layer, x, h0, c0, [3, 1, 0, 2, 3], true, 32);
    const b = run(layer, x, h0, c0, [3, 1, 0, 2, 3], false, 32);
    expect(maxRelErr(a.values, b.values)).toBeLessThan(tolerance(T, B, H));
    expect(maxRelErr(a.grads, b.grads)).toBeLessThan(tolerance(T, B, H));
  });

  test.each(MODES)('%s: one-hot ids (forwardIds: rows looked up inside the loop, scatter-added in backward) equal the per-step gather path', (mode) => {
    const [T, B, V, H] = [6, 5, 7, 5];
    const layer = make(mode, { inputSize: V, hiddenSize: H, numLayers: 2, bidirectional: true, seed: 20 });
    const ids = Array.from({ length: T * B }, (_, i) => (i * 3 + (i >> 2)) % V); // repeats: several rows add into one table row
    const h0 = normal([4, B, H], 0, 0.5, { rng: new Rng(21), dtype: 'float32' });
    const c0 = mode === 'lstm' ? normal([4, B, H], 0, 0.5, { rng: new Rng(22), dtype: 'float32' }) : undefined;
    const lengths = [6, 0, 3, 6, 1];
    const f = (sequence: boolean) => {
      const was = setSequenceKernels(sequence);
      try {
        const params = layer.parameters();
        const w = params.map((p) => p.value);
        const leaves = [h0, ...(c0 ? [c0] : []), ...w];
        const { value, grads, tape } = valueAndGrad((ls: Tensor[]) => {
          ls.slice(c0 ? 2 : 1).forEach((v, i) => (params[i].value = v));
          const r = layer.forwardIds(ids, [T, B], { h0: ls[0], c0: c0 ? ls[1] : undefined, lengths });
          const rng = new Rng(23);
          return [r.output, r.hN].map((o) => ad.sum(ad.mul(o, normal(o.shape, 0, 1, { rng, dtype: o.dtype })))).reduce((a, b) => ad.add(a, b));
        })(leaves);
        params.forEach((p, i) => (p.value = w[i]));
        return { all: [Float32Array.from(value.toFlatArray()), ...grads.map((g) => Float32Array.from(g.toFlatArray()))], ops: tape.entries.map((e) => e.op) };
      } finally {
        setSequenceKernels(was);
      }
    };
    const a = f(true), b = f(false);
    expect(a.ops).not.toContain('gather'); // the lookup happens inside recurrentSequence
    expect(b.ops).toContain('gather');
    expect(maxRelErr(a.all, b.all)).toBeLessThan(tolerance(T, B, H));
    expect(layer.parameters()[0].name).toMatch(/weight_ih_l0/);
    const wih = a.all[1 + (c0 ? 2 : 1)]; // after the value and the state gradients
    expect(wih.length).toBe(GATESOF[mode] * H * V);
    expect(wih.some((g) => g !== 0)).toBe(true); // weight_ih_l0 gets its gradient through the table
  });

  test.each(MODES)('%s: one-hot input, the op writes W_ihᵀ + bias into its workspace: recorded (saved for backward) and noGrad give the same bits', (mode) => {
    const [T, B, V, H] = [6, 5, 7, 5];
    const layer = make(mode, { inputSize: V, hiddenSize: H, numLayers: 2, bidirectional: true, seed: 24 });
    const ids = Array.from({ length: T * B }, (_, i) => (i * 5 + 1) % V);
    const h0 = normal([4, B, H], 0, 0.5, { rng: new Rng(25), dtype: 'float32' });
    const c0 = mode === 'lstm' ? normal([4, B, H], 0, 0.5, { rng: new Rng(26), dtype: 'float32' }) : undefined;
    const bits = (r: { output: Tensor; hN: Tensor }) => [r.output, r.hN].map((t) => Array.from(Float32Array.from(t.toFlatArray())));
    for (const lengths of [undefined, [6, 0, 3, 6, 1]]) {
      const tape = new Tape();
      tape.watch(...layer.parameters().map((p) => p.value));
      const recorded = tape.run(() => bits(layer.forwardIds(ids, [T, B], { h0, c0, lengths })));
      expect(tape.entries.map((e) => e.op)).not.toContain('permute'); // recorded too, the table is built inside the op
      expect(noGrad(() => bits(layer.forwardIds(ids, [T, B], { h0, c0, lengths })))).toEqual(recorded);
    }
  });

  test.each(MODES)('%s: any row split (1, 2, 3 parts) gives the same bits', (mode) => {
    const [T, B, I, H] = [6, 7, 3, 5];
    const layer = make(mode, { inputSize: I, hiddenSize: H, bidirectional: true, seed: 8 });
    const { x, h0, c0 } = inputs(mode, T, B, I, H, 2, 9);
    const lengths = [6, 2, 0, 5, 6, 1, 3];
    const by = [1, 2, 3].map((p) => {
      setSequenceParts(p);
      return run(layer, x, h0, c0, lengths, true, 10);
    });
    setSequenceParts(null);
    for (const r of by.slice(1)) {
      expect(r.values).toEqual(by[0].values);
      expect(r.grads).toEqual(by[0].grads);
    }
  });

  test.each(MODES)('%s: two threads (the pool runs the row parts) give the same bits as one', (mode) => {
    const [T, B, I, H] = [9, 16, 4, 12];
    const layer = make(mode, { inputSize: I, hiddenSize: H, numLayers: 2, seed: 11 });
    const { x, h0, c0 } = inputs(mode, T, B, I, H, 2, 12);
    const lengths = Array.from({ length: B }, (_, b) => (b * 5) % (T + 1));
    setThreads(1);
    expect(recurrence()!.threads()).toBe(1);
    const one = run(layer, x, h0, c0, lengths, true, 13);
    const oneInfer = infer(layer, x, h0, c0, lengths);
    setThreads(2);
    try {
      expect(recurrence()!.threads()).toBe(2);
      const two = run(layer, x, h0, c0, lengths, true, 13);
      expect(two.values).toEqual(one.values);
      expect(two.grads).toEqual(one.grads);
      expect(infer(layer, x, h0, c0, lengths)).toEqual(oneInfer);
      // and the threaded path against the per-step reference
      const ref = run(layer, x, h0, c0, lengths, false, 13);
      expect(maxRelErr(two.grads, ref.grads)).toBeLessThan(tolerance(T, B, H));
    } finally {
      setThreads(1);
    }
  });

  test.each(MODES)('%s: inference (noGrad: no saved buffers, workspace rings) gives the bits of the recorded forward', (mode) => {
    const [T, B, I, H] = [8, 5, 3, 7];
    const layer = make(mode, { inputSize: I, hiddenSize: H, numLayers: 2, bidirectional: true, seed: 14 });
    const { x, h0, c0 } = inputs(mode, T, B, I, H, 4, 15);
    for (const lengths of [undefined, [8, 0, 3, 8, 1]]) {
      const recorded = run(layer, x, h0, c0, lengths, true, 16).values;
      expect(infer(layer, x, h0, c0, lengths)).toEqual(recorded);
      const was = setSequenceKernels(false);
      const perStep = infer(layer, x, h0, c0, lengths);
      setSequenceKernels(was);
      expect(maxRelErr(infer(layer, x, h0, c0, lengths), perStep)).toBeLessThan(tolerance(T, B, H));
    }
  });

  test('inference reuses its workspace: same blocks and arena bytes call after call; a bigger shape regrows it', () => {
    const layer = make('lstm', { inputSize: 3, hiddenSize: 8, seed: 17 });
    const one = inputs('lstm', 10, 4, 3, 8, 1, 18);
    infer(layer, one.x, one.h0, one.c0, undefined);
    const ws = sequenceWorkspace();
    const live = arenaStats().liveBytes;
    for (let k = 0; k < 3; k++) {
      infer(layer, one.x, one.h0, one.c0, undefined);
      expect(sequenceWorkspace()).toEqual(ws);
      expect(arenaStats().liveBytes).toBe(live);
    }
    const big = inputs('lstm', 40, 16, 3, 8, 1, 19);
    const r = infer(layer, big.x, big.h0, big.c0, undefined);
    expect(sequenceWorkspace().bytes).toBeGreaterThan(ws.bytes);
    const was = setSequenceKernels(false);
    expect(maxRelErr(r, infer(layer, big.x, big.h0, big.c0, undefined))).toBeLessThan(tolerance(40, 16, 8));
    setSequenceKernels(was);
    // given back: the arena holds less, and the next call makes the blocks again with the same result
    const held = arenaStats().liveBytes;
    releaseSequenceWorkspace();
    expect(sequenceWorkspace().blocks).toBe(0);
    expect(arenaStats().liveBytes).toBeLessThan(held);
    expect(infer(layer, big.x, big.h0, big.c0, undefined)).toEqual(r);
  });

  test('a call run with save: false cannot be differentiated (a named error, not wrong numbers)', () => {
    const [T, B, H] = [3, 2, 4];
    const rng = new Rng(1);
    const n = (s: number[]) => normal(s, 0, 0.5, { rng, dtype: 'float32' });
    const xs = [n([T, B, 4 * H]), n([B, H]), n([B, H]), n([4 * H, H])];
    const attrs: SeqAttrs = { kind: 'lstm', reverse: false, lengths: null, save: false };
    expect(() =>
      valueAndGrad((ls: Tensor[]) => ad.sum(ad.apply(recurrentSequenceOp, ls, attrs)[0]))(xs),
    ).toThrow(/recurrentSequence: backward of a call run with save: false/);
  });

  describe('negative controls: the comparisons above catch a wrong kernel path', () => {
    const [T, B, I, H] = [7, 7, 5, 6];
    const cmp = (mode: Mode, corrupt: () => () => void) => {
      const layer = make(mode, { inputSize: I, hiddenSize: H, bidirectional: true, seed: 5 });
      const { x, h0, c0 } = inputs(mode, T, B, I, H, 2, 6);
      const lengths = [7, 3, 0, 1, 6, 7, 2];
      const b = run(layer, x, h0, c0, lengths, false, 7);
      const undo = corrupt();
      try {
        const a = run(layer, x, h0, c0, lengths, true, 7);
        return Math.max(maxRelErr(a.values, b.values), maxRelErr(a.grads, b.grads));
      } finally {
        undo();
      }
    };
    const patchVjp = (scale: number) => () => {
      const orig = recurrentSequenceOp.vjp;
      (recurrentSequenceOp as OpDef<SeqAttrs>).vjp = (dys, saved, attrs, ins, needs, acc, defer) => {
        const r = orig(dys, saved, attrs, ins, needs, acc, defer);
        const dW = acc(attrs.kind === 'lstm' ? 3 : 2);
        for (let i = 0; i < dW.size; i++) dW.data[dW.offset + i] *= scale;
        return r;
      };
      return () => void ((recurrentSequenceOp as OpDef<SeqAttrs>).vjp = orig);
    };
    test.each(MODES)('%s: dW_hh 1 %% off is caught, exact is not', (mode) => {
      expect(cmp(mode, patchVjp(1))).toBeLessThan(tolerance(T, B, H));
      expect(cmp(mode, patchVjp(1.01))).toBeGreaterThan(tolerance(T, B, H));
    });
    test.each(MODES)('%s: lengths off by one on the kernel side (the masking) is caught', (mode) => {
      const wrongLengths = () => {
        const orig = recurrentSequenceOp.forward;
        (recurrentSequenceOp as OpDef<SeqAttrs>).forward = (ins, attrs) =>
          orig(ins, { ...attrs, lengths: attrs.lengths ? attrs.lengths.map((l, b) => (b === 1 ? l + 1 : l)) : null });
        return () => void ((recurrentSequenceOp as OpDef<SeqAttrs>).forward = orig);
      };
      expect(cmp(mode, wrongLengths)).toBeGreaterThan(tolerance(T, B, H));
    });
  });
});
