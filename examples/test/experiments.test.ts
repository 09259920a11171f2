// Small, fast versions of the classic BPTT experiments (examples/src/experiments), with
// assertions that fail when the mechanism they demonstrate is broken.
import { Rng } from '@unfold/tensor';
import { ADDING_BASELINE, addingBatch, runAdding } from '../src/experiments/adding';
import { copyBatch, runCopy } from '../src/experiments/copy';
import { runTruncation, symbolStream } from '../src/experiments/truncation';
import { explodingModel, runExploding } from '../src/experiments/exploding';
import { parseArgs, table } from '../src/experiments/common';

describe('adding problem', () => {
  test('two markers, one in each half; the target is their sum; always-1 scores ≈ 1/6', () => {
    const T = 20, B = 4000;
    const { xs, y } = addingBatch(T, B, new Rng(1));
    let se = 0;
    for (let b = 0; b < B; b++) {
      const marked = xs.map((x, t) => [t, x.get(b, 1)]).filter(([, m]) => m === 1).map(([t]) => t);
      expect(marked).toHaveLength(2);
      expect(marked[0]).toBeLessThan(T / 2);
      expect(marked[1]).toBeGreaterThanOrEqual(T / 2);
      expect(y.get(b, 0)).toBeCloseTo(xs[marked[0]].get(b, 0) + xs[marked[1]].get(b, 0), 6);
      se += (y.get(b, 0) - 1) ** 2;
    }
    expect(Math.abs(se / B - ADDING_BASELINE)).toBeLessThan(0.015);
  });

  test('a GRU learns the short (T = 10) version far below the baseline', () => {
    const r = runAdding({ cell: 'gru', T: 10, hidden: 16, batch: 32, steps: 200, lr: 0.02, clip: 1, seed: 0, evalEvery: 100, testSize: 128 });
    expect(r.curve[0].mse).toBeGreaterThan(0.5 * ADDING_BASELINE); // untrained: not already solved
    expect(r.testMse).toBeLessThan(0.1 * ADDING_BASELINE);
  });
});

describe('copy task', () => {
  test('symbols first, the go marker after the delay, targets are the first S symbols', () => {
    const S = 3, D = 5, K = 4, B = 6;
    const { xs, targets } = copyBatch(S, D, K, B, new Rng(2));
    expect(xs).toHaveLength(2 * S + D);
    for (let b = 0; b < B; b++) {
      const ids = xs.map((x) => Array.from({ length: K + 2 }, (_, k) => x.get(b, k)).indexOf(1));
      expect(ids.slice(0, S)).toEqual(Array.from({ length: S }, (_, k) => targets[k * B + b]));
      expect(ids.slice(S, S + D).every((i) => i === K)).toBe(true);
      expect(ids[S + D]).toBe(K + 1);
      expect(ids.slice(S + D + 1).every((i) => i === K)).toBe(true);
    }
  });

  test('a GRU recalls the symbols after a short delay; untrained it is at chance', () => {
    const r = runCopy({ cell: 'gru', S: 2, D: 3, K: 4, hidden: 16, batch: 32, steps: 150, lr: 0.02, clip: 1, seed: 0, evalEvery: 75, testSize: 128 });
    expect(r.curve[0].accuracy).toBeLessThan(0.4);
    expect(r.accuracy).toBeGreaterThan(0.9);
  });
});

describe('truncated BPTT', () => {
  test('y_t = x_{t−4}: learnable with k2 = 8, not with k2 = 2', () => {
    const stream = symbolStream(10, 3, 4, new Rng(0));
    expect(stream.xs[4].get(1, stream.ids[4][1])).toBe(1);
    const o = { cell: 'gru' as const, d: 4, k1: 2, K: 4, hidden: 16, batch: 32, updates: 200, lr: 0.02, seed: 0, evalEvery: 100 };
    const short = runTruncation({ ...o, k2: 2 });
    const long = runTruncation({ ...o, k2: 8 });
    expect(long.accuracy).toBeGreaterThan(0.5);
    expect(short.accuracy).toBeLessThan(0.4);
    expect(long.accuracy - short.accuracy).toBeGreaterThan(0.15);
  });
});

describe('exploding gradients', () => {
  test('W_hh = 3·Q has spectral norm 3 (‖W v‖ = 3‖v‖ for every v)', () => {
    const m = explodingModel({ rho: 3, hidden: 8, seed: 0 });
    const W = m.rnn.weights(0).whh;
    const rng = new Rng(5);
    for (let k = 0; k < 3; k++) {
      const v = Array.from({ length: 8 }, () => rng.normal());
      const Wv = Array.from({ length: 8 }, (_, i) => v.reduce((s, vj, j) => s + W.get(i, j) * vj, 0));
      expect(Math.hypot(...Wv) / Math.hypot(...v)).toBeCloseTo(3, 4);
    }
  });

  test('without clipping the gradient norm explodes; clipGradNorm keeps every applied step ≤ max', () => {
    const o = { rho: 3, T: 30, hidden: 16, batch: 16, steps: 20, lr: 0.05, seed: 0 };
    const free = runExploding({ ...o, clip: Infinity });
    const clipped = runExploding({ ...o, clip: 1 });
    expect(Math.max(...free.gradNorms.filter(Number.isFinite))).toBeGreaterThan(1e3);
    // the unclipped step is the raw gradient
    free.gradNorms.forEach((g, i) => Number.isFinite(g) && expect(Math.abs(free.appliedNorms[i] - g)).toBeLessThanOrEqual(1e-9 * g));
    expect(clipped.diverged).toBeNull();
    expect(clipped.gradNorms.some((g) => g > 1)).toBe(true); // clipping had something to do
    for (const a of clipped.appliedNorms) expect(a).toBeLessThanOrEqual(1 + 1e-5);
  });
});

describe('experiment helpers', () => {
  test('parseArgs keeps types and rejects unknown flags; table aligns columns', () => {
    expect(parseArgs(['--steps', '5', '--cells', 'rnn'], { steps: 1, cells: 'lstm' })).toEqual({ steps: 5, cells: 'rnn' });
    expect(() => parseArgs(['--stepz', '5'], { steps: 1 })).toThrow(/--stepz|stepz/);
    expect(() => parseArgs(['--steps', 'many'], { steps: 1 })).toThrow(/number/);
    const t = table(['a', 'bb'], [[1, 'x'], [22, 'yyy']]).split('\n');
    expect(new Set(t.map((l) => l.length)).size).toBe(1);
  });
});
