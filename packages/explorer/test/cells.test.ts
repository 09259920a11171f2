import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadDefaultCorpus } from '@unfold/cli';
import { FEATURES, charActivations, features, gateSaturation, gruActivations, loadCharModel, lstmActivations, passage, pearson, rankUnits } from '../src/lib/cells';
import { Trainer } from '../src/lib/train';

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

describe('panel 4 data: a GRU (trained briefly here, as panel 3 would)', () => {
  const corpus = loadDefaultCorpus().text;
  const t = new Trainer(corpus, { cell: 'gru', hidden: 16, seqLen: 16, lr: 1e-2, batch: 8, seed: 4 });
  const text = passage(corpus, 600);
  beforeAll(async () => {
    await t.run(20);
  });

  test("its step-by-step state (the library's gruGatesForward) ends where CharRNN.predict does", () => {
    const { model, vocab } = loadCharModel(t.weights());
    const a = charActivations(model, vocab, text);
    expect(a.cell).toBe('gru');
    const ids = vocab.encode(text);
    const h = model.predict(ids, [ids.length, 1]).state.h.toFlatArray();
    h.forEach((v, i) => expect(Math.abs(v - a.h[a.h.length - 1][i])).toBeLessThan(1e-4));
    expect(Math.max(...h.map((v, i) => Math.abs(v - a.h[a.h.length - 2][i])))).toBeGreaterThan(1e-3); // negative control
    expect(() => lstmActivations(model, vocab, text)).toThrow(/one-layer one-hot LSTM/);
  });

  test('its saturation histogram counts r and z: fractions in [0, 1], equal to counting σ(xp + p) directly', () => {
    const { model, vocab } = loadCharModel(t.weights());
    const a = gruActivations(model, vocab, text);
    const sat = gateSaturation(a);
    expect(Object.keys(sat)).toEqual(['reset r', 'update z']);
    // z recomputed from the weights, without the library's gate loop: z = σ(W_ih[H:2H]·x + b_ih + W_hh[H:2H]·h + b_hh).
    const w = model.rnn.weights(0);
    const H = 16, V = model.opts.vocabSize;
    const [Wih, Whh, bih, bhh] = [w.wih.toFlatArray(), w.whh.toFlatArray(), w.bih!.toFlatArray(), w.bhh!.toFlatArray()];
    const ids = vocab.encode(text);
    const zLeft = new Array(H).fill(0), zRight = new Array(H).fill(0);
    for (let s = 0; s < ids.length; s++) {
      const hPrev = s ? a.h[s - 1] : new Float32Array(H);
      for (let u = 0; u < H; u++) {
        const row = H + u;
        let v = Wih[row * V + ids[s]] + bih[row] + bhh[row];
        for (let j = 0; j < H; j++) v += Whh[row * H + j] * hPrev[j];
        const z = 1 / (1 + Math.exp(-v));
        if (z < 0.1) zLeft[u]++;
        else if (z > 0.9) zRight[u]++;
      }
    }
    for (let u = 0; u < H; u++) {
      expect(Math.abs(sat['update z'].left[u] - zLeft[u] / ids.length)).toBeLessThanOrEqual(1 / ids.length + 1e-12);
      expect(Math.abs(sat['update z'].right[u] - zRight[u] / ids.length)).toBeLessThanOrEqual(1 / ids.length + 1e-12);
      for (const g of Object.values(sat)) {
        expect(g.left[u]).toBeGreaterThanOrEqual(0);
        expect(g.left[u] + g.right[u]).toBeLessThanOrEqual(1 + 1e-9);
      }
    }
    // Negative control: r is not z.
    expect(Array.from(sat['reset r'].left)).not.toEqual(Array.from(sat['update z'].left));
    console.log(`panel 4, GRU H 16 after 20 steps: units with z > 0.9 most of the time: ${Array.from(sat['update z'].right).filter((f) => f > 0.5).length}; mean fraction saturated r ${(Array.from(sat['reset r'].left).reduce((x, y) => x + y, 0) / H + Array.from(sat['reset r'].right).reduce((x, y) => x + y, 0) / H).toFixed(3)}, z ${(Array.from(sat['update z'].left).reduce((x, y) => x + y, 0) / H + Array.from(sat['update z'].right).reduce((x, y) => x + y, 0) / H).toFixed(3)}`);
  });
});
