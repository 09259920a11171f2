// The allocation counter of alloc.ts on allocations of known size (no timings): typed-array
// backing stores show as ArrayBuffer bytes, objects as heap bytes, and nothing as (about) nothing.
import { measured } from '../src/alloc';

describe('allocation counter', () => {
  const keep: unknown[] = [];
  const empty = (): number => Math.min(...Array.from({ length: 5 }, () => measured(() => 0).heap));

  it('counts a Float32Array of 1000 values as 4000 ArrayBuffer bytes and a small heap object (within the few KiB the readings themselves vary by)', () => {
    const w = measured(() => keep.push(new Float32Array(1000)));
    expect(w.ab).toBe(4000);
    expect(w.heap - empty()).toBeLessThan(8192);
  });

  it('counts 10,000 small objects as at least 10,000 × 16 heap bytes', () => {
    const w = measured(() => {
      for (let i = 0; i < 10_000; i++) keep.push({ i });
    });
    expect(w.heap - empty()).toBeGreaterThanOrEqual(10_000 * 16);
    expect(w.ab).toBe(0);
  });

  it('sees (almost) nothing when nothing is allocated (the readings themselves cost a few KiB, which the probe subtracts)', () => {
    const w = measured(() => 0);
    expect(Math.abs(w.heap - empty())).toBeLessThan(8192);
    expect(w.ab).toBe(0);
  });

  afterAll(() => (keep.length = 0));
});
