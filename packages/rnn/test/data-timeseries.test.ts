import fc from 'fast-check';
import { Rng, Tensor, tensor } from '@unfold/tensor';
import { Normalizer, makeWindows, syntheticSeries } from '@unfold/rnn';

describe('makeWindows', () => {
  test('x[w] = s[w·stride …], y[w] follows it; NaN → 0 with mask 0 (naive reference, random sizes)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 15 }),
        fc.integer(),
        (F, inputLen, horizon, stride, extra, seed) => {
          const N = inputLen + horizon + extra;
          const r = new Rng(seed);
          const rows = Array.from({ length: N }, () => Array.from({ length: F }, () => (r.next() < 0.15 ? NaN : Math.round(r.normal() * 100) / 8)));
          const w = makeWindows(F === 1 && seed % 2 === 0 ? rows.map((row) => row[0]) : rows, { inputLen, horizon, stride, dtype: 'float64' });
          const nw = Math.floor((N - inputLen - horizon) / stride) + 1;
          expect(w.x.shape).toEqual([nw, inputLen, F]);
          expect(w.xMask.shape).toEqual([nw, inputLen, F]);
          expect(w.y.shape).toEqual([nw, horizon, F]);
          expect(w.yMask.shape).toEqual([nw, horizon, F]);
          for (let k = 0; k < nw; k++) {
            expect(w.starts[k]).toBe(k * stride);
            for (let f = 0; f < F; f++) {
              for (let t = 0; t < inputLen; t++) {
                const v = rows[k * stride + t][f];
                expect(w.x.get(k, t, f)).toBe(Number.isNaN(v) ? 0 : v);
                expect(w.xMask.get(k, t, f)).toBe(Number.isNaN(v) ? 0 : 1);
              }
              for (let t = 0; t < horizon; t++) {
                const v = rows[k * stride + inputLen + t][f];
                expect(w.y.get(k, t, f)).toBe(Number.isNaN(v) ? 0 : v);
                expect(w.yMask.get(k, t, f)).toBe(Number.isNaN(v) ? 0 : 1);
              }
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  test('a 1-D case by hand, tensor input, and target feature selection', () => {
    const w = makeWindows([0, 1, 2, NaN, 4, 5], { inputLen: 3, horizon: 1, stride: 2 });
    expect(w.x.toArray()).toEqual([[[0], [1], [2]], [[2], [0], [4]]]);
    expect(w.xMask.toArray()).toEqual([[[1], [1], [1]], [[1], [0], [1]]]);
    expect(w.y.toArray()).toEqual([[[0]], [[5]]]);
    expect(w.yMask.toArray()).toEqual([[[0]], [[1]]]); // s[3] is NaN: the first target is missing
    const m = Tensor.fromArray(Float32Array.from([0, 10, 1, 11, 2, 12, 3, 13]), [4, 2]);
    const v = makeWindows(m, { inputLen: 2, horizon: 2, targetFeatures: [1] });
    expect(v.x.toArray()).toEqual([[[0, 10], [1, 11]]]); // N = 4 = inputLen + horizon: one window
    expect(v.y.toArray()).toEqual([[[12], [13]]]);
  });

  test('errors', () => {
    expect(() => makeWindows([1, 2, 3], { inputLen: 3, horizon: 1 })).toThrow('makeWindows: a series of 3 steps is too short for inputLen 3 + horizon 1 = 4');
    expect(() => makeWindows([1, 2, 3], { inputLen: 0, horizon: 1 })).toThrow('makeWindows: inputLen must be a positive integer, got 0');
    expect(() => makeWindows([1, 2, 3], { inputLen: 1, horizon: 1, stride: 0 })).toThrow('stride must be a positive integer, got 0');
    expect(() => makeWindows([1, Infinity, 3], { inputLen: 1, horizon: 1 })).toThrow('makeWindows: series[1] is Infinity; only NaN may mark a missing value');
    expect(() => makeWindows([[1, 2], [3, -Infinity]], { inputLen: 1, horizon: 1 })).toThrow('series[1][1] is -Infinity');
    expect(() => makeWindows([[1, 2], [3]], { inputLen: 1, horizon: 1 })).toThrow('makeWindows: row 1 of the series has 1 features, row 0 has 2');
    expect(() => makeWindows([[1, 2], [3, 4]], { inputLen: 1, horizon: 1, targetFeatures: [2] })).toThrow('makeWindows: target feature 2 is out of range [0, 2)');
    expect(() => makeWindows(tensor([[[1]]]), { inputLen: 1, horizon: 1 })).toThrow('a series tensor must be [N] or [N,F], got shape [1,1,1]');
    expect(() => makeWindows(['a'] as unknown as number[], { inputLen: 1, horizon: 1 })).toThrow('series[0] is string, not a number');
  });
});

describe('Normalizer', () => {
  test('per-feature mean and population std, skipping NaN', () => {
    const n = Normalizer.fit([[1, 10], [NaN, 20], [3, NaN], [5, 30]]);
    expect(Array.from(n.mean)).toEqual([3, 20]);
    expect(n.std[0]).toBeCloseTo(Math.sqrt(8 / 3), 12);
    expect(n.std[1]).toBeCloseTo(Math.sqrt(200 / 3), 12);
    const z = n.transform([[1, 10], [NaN, 20]]);
    expect(z.shape).toEqual([2, 2]);
    expect(z.get(0, 0)).toBeCloseTo(-2 / Math.sqrt(8 / 3), 6);
    expect(Number.isNaN(z.get(1, 0))).toBe(true);
    expect(z.get(1, 1)).toBe(0);
  });

  test('fit on the training part only; transform then inverse is the identity (NaN kept)', () => {
    const s = syntheticSeries(500, new Rng(2));
    const train = s.subarray(0, 400);
    const norm = Normalizer.fit(train);
    const all = Normalizer.fit(s);
    expect(norm.mean[0]).not.toBeCloseTo(all.mean[0], 3); // the trend makes the later part larger
    const z = norm.transform(s);
    expect(z.shape).toEqual([500]);
    const zTrain = Array.from(z.toFlatArray().slice(0, 400)).filter((v) => !Number.isNaN(v));
    const mean = zTrain.reduce((a, v) => a + v, 0) / zTrain.length;
    const varz = zTrain.reduce((a, v) => a + (v - mean) ** 2, 0) / zTrain.length;
    expect(mean).toBeCloseTo(0, 5);
    expect(varz).toBeCloseTo(1, 5);
    const back = norm.inverse(z).toFlatArray();
    back.forEach((v, i) => (Number.isNaN(s[i]) ? expect(v).toBeNaN() : expect(v).toBeCloseTo(s[i], 4)));
  });

  test('tensors of any rank with features on the last axis; feature selection for targets; JSON round trip', () => {
    const n = new Normalizer([1, 100], [2, 10]);
    const x = tensor([[[3, 110]], [[5, 120]]], undefined, 'float64'); // [2,1,2]
    const z = n.transform(x);
    expect(z.dtype).toBe('float64');
    expect(z.toArray()).toEqual([[[1, 1]], [[2, 2]]]);
    expect(n.inverse(tensor([[[1]], [[2]]]), { features: [1] }).toArray()).toEqual([[[110]], [[120]]]);
    const back = Normalizer.fromJSON(JSON.parse(JSON.stringify(n)));
    expect(Array.from(back.mean)).toEqual([1, 100]);
    expect(Array.from(back.std)).toEqual([2, 10]);
  });

  test('a constant feature gets std 1; errors', () => {
    expect(Array.from(Normalizer.fit([[4, 1], [4, 2]]).std)).toEqual([1, 0.5]);
    expect(() => Normalizer.fit([[1, NaN], [2, NaN]])).toThrow('Normalizer.fit: feature 1 has no observed values');
    expect(() => Normalizer.fit([])).toThrow('Normalizer.fit: feature 0 has no observed values');
    const n = new Normalizer([0, 0], [1, 1]);
    expect(() => n.transform([1, 2, 3])).toThrow('Normalizer.transform: the series has 1 features, the normalizer applies 2');
    expect(() => n.transform(tensor([[1, 2, 3]]))).toThrow('Normalizer.transform: last axis of [1,3] has 3 entries, the normalizer applies 2 features');
    expect(() => n.inverse(tensor([1]), { features: [2] })).toThrow('Normalizer.inverse: feature 2 is out of range [0, 2)');
    expect(() => new Normalizer([0], [0])).toThrow('Normalizer: feature 0: mean 0 must be finite and std 0 finite and > 0');
    expect(() => new Normalizer([0, 1], [1])).toThrow('Normalizer: mean and std need the same non-zero length, got 2 and 1');
    expect(() => Normalizer.fromJSON({ type: 'Normalizer' })).toThrow('Normalizer.fromJSON: expected { type: "Normalizer"');
  });
});

describe('syntheticSeries', () => {
  test('deterministic for a seed, seasonal + trend, a few NaN', () => {
    const a = syntheticSeries(1000, new Rng(5));
    expect(a).toEqual(syntheticSeries(1000, new Rng(5)));
    expect(a).not.toEqual(syntheticSeries(1000, new Rng(6)));
    const nan = Array.from(a).filter(Number.isNaN).length;
    expect(nan).toBeGreaterThanOrEqual(1);
    expect(nan).toBeLessThan(40);
    const obs = Array.from(a).filter((v) => !Number.isNaN(v));
    expect(obs.every(Number.isFinite)).toBe(true);
    // trend 0.01/step: the last 100 steps average ≈ 9 higher than the first 100
    const avg = (xs: number[]) => xs.filter((v) => !Number.isNaN(v)).reduce((s, v) => s + v, 0) / xs.filter((v) => !Number.isNaN(v)).length;
    expect(avg(Array.from(a.subarray(900))) - avg(Array.from(a.subarray(0, 100)))).toBeCloseTo(9, 0);
    // at least one NaN even for a short series with a small rate
    expect(Array.from(syntheticSeries(10, new Rng(0), { missingRate: 0.001 })).some(Number.isNaN)).toBe(true);
    expect(Array.from(syntheticSeries(50, new Rng(0), { missingRate: 0 })).some(Number.isNaN)).toBe(false);
  });

  test('errors', () => {
    expect(() => syntheticSeries(-1, new Rng(0))).toThrow('syntheticSeries: n must be a non-negative integer, got -1');
    expect(() => syntheticSeries(10, 3 as unknown as Rng)).toThrow('syntheticSeries: expected an Rng (e.g. new Rng(seed)), got number');
    expect(() => syntheticSeries(10, new Rng(0), { period: 0 })).toThrow('period must be a positive number, got 0');
    expect(() => syntheticSeries(10, new Rng(0), { missingRate: 1 })).toThrow('missingRate must be in [0, 1), got 1');
    expect(() => syntheticSeries(10, new Rng(0), { noise: -1 })).toThrow('noise must be ≥ 0, got -1');
  });
});
