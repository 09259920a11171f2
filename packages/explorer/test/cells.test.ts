import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadDefaultCorpus } from '@unfold/cli';
import { FEATURES, features, gateSaturation, loadCharModel, lstmActivations, passage, pearson, rankUnits } from '../src/lib/cells';

const MODEL = path.join(__dirname, '..', 'assets', 'lstm-shakespeare.ckpt');

describe('panel 4 data: the shipped LSTM', () => {
  const bytes = new Uint8Array(fs.readFileSync(MODEL));
  const { model, vocab } = loadCharModel(bytes);
  const text = passage(loadDefaultCorpus().text);
  const a = lstmActivations(model, vocab, text);

  test('is a small file (< 2 MB) holding a one-layer LSTM', () => {
    expect(bytes.length).toBeLessThan(2 * 1024 * 1024);
    expect(model.opts).toMatchObject({ cell: 'lstm', hiddenSize: 64, numLayers: 1 });
  });

  test("the step-by-step activations end in the state the library's own LSTM layer reaches (CharRNN.predict)", () => {
    const ids = vocab.encode(text);
    const { state } = model.predict(ids, [ids.length, 1]);
    const h = state.h.toFlatArray(); // [1, 1, H]
    const mine = a.h[a.h.length - 1];
    expect(h.length).toBe(64);
    h.forEach((v, i) => expect(Math.abs(v - mine[i])).toBeLessThan(1e-4));
    // Negative control: the state one character earlier is not it.
    expect(Math.max(...h.map((v, i) => Math.abs(v - a.h[a.h.length - 2][i])))).toBeGreaterThan(1e-2);
  });

  test('pearson is ±1 on lines, NaN on a constant', () => {
    expect(pearson([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(pearson([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12);
    expect(pearson([1, 2, 3], [5, 5, 5])).toBeNaN();
    const f = features('ab (c)\nd');
    expect(Array.from(f['position in line'])).toEqual([1, 2, 3, 4, 5, 6, 0, 1]);
    expect(Array.from(f['bracket depth'])).toEqual([0, 0, 0, 1, 1, 0, 0, 0]);
    expect(Array.from(f['start of word'])).toEqual([1, 0, 0, 0, 1, 0, 0, 1]);
  });

  test('some unit correlates with a feature at |r| ≥ 0.5; the saturation fractions are fractions', () => {
    const ranked = rankUnits(a, features(a.text));
    const best = ranked[0];
    const perFeature = FEATURES.map((k) => ranked.find((s) => s.feature === k)).filter((s) => s).map((s) => `${s!.feature}: unit ${s!.unit} r = ${s!.r.toFixed(3)}`);
    console.log(`panel 4, shipped LSTM on a ${a.text.length}-character passage: best per feature — ${perFeature.join('; ')}`);
    expect(Math.abs(best.r)).toBeGreaterThanOrEqual(0.5);
    const sat = gateSaturation(a);
    for (const g of Object.values(sat)) for (let u = 0; u < 64; u++) expect(g.left[u] + g.right[u]).toBeLessThanOrEqual(1 + 1e-9);
  });
});
