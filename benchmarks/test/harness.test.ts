// The benchmark harness's own arithmetic and plumbing (no timings): statistics, repetition
// plans, the PyTorch ↔ Keras layout, the float64 reference, the README markers.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import fc from 'fast-check';
import { median, quantile, relDiff, summarize } from '../src/harness/stats';
import { planReps, splitReps, RepPolicy } from '../src/harness/timing';
import { referenceLoss } from '../src/harness/reference';
import { BEGIN, END, writeBetweenMarkers } from '../src/harness/report';
import { kerasWeights, pytorchGrads } from '../src/tfjs/layout';
import { tfjsContender } from '../src/tfjs/model';
import { Cell, Workload, forwardFlops, makeBatch, sharedWeights } from '../src/workloads';

const tiny = (cell: Cell, layers = 1): Workload => ({ id: 'T', label: 'tiny', cell, hidden: 6, layers, vocab: 7, batch: 3, seq: 4, lr: 2e-3 });

describe('stats', () => {
  it('median and quantiles match the sorted samples', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 40 }), (xs) => {
        const s = [...xs].sort((a, b) => a - b);
        const n = s.length;
        const want = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
        expect(median(xs)).toBeCloseTo(want, 6);
        // numeric equality (===): toBe's Object.is would tell −0 from +0, which no timing sample is
        expect(quantile(xs, 0) === s[0]).toBe(true);
        expect(quantile(xs, 1) === s[n - 1]).toBe(true);
      }),
    );
    expect(summarize([5, 1, 3])).toEqual({ reps: 3, median: 3, min: 1, max: 5, mad: 2 });
    expect(() => quantile([], 0.5)).toThrow('no samples');
  });

  it('relDiff is symmetric and relative', () => {
    expect(relDiff(4, 4.0004)).toBeCloseTo(0.0004 / 4.0004, 12);
    expect(relDiff(4.0004, 4)).toBe(relDiff(4, 4.0004));
    expect(relDiff(0, 0)).toBe(0);
  });
});

describe('repetition plans', () => {
  const p: RepPolicy = { warmup: 1, budgetS: 5, minReps: 2, maxReps: 10, reduced: false };
  it('fills the budget within [min, max]', () => {
    expect(planReps(p, 1000)).toBe(5);
    expect(planReps(p, 100)).toBe(10);
    expect(planReps(p, 14000)).toBe(2);
  });
  it('splits repetitions into rounds that add up', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 6 }), (n, r) => {
        const s = splitReps(n, r);
        expect(s.reduce((a, b) => a + b, 0)).toBe(n);
        expect(Math.max(...s) - Math.min(...s)).toBeLessThanOrEqual(1);
        expect(s.length).toBe(Math.min(n, r));
      }),
    );
  });
});

describe('FLOP count', () => {
  it('is the matmul formula', () => {
    // LSTM 1×128, V = 65, B = 32, T = 50: 50·[2·32·(65·512 + 128·512) + 2·32·128·65]
    const w: Workload = { id: 'W1', label: '', cell: 'lstm', hidden: 128, layers: 1, vocab: 65, batch: 32, seq: 50, lr: 0 };
    expect(forwardFlops(w)).toBe(50 * (2 * 32 * (65 * 512 + 128 * 512) + 2 * 32 * 128 * 65));
  });
});

describe('PyTorch ↔ Keras layout', () => {
  it.each(['lstm', 'gru', 'rnn'] as Cell[])('%s: kernels and biases go there and back', (cell) => {
    const w = tiny(cell, 2);
    const sd = sharedWeights(w, 5);
    for (const k of [0, 1]) sd[`rnn.bias_hh_l${k}`].data.fill(0); // the Keras bias is the sum
    const back = pytorchGrads(w, kerasWeights(w, sd));
    for (const [n, v] of Object.entries(sd)) {
      const want = n.startsWith('rnn.bias_hh') ? sd[n.replace('bias_hh', 'bias_ih')].data : v.data;
      expect(back[n].shape).toEqual(v.shape);
      expect(Array.from(back[n].data)).toEqual(Array.from(want));
    }
  });

  it('puts the GRU gates in Keras order z, r, h', () => {
    const w = tiny('gru');
    const sd = sharedWeights(w);
    const H = w.hidden;
    const [K] = kerasWeights(w, sd)[0];
    // Keras column H + j (r) is PyTorch row j (r), column j (z) is row H + j (z); input feature 2
    expect(K.data[2 * 3 * H + H + 1]).toBe(sd['rnn.weight_ih_l0'].data[1 * w.vocab + 2]);
    expect(K.data[2 * 3 * H + 1]).toBe(sd['rnn.weight_ih_l0'].data[(H + 1) * w.vocab + 2]);
  });
});

describe('float64 reference', () => {
  it('gives ln V when every weight is zero', () => {
    for (const cell of ['lstm', 'gru', 'rnn'] as Cell[]) {
      const w = tiny(cell, 2);
      const sd = sharedWeights(w);
      Object.values(sd).forEach((v) => v.data.fill(0));
      expect(referenceLoss(w, sd, makeBatch(w))).toBeCloseTo(Math.log(w.vocab), 12);
    }
  });

  it('GRU formulations agree when W_hn = 0 and b_hn = 0, and differ otherwise', () => {
    const w = tiny('gru');
    const sd = sharedWeights(w);
    const b = makeBatch(w);
    expect(relDiff(referenceLoss(w, sd, b, 'pytorch'), referenceLoss(w, sd, b, 'gru-reset-before'))).toBeGreaterThan(1e-9);
    const H = w.hidden;
    sd['rnn.weight_hh_l0'].data.fill(0, 2 * H * H);
    sd['rnn.bias_hh_l0'].data.fill(0, 2 * H);
    expect(referenceLoss(w, sd, b, 'pytorch')).toBeCloseTo(referenceLoss(w, sd, b, 'gru-reset-before'), 12);
  });

  it.each(['lstm', 'gru', 'rnn'] as Cell[])('%s: agrees with tfjs-layers on the cpu backend', async (cell) => {
    const w = tiny(cell, 2);
    const sd = sharedWeights(w);
    const c = tfjsContender('cpu');
    const inst = await c.build(w, sd, makeBatch(w));
    try {
      expect(relDiff(inst.evaluate(), referenceLoss(w, sd, makeBatch(w), c.formulation(w)))).toBeLessThan(1e-5);
    } finally {
      inst.dispose();
    }
  });
});

describe('README markers', () => {
  it('replaces only the text between the markers, or appends a section', () => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-')), 'README.md');
    fs.writeFileSync(f, `# B\n\n## Kernels\nkeep me\n\n${BEGIN}\nold\n${END}\n\nafter\n`);
    writeBetweenMarkers(f, 'new table');
    expect(fs.readFileSync(f, 'utf8')).toBe(`# B\n\n## Kernels\nkeep me\n\n${BEGIN}\nnew table\n${END}\n\nafter\n`);
    fs.writeFileSync(f, '# B\n');
    writeBetweenMarkers(f, 't', '## M');
    expect(fs.readFileSync(f, 'utf8')).toBe(`# B\n\n## M\n\n${BEGIN}\nt\n${END}\n`);
  });
});
