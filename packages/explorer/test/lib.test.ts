import { Rng, matmul, normal } from '@unfold/tensor';
import { buildExplainModel, explain, explainStep, gradientFlow } from '@unfold/rnn';
import { bptt } from '@unfold/autodiff';
import { zeros } from '@unfold/tensor';
import { loadDefaultCorpus } from '@unfold/cli';
import { bpttStateGrads, bpttWindows, buildWalk, localIds, parseUnrollSettings, walkLines } from '../src/lib/walk';
import { explainSections } from './sections';
import { FLOW_DEFAULTS, FLOW_H, flowCurve, flowSetup, parseFlowSettings } from '../src/lib/flow';
import { Trainer, unigramEntropy } from '../src/lib/train';
import { addingBatch } from '../src/lib/adding';
import { COPY_DEFAULTS, CopyNet, copyBatch, copyScore, runCopy } from '../src/lib/copy';
import { copyBatch as examplesCopyBatch } from '../../../examples/src/experiments/copy';

describe('panel 1 data: the walk is explain()', () => {
  test.each([['rnn', 3, 0], ['lstm', 3, 0], ['gru', 4, 2], ['lstm', 8, 5]] as const)('%s T=%i seed %i: every section equals explain()', (cell, T, seed) => {
    const w = walkLines(buildWalk({ cell, steps: T, seed }));
    const mine = localIds([...w.values, ...w.forward, w.loss, ...w.backward]);
    const e = explainSections(explain({ cell, steps: T, seed }));
    const F = w.forward.length;
    expect(mine.slice(w.values.length, w.values.length + F)).toEqual(e.forward);
    expect(w.loss).toBe(e.loss);
    expect(mine.slice(w.values.length + F + 1)).toEqual(e.backward);
    expect(w.table).toEqual(e.table);
  });

  test('negative control: another seed gives other numbers', () => {
    const w = walkLines(buildWalk({ cell: 'lstm', steps: 3, seed: 0 }));
    const e = explainSections(explain({ cell: 'lstm', steps: 3, seed: 1 }));
    expect(w.loss).not.toBe(e.loss);
    expect(localIds([...w.values, ...w.forward, w.loss, ...w.backward]).slice(-e.backward.length)).not.toEqual(e.backward);
  });
});

test('truncation: in the last window of bptt(k1 = k2) every ∂L/∂h_t equals the full walk (what panel 1 leaves un-greyed)', () => {
  const full = buildWalk({ cell: 'gru', steps: 6, seed: 3 }).hNorms;
  for (const k2 of [1, 2, 4, 6]) {
    const cut = Math.floor((6 - 1) / k2) * k2; // as panel 1 greys: the last window is cut+1 … 6
    const m = buildExplainModel({ cell: 'gru', steps: 6, seed: 3 });
    const seen = new Map<number, number>();
    bptt({ params: Object.values(m.params), step: explainStep(m, false), state0: [zeros([1, m.H], 'float64')], xs: m.xs, k1: k2, k2, onStateGrad: (t, dh) => {
      if (t > cut) seen.set(t, Math.hypot(...dh[0].toFlatArray()));
    } });
    for (let t = cut + 1; t <= 6; t++) expect(seen.get(t)).toBeCloseTo(full[t - 1], 12);
    expect(seen.size).toBe(6 - cut);
  }
  // Negative control: just before the window, the truncated walk's ∂L/∂h_t is not the full one.
  const m = buildExplainModel({ cell: 'gru', steps: 6, seed: 3 });
  let dh4 = NaN;
  bptt({ params: Object.values(m.params), step: explainStep(m, false), state0: [zeros([1, m.H], 'float64')], xs: m.xs, k1: 2, k2: 2, onStateGrad: (t, dh) => {
    if (t === 4) dh4 = Math.hypot(...dh[0].toFlatArray());
  } });
  expect(Math.abs(dh4 - full[3])).toBeGreaterThan(1e-3);
  {
  }
});

describe('panel 1 data: truncation with k1 ≠ k2 is bptt({ k1, k2 })', () => {
  test("the windows are the ones bptt's onStateGrad walks (steps tStart … tEnd per update)", () => {
    for (const [T, k1, k2] of [[6, 2, 3], [7, 2, 5], [8, 3, 3], [5, 1, 4], [8, 8, 8], [7, 3, 4]] as const) {
      const m = buildExplainModel({ cell: 'rnn', steps: T, seed: 1 });
      const seen: number[][] = [];
      let prev = Infinity;
      bptt({ params: Object.values(m.params), step: explainStep(m, false), state0: [zeros([1, m.H], 'float64')], xs: m.xs, k1, k2, onStateGrad: (t) => {
        if (t >= prev || !seen.length) seen.push([]);
        prev = t;
        seen[seen.length - 1].push(t);
      } });
      const w = bpttWindows(T, k1, k2);
      expect(w.map((x) => Array.from({ length: x.tEnd - x.tStart + 1 }, (_, i) => x.tEnd - i))).toEqual(seen);
      expect(w.every((x, i) => x.lossFrom === (i === 0 ? 1 : w[i - 1].tEnd + 1))).toBe(true);
    }
    expect(() => bpttWindows(5, 4, 3)).toThrow(/k1=4 must be an integer in \[1, k2 = 3\]/);
  });

  test('the URL: k1 defaults to k2 (char-rnn), k2 to T; k1 > k2 and k2 > T are named', () => {
    expect(parseUnrollSettings(new URLSearchParams('T=5&k2=3'))).toMatchObject({ T: 5, k1: 3, k2: 3 });
    expect(parseUnrollSettings(new URLSearchParams('T=6&k1=2&k2=3&window=2'))).toMatchObject({ k1: 2, k2: 3, window: 2 });
    expect(parseUnrollSettings(new URLSearchParams('T=4'))).toMatchObject({ k1: 4, k2: 4 });
    expect(() => parseUnrollSettings(new URLSearchParams('T=5&k1=4&k2=3'))).toThrow(/k1=4 must be an integer in \[1, k2 = 3\] \(bptt needs k1 ≤ k2\)/);
    expect(() => parseUnrollSettings(new URLSearchParams('T=5&k2=6'))).toThrow(/k2=6 must be an integer in \[1, T = 5\]/);
  });

  test.each([['rnn', 6, 2, 3, 1], ['lstm', 7, 2, 5, 3], ['gru', 8, 3, 4, 2], ['lstm', 5, 1, 3, 0]] as const)('%s T=%i k1=%i k2=%i seed %i: every window walked record by record gives bptt\'s ∂L_w/∂h_t (and ∂L_w/∂c_t)', (cell, T, k1, k2, seed) => {
    const ref = bpttStateGrads({ cell, steps: T, seed, k1, k2 });
    const windows = bpttWindows(T, k1, k2);
    expect(ref.length).toBe(windows.length);
    for (const win of windows) {
      const w = buildWalk({ cell, steps: T, seed, k1, k2, window: win.index + 1 });
      expect(w.truncation!.window).toEqual(win);
      const adj = w.backward.flatMap((r) => r.adjoints);
      for (let t = 1; t <= T; t++) {
        const inside = t >= win.tStart && t <= win.tEnd;
        for (const [kind, vs] of [['h', ref[win.index].h], ['c', ref[win.index].c]] as const) {
          if (!vs) continue;
          const a = adj.find((x) => x.name === `${kind}_${t}`);
          expect(a !== undefined).toBe(inside);
          expect(vs[t - 1] !== null).toBe(inside);
          if (a) a.data.forEach((v, i) => expect(v).toBeCloseTo(vs[t - 1]![i], 12));
        }
      }
      // The walk visits the records of exactly the window's steps, newest first.
      const steps = w.backward.map((r) => r.step!);
      expect(Math.max(...steps)).toBe(win.tEnd);
      expect(Math.min(...steps)).toBe(win.tStart);
      expect(steps).toEqual([...steps].sort((a, b) => b - a));
    }
  });

  test('k1 = k2: the last window is the full walk restricted to its steps (same records, same ‖dy‖); with k1 < k2 the overlap step differs from the full walk', () => {
    const full = buildWalk({ cell: 'gru', steps: 6, seed: 3 });
    const cut = buildWalk({ cell: 'gru', steps: 6, seed: 3, k1: 4, k2: 4 }); // windows 1…4, 5…6
    expect(cut.truncation!.window).toEqual({ index: 1, tStart: 5, lossFrom: 5, tEnd: 6 });
    const inWindow = full.backward.filter((r) => r.step !== undefined && r.step >= 5);
    expect(localIds([...cut.forward.map((r) => r.line), ...cut.backward.map((r) => r.line)]).slice(cut.forward.length)).toEqual(localIds([...full.forward.map((r) => r.line), ...inWindow.map((r) => r.line)]).slice(full.forward.length));
    // Overlap: k1 = 2, k2 = 4, last window losses L_5, L_6 walked back to step 3: ∂L_w/∂h_4 lacks L_4's share.
    const ov = buildWalk({ cell: 'gru', steps: 6, seed: 3, k1: 2, k2: 4 });
    expect(ov.truncation!.window).toMatchObject({ tStart: 3, lossFrom: 5, tEnd: 6 });
    expect(ov.hNorms[5]).toBeCloseTo(full.hNorms[5], 12);
    expect(Math.abs(ov.hNorms[3] - full.hNorms[3])).toBeGreaterThan(1e-3);
    expect(() => buildWalk({ cell: 'gru', steps: 6, seed: 3, k1: 2, k2: 4, window: 4 })).toThrow(/window=4 must be an integer in \[1, 3\]/);
  });
});

describe('panel 2 data', () => {
  test('W_hh blocks have the asked spectral radius (orthogonal: ‖W v‖ = ρ‖v‖; identity: ρ I)', () => {
    for (const init of ['orthogonal', 'identity'] as const) {
      const { model } = flowSetup('rnn', { ...FLOW_DEFAULTS, init, radius: 1.3 });
      const v = normal([FLOW_H, 1], 0, 1, { rng: new Rng(9), dtype: 'float64' });
      const n = (t: { toFlatArray(): number[] }) => Math.hypot(...t.toFlatArray());
      expect(n(matmul((model as { whh: import('@unfold/tensor').Tensor }).whh, v)) / n(v)).toBeCloseTo(1.3, 10);
    }
  });

  test('the curves are gradientFlow for those settings; a larger radius gives a different curve', () => {
    const s = { ...FLOW_DEFAULTS, T: 30, radius: 0.9 };
    const { model, x } = flowSetup('rnn', s);
    expect(Array.from(flowCurve('rnn', s).norms)).toEqual(Array.from(gradientFlow(model, x, { seed: s.seed }).norms));
    const big = flowCurve('rnn', { ...s, radius: 1.5 }).norms;
    expect(big[0]).toBeGreaterThan(10 * flowCurve('rnn', s).norms[0]);
    // The LSTM with forget bias 1 keeps more gradient than with −2 (f ≈ 0.12).
    expect(flowCurve('lstm', s).norms[0]).toBeGreaterThan(flowCurve('lstm', { ...s, forgetBias: -2 }).norms[0]);
  });

  test('bad settings in the URL are named', () => {
    expect(() => parseFlowSettings(new URLSearchParams('radius=abc'))).toThrow(/radius=abc/);
    expect(() => parseFlowSettings(new URLSearchParams('init=he'))).toThrow(/init=he.*orthogonal/);
  });
});

describe('panel 3 data', () => {
  test('unigram entropy of a two-letter text is ln 2; weights round-trip through checkpoint bytes', () => {
    expect(unigramEntropy(new Int32Array([0, 1, 0, 1]), 2)).toBeCloseTo(Math.LN2, 12);
    const text = loadDefaultCorpus().text.slice(0, 20000);
    const a = new Trainer(text, { cell: 'gru', hidden: 16, seqLen: 8, lr: 1e-2, batch: 4, seed: 1 });
    const b = new Trainer(text, { cell: 'gru', hidden: 16, seqLen: 8, lr: 1e-2, batch: 4, seed: 2 });
    expect(b.sample('The ', 40)).not.toBe(a.sample('The ', 40));
    b.load(a.weights());
    expect(b.sample('The ', 40)).toBe(a.sample('The ', 40));
    const bad = a.weights();
    bad[bad.length - 5] ^= 1;
    expect(() => b.load(bad)).toThrow(/checksum|SHA|corrupt/i);
    expect(() => new Trainer('abc'.repeat(3000), { cell: 'gru', hidden: 16, seqLen: 8, lr: 1e-2, batch: 4, seed: 1 }).load(a.weights())).toThrow(/different character set/);
  });
});

describe('panel 5 data', () => {
  test('an adding-problem batch has two markers per sequence, one in each half, and y is the sum of the marked values', () => {
    const { Rng: R } = jest.requireActual('@unfold/tensor') as typeof import('@unfold/tensor');
    const T = 9, B = 5;
    const { x, y } = addingBatch(T, B, new R(4));
    for (let b = 0; b < B; b++) {
      const marked = Array.from({ length: T }, (_, t) => t).filter((t) => x.data[(t * B + b) * 2 + 1] === 1);
      expect(marked.length).toBe(2);
      expect(marked[0]).toBeLessThan(Math.floor(T / 2));
      expect(marked[1]).toBeGreaterThanOrEqual(Math.floor(T / 2));
      expect(y.data[b]).toBeCloseTo(x.data[(marked[0] * B + b) * 2] + x.data[(marked[1] * B + b) * 2], 6);
    }
    expect(() => addingBatch(1, 2, new R(0))).toThrow(/T must be an integer ≥ 2/);
  });
});

describe('panel 5 data: the copy task', () => {
  test("copyBatch draws the sequences of examples/src/experiments/copy.ts (docs/experiments.md §4): same one-hot inputs, same targets", () => {
    const { Rng: R } = jest.requireActual('@unfold/tensor') as typeof import('@unfold/tensor');
    const [S, D, K, B] = [3, 5, 4, 7];
    const mine = copyBatch(S, D, K, B, new R(11));
    const ref = examplesCopyBatch(S, D, K, B, new R(11));
    expect(mine.T).toBe(2 * S + D);
    expect(Array.from(mine.targets)).toEqual(Array.from(ref.targets));
    for (let t = 0; t < mine.T; t++) {
      const hot = Array.from({ length: B }, (_, b) => ref.xs[t].data.slice(b * (K + 2), (b + 1) * (K + 2)).indexOf(1));
      expect(Array.from(mine.ids.slice(t * B, (t + 1) * B))).toEqual(hot);
    }
    // The layout: symbols, then blanks, one go marker at S + D, the targets are the first S inputs.
    expect(Array.from(mine.ids.slice((S + D) * B, (S + D + 1) * B))).toEqual(new Array(B).fill(K + 1));
    expect(Array.from(mine.ids.slice(0, S * B))).toEqual(Array.from(mine.targets));
    // Negative control: another seed draws other symbols.
    expect(Array.from(copyBatch(S, D, K, B, new R(12)).targets)).not.toEqual(Array.from(ref.targets));
    expect(() => copyBatch(0, 5, 4, 2, new R(0))).toThrow(/S must be an integer ≥ 1/);
  });

  test('copyScore counts argmax hits; the logits are read from the last S steps only', () => {
    const { Tensor: T } = jest.requireActual('@unfold/tensor') as typeof import('@unfold/tensor');
    const z = T.fromArray(Float32Array.from([0, 5, 1, 9, 0, 0, 1, 2, 3]), [3, 3]);
    expect(copyScore(z, new Int32Array([1, 0, 0])).accuracy).toBeCloseTo(2 / 3, 12);
    const { Rng: R } = jest.requireActual('@unfold/tensor') as typeof import('@unfold/tensor');
    const net = new CopyNet('gru', 4, 8, 0);
    const b = copyBatch(3, 4, 4, 2, new R(1));
    expect(net.logits(b, 3).shape).toEqual([6, 4]);
    // Changing a blank in the delay changes the logits; nothing after the last step exists to change.
    const before = net.logits(b, 3).toFlatArray();
    b.ids[4 * 2] = 0;
    expect(net.logits(b, 3).toFlatArray()).not.toEqual(before);
  });

  test('a short run learns a short delay (LSTM, D = 2: accuracy far above chance 1/4)', async () => {
    const r = await runCopy('lstm', 2, { ...COPY_DEFAULTS, steps: 300 });
    console.log(`copy task, LSTM, D = 2, 300 steps: accuracy ${(100 * r.accuracy).toFixed(1)}%, test CE ${r.testLoss.toFixed(3)}`);
    expect(r.T).toBe(8);
    expect(r.steps).toBe(300);
    expect(r.accuracy).toBeGreaterThan(0.6);
  });
});
