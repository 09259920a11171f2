import { co2Spec, runSeries, stocksSpec, weatherSpec, withMissing } from '../src/real/forecast';
import { errors, linearAR, makeWindows } from '../src/real/window';

describe('forecasting real series (vega-datasets)', () => {
  test('the data sets load with the shapes the example describes', () => {
    const w = weatherSpec();
    expect(w.values.length).toBe(1461);
    expect(w.values[w.testFrom - 1]).toBeDefined();
    expect(co2Spec().values.every((r) => r.every(Number.isFinite))).toBe(true);
    expect(stocksSpec().values.length).toBe(123);
  });

  test('a GRU on 500 days of Seattle weather forecasts 2015 next-day temp_max at least 0.05 °C better (MAE) than persistence', () => {
    const r = runSeries('weather', weatherSpec(), { steps: 400, hiddenSize: 16, trainLimit: 500 });
    expect(r.scores.persistence.mae).toBeGreaterThan(2);
    expect(r.scores.gru.mae).toBeLessThan(r.scores.persistence.mae - 0.05);
  });

  test('the linear AR is exact on a noiseless linear recurrence; missing inputs are marked, not used', () => {
    // sin(0.3 t) = 2 cos(0.3) y_{t−1} − y_{t−2}: an exact AR(2); one lag cannot express it
    const v = Array.from({ length: 200 }, (_, t) => [Math.sin(0.3 * t)]);
    const spec = { values: v, columns: ['y'], targets: [0], inputLen: 2, horizon: 1, period: 7, testFrom: 150, relative: false };
    const w = makeWindows(spec);
    expect(errors(w, w.test, linearAR(w, 0)).mae).toBeLessThan(1e-3);
    const w1 = makeWindows({ ...spec, inputLen: 1 });
    expect(errors(w1, w1.test, linearAR(w1, 0)).mae).toBeGreaterThan(0.05);
    const masked = makeWindows(withMissing(spec, 0.5, 1, true));
    expect(masked.x.shape).toEqual([w.x.shape[0], 2, 2]);
    const x = masked.x.data;
    for (let i = 0; i < x.length; i += 2) if (x[i + 1] === 0) expect(x[i]).toBe(0); // missing: value 0, mask 0
    expect(masked.truth).toEqual(w.truth); // scored against the truth
  });
});
