// The recipe's data plumbing (no training): the windows Unfold reads are the ones recipe.py
// reads (stream b = ids[b·L …], window k = characters k·T … k·T + T, targets one further).
import { split, streams, windowAt } from '../src/recipe';

describe('recipe windows', () => {
  it('cut B contiguous streams into windows of T, time-major, y one character ahead', () => {
    const a = Int32Array.from({ length: 23 }, (_, i) => i);
    const { L, windows } = streams(a.length, 2, 3); // L = 11: streams 0…10 and 11…21; (11 − 1) / 3 → 3 windows
    expect([L, windows]).toEqual([11, 3]);
    const w1 = windowAt(a, L, 2, 3, 1);
    expect(Array.from(w1.x)).toEqual([3, 14, 4, 15, 5, 16]); // x[t·B + b] = a[b·L + k·T + t]
    expect(Array.from(w1.y)).toEqual([4, 15, 5, 16, 6, 17]);
    const last = windowAt(a, L, 2, 3, windows - 1);
    expect(Math.max(...last.y)).toBeLessThan(2 * L); // the last window's targets stay inside the streams
  });

  it('splits 90 / 5 % as recipe.py does (int(N·0.9), int(N·0.95))', () => {
    const ids = new Int32Array(1001).map((_, i) => i);
    const { train, val } = split(ids);
    expect([train.length, val[0], val.length]).toEqual([900, 900, 50]);
  });
});
