import { forecastWindows, runForecast, takeRows } from '../src/forecast';
import { tensor } from '@unfold/tensor';

describe('forecast example', () => {
  test('a GRU trained briefly beats the naive last-value forecast on the held-out future', () => {
    const r = runForecast({ length: 1200, epochs: 2, quiet: true });
    expect(r.missingFraction).toBeGreaterThan(0.01); // the NaN paths are exercised
    expect(Number.isFinite(r.testMse)).toBe(true);
    expect(r.testMse).toBeLessThan(0.5 * r.naiveMse);
  });

  test('windows: relative to the last observed input, NaN inputs → (0, 0), NaN targets masked', () => {
    // series 0,1,2,NaN,4,5,NaN,7 with inputLen 3, horizon 2, period 2
    const z = [0, 1, 2, NaN, 4, 5, NaN, 7];
    const w = forecastWindows(z, 3, 2, 2);
    expect(w.x.shape).toEqual([4, 3, 2]);
    // window 1: inputs 1,2,NaN → last observed 2; targets 4,5
    expect(w.last[1]).toBe(2);
    expect([0, 1, 2].map((t) => [w.x.get(1, t, 0), w.x.get(1, t, 1)])).toEqual([[-1, 1], [0, 1], [0, 0]]);
    expect([w.y.get(1, 0), w.y.get(1, 1)]).toEqual([2, 3]);
    // window 2: inputs 2,NaN,4 → last 4; targets 5,NaN → (1, masked)
    expect(w.last[2]).toBe(4);
    expect([w.y.get(2, 0), w.y.get(2, 1), w.yMask.get(2, 0), w.yMask.get(2, 1)]).toEqual([1, 0, 1, 0]);
    // seasonal naive (period 2) for window 0 (inputs 0,1,2 → last 2): targets at 3,4 ← values at 1,2 → 1−2, 2−2
    expect([w.seasonal.get(0, 0), w.seasonal.get(0, 1)]).toEqual([-1, 0]);
    expect(takeRows(tensor([[1, 2], [3, 4], [5, 6]]), [2, 0]).toArray()).toEqual([[5, 6], [1, 2]]);
  });
});
