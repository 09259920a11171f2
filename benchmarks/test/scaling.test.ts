// The scaling study's pure helpers (no timings): log-log slopes, window cuts, FLOP count,
// README markers, repetition plan.
import fc from 'fast-check';
import { SCALING_BEGIN, SCALING_END, linearFit, logLogSlope, lstmFloorBytesPerStep, replaceBetween, repsFor, trainFlops, windows } from '../src/scaling';

describe('scaling helpers', () => {
  it('logLogSlope recovers the exponent of a power law', () => {
    fc.assert(
      fc.property(fc.double({ min: -3, max: 3, noNaN: true }), fc.double({ min: 1e-3, max: 1e3, noNaN: true }), (p, c) => {
        const xs = [10, 25, 50, 100, 400];
        const ys = xs.map((x) => c * x ** p);
        expect(logLogSlope(xs, ys)).toBeCloseTo(p, 6);
      }),
    );
    expect(logLogSlope([1, 2, 4], [5, 5, 5])).toBeCloseTo(0, 12);
    expect(logLogSlope([1], [1])).toBeNaN();
    expect(logLogSlope([1, 2], [0, -1])).toBeNaN(); // non-positive values are skipped
  });

  it('windows cover [0, T) in order with pieces of at most k', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 50 }), (T, k) => {
        const w = windows(T, k);
        expect(w.length).toBe(Math.ceil(T / k));
        let t = 0;
        for (const [a, b] of w) {
          expect(a).toBe(t);
          expect(b - a).toBeGreaterThan(0);
          expect(b - a).toBeLessThanOrEqual(k);
          t = b;
        }
        expect(t).toBe(T);
      }),
    );
    expect(windows(50, 20)).toEqual([[0, 20], [20, 40], [40, 50]]);
  });

  it('trainFlops is linear in T and matches the hand count', () => {
    // T=1, H=2, B=1, V=3: forward = 2·(3·8 + 2·8) + 2·2·3 = 92; training = 3 × 92
    expect(trainFlops(1, 2, 1, 3)).toBe(276);
    expect(trainFlops(400, 128)).toBe(40 * trainFlops(10, 128));
  });

  it('replaceBetween rewrites only its section and appends it once when absent', () => {
    const other = '# Title\n\n<!-- models:begin -->\nM\n<!-- models:end -->\n';
    const once = replaceBetween(other, SCALING_BEGIN, SCALING_END, 'A', '## Scaling');
    expect(once).toContain('<!-- models:begin -->\nM\n<!-- models:end -->');
    expect(once).toContain(`## Scaling\n\n${SCALING_BEGIN}\nA\n${SCALING_END}\n`);
    const twice = replaceBetween(once, SCALING_BEGIN, SCALING_END, 'B', '## Scaling');
    expect(twice).toBe(once.replace(`${SCALING_BEGIN}\nA\n`, `${SCALING_BEGIN}\nB\n`));
    expect(twice.split('## Scaling').length).toBe(2);
  });

  it('repsFor gives fewer repetitions to slow configurations', () => {
    expect(repsFor(100, 5)).toBe(5);
    expect(repsFor(2000, 5)).toBe(3);
    expect(repsFor(9000, 5)).toBe(2);
    expect(repsFor(9000, 1)).toBe(1);
  });
});

describe('straight-line fits against T', () => {
  it('linearFit recovers slope and intercept, R² = 1 on a line and below 1 off it', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e3, max: 1e3, noNaN: true }), fc.double({ min: -1e3, max: 1e3, noNaN: true }), (b, a) => {
        const xs = [10, 25, 50, 100, 200, 400];
        const f = linearFit(xs, xs.map((x) => a + b * x));
        expect(f.slope).toBeCloseTo(b, 6);
        expect(f.intercept).toBeCloseTo(a, 4);
        if (Math.abs(b) > 1e-6) expect(f.r2).toBeCloseTo(1, 9);
      }),
    );
    const bent = linearFit([1, 2, 3, 4], [1, 4, 9, 16]);
    expect(bent.slope).toBeCloseTo(5, 12); // Σ(x−x̄)(y−ȳ)/Σ(x−x̄)² = 25/5
    expect(bent.r2).toBeLessThan(0.99);
    expect(linearFit([3, 3], [1, 2]).slope).toBeNaN();
    expect(linearFit([1], [1]).slope).toBeNaN();
  });

  it('the LSTM floor is B·(4H + 2H) float32 values per time step', () => {
    expect(lstmFloorBytesPerStep(128)).toBe(32 * 768 * 4); // 96 KiB
    expect(lstmFloorBytesPerStep(1, 1)).toBe(24);
  });
});
