import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng, Tensor, TensorError, normal, zeros } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { Tape, backward, unroll } from '@unfold/autodiff';
import { GRU, LSTM, SimpleRNN, CharRNN, COMPOSED, lstmFused } from '../src';
import { flowAt, gradientFlow, randomReadout } from '../src/gradflow';
import { GRADFLOW_COMMAND } from '../../cli/src/gradflow';
import { parseFlags } from '../../cli/src/args';

const I = 4;
const x64 = (T: number, B: number, seed = 1) => normal([T, B, I], 0, 1, { rng: new Rng(seed), dtype: 'float64' });
const norm = (t: Tensor) => Math.sqrt(t.toFlatArray().reduce((a, v) => a + v * v, 0));

describe('gradientFlow', () => {
  test('vanilla RNN: equals the hand recurrence ∂L/∂h_{t−1} = W_hhᵀ((1 − h_t²) ⊙ ∂L/∂h_t), batch 1', () => {
    const T = 12, H = 5;
    const layer = new SimpleRNN({ inputSize: I, hiddenSize: H, seed: 3, dtype: 'float64' });
    const x = x64(T, 1);
    const r = gradientFlow(layer, x, { seed: 4 });
    const { wih, whh, bih, bhh } = layer.weights(0);
    const W = whh.toFlatArray(), U = wih.toFlatArray(), b1 = bih!.toFlatArray(), b2 = bhh!.toFlatArray();
    const hs: number[][] = [new Array(H).fill(0)];
    for (let t = 0; t < T; t++) {
      const xt = x.slice(t).toFlatArray();
      hs.push(Array.from({ length: H }, (_, i) => {
        let a = b1[i] + b2[i];
        for (let j = 0; j < I; j++) a += U[i * I + j] * xt[j];
        for (let j = 0; j < H; j++) a += W[i * H + j] * hs[t][j];
        return Math.tanh(a);
      }));
    }
    // L = u·h_T: ∂L/∂h_T = u, the same readout gradientFlow draws for this seed
    const probe = new Tape();
    const h = zeros([1, H], 'float64');
    probe.watch(h);
    const L = probe.run(() => randomReadout(H, 'float64', 4)(h));
    let dh = backward(probe, L).get(h).toFlatArray();
    for (let t = T; t >= 1; t--) {
      expect(r.norms[t - 1]).toBeCloseTo(Math.hypot(...dh), 12);
      const da = dh.map((d, i) => d * (1 - hs[t][i] ** 2));
      dh = Array.from({ length: H }, (_, j) => da.reduce((s, d, i) => s + W[i * H + j] * d, 0));
    }
    expect(r.norms[T - 1]).toBeCloseTo(1, 12); // unit readout
  });

  test('GRU and LSTM: fused-kernel bptt matches composed cells walked by backward(adjointsOf)', () => {
    const T = 9, H = 6, B = 3;
    for (const layer of [new GRU({ inputSize: I, hiddenSize: H, seed: 5, dtype: 'float64' }), new LSTM({ inputSize: I, hiddenSize: H, seed: 5, dtype: 'float64' })]) {
      const x = x64(T, B, 2);
      const r = gradientFlow(layer, x, { seed: 1 });
      const w = layer.weights(0);
      const cell = COMPOSED[layer.kind];
      const tape = new Tape();
      const s0 = layer.kind === 'lstm' ? [zeros([B, H], 'float64'), zeros([B, H], 'float64')] : [zeros([B, H], 'float64')];
      tape.watch(...s0);
      const xs = Array.from({ length: T }, (_, t) => x.slice(t));
      const { states, L } = tape.run(() => {
        const u = unroll((s, xt) => cell(ad.add(ad.matmul(xt, w.wih, { transB: true }), w.bih!), s, w.whh, w.bhh), s0, xs, tape);
        return { states: u.states, L: randomReadout(H, 'float64', 1)(u.states[T - 1][0]) };
      });
      const got = new Map<Tensor, number>();
      backward(tape, L, { adjointsOf: states.map((s) => s[0]), onAdjoint: (v, d) => got.set(v, norm(d) / Math.sqrt(B)) });
      states.forEach((s, t) => expect(r.norms[t]).toBeCloseTo(got.get(s[0])!, 10));
    }
  });

  test('RNN vs LSTM at t = T − 50: orders of magnitude apart (vanishing gradient)', () => {
    const T = 60, H = 32;
    const x = normal([T, 4, 8], 0, 1, { rng: new Rng(0), dtype: 'float64' });
    const rnn = gradientFlow(new SimpleRNN({ inputSize: 8, hiddenSize: H, seed: 1, dtype: 'float64' }), x);
    const lstm = gradientFlow(new LSTM({ inputSize: 8, hiddenSize: H, seed: 1, dtype: 'float64', init: { forgetBias: 1 } }), x);
    const [r50] = flowAt(rnn.norms, [50]);
    const [l50] = flowAt(lstm.norms, [50]);
    expect(rnn.norms[T - 1]).toBeCloseTo(1, 10);
    expect(r50).toBeGreaterThan(0);
    expect(l50 / r50).toBeGreaterThan(1e4);
    // geometric decay: log-norm falls roughly linearly in t for the vanilla RNN
    const slope1 = Math.log10(rnn.norms[T - 11] / rnn.norms[T - 21]);
    const slope2 = Math.log10(rnn.norms[T - 31] / rnn.norms[T - 41]);
    expect(slope1).toBeGreaterThan(1);
    expect(Math.abs(slope1 - slope2) / slope1).toBeLessThan(0.5);
  });

  test('a bare cell step, a CharRNN, and a stacked layer', () => {
    const layer = new LSTM({ inputSize: I, hiddenSize: 5, seed: 2, dtype: 'float64' });
    const w = layer.weights(0);
    const x = x64(7, 2);
    const viaCell = gradientFlow({ step: lstmFused, wih: w.wih, whh: w.whh, bih: w.bih, bhh: w.bhh }, x);
    const viaLayer = gradientFlow(layer, x);
    viaCell.norms.forEach((v, i) => expect(v).toBeCloseTo(viaLayer.norms[i], 12));
    expect(viaCell.cellNorms).toHaveLength(1);

    const m = new CharRNN({ cell: 'gru', vocabSize: 5, hiddenSize: 6, seed: 1, dtype: 'float64' });
    const ids = Array.from({ length: 8 * 2 }, (_, i) => i % 5);
    const c = gradientFlow(m, { ids, shape: [8, 2], next: [1, 2] });
    expect(c.norms).toHaveLength(8);
    expect(c.loss).toBeGreaterThan(0);
    expect([...c.norms].every((v) => Number.isFinite(v) && v > 0)).toBe(true);

    const deep = gradientFlow(new GRU({ inputSize: I, hiddenSize: 5, numLayers: 2, seed: 1, dtype: 'float64' }), x);
    expect(deep.layers).toHaveLength(2);
    expect(deep.norms).toBe(deep.layers[1]);
  });

  test('errors name the problem', () => {
    expect(() => gradientFlow(new GRU({ inputSize: I, hiddenSize: 3, bidirectional: true, dtype: 'float64' }), x64(3, 1))).toThrow(/bidirectional/);
    expect(() => gradientFlow(new GRU({ inputSize: I, hiddenSize: 3, dtype: 'float64' }), zeros([3, 1, 5], 'float64'))).toThrow(TensorError);
    expect(() => gradientFlow(new GRU({ inputSize: I, hiddenSize: 3, dtype: 'float64' }), zeros([3, 1, 5], 'float64'))).toThrow(/5 features, W_ih expects 4/);
  });
});

describe('unfold gradflow', () => {
  test('writes the line plot, one heatmap per cell and flow.json', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'gradflow-'));
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const code = GRADFLOW_COMMAND.run(parseFlags(['--cells', 'rnn,lstm', '--T', '12', '--hidden', '8', '--batch', '2', '--train-steps', '2', '--every', '1', '--train-seq', '8', '--out', out], GRADFLOW_COMMAND.flags));
      expect(code).toBe(0);
    } finally {
      write.mockRestore();
    }
    for (const f of ['gradflow.svg', 'gradflow-heatmap-rnn.svg', 'gradflow-heatmap-lstm.svg']) expect(fs.readFileSync(path.join(out, f), 'utf8')).toMatch(/^(<\?xml[^>]*\?>\s*)?<svg/);
    const json = JSON.parse(fs.readFileSync(path.join(out, 'flow.json'), 'utf8'));
    expect(json.curves).toHaveLength(2);
    expect(json.curves[0].norms).toHaveLength(12);
    expect(json.heatmaps.rnn.norms).toHaveLength(3); // steps 0, 1, 2
    expect(() => GRADFLOW_COMMAND.run(parseFlags(['--cells', 'rnn,xlstm', '--out', out], GRADFLOW_COMMAND.flags))).toThrow(/--cells/);
    fs.rmSync(out, { recursive: true, force: true });
  });
});
