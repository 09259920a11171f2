// The allocation counter of alloc.ts on allocations of known size (no timings): typed-array
// backing stores show as ArrayBuffer bytes, objects as heap bytes, and nothing as (about) nothing.
// As in the probe, the heap figure is the least of a few passes: a first call also allocates
// feedback vectors and bytecode for the code it runs.
import { measured } from '../src/alloc';

describe('allocation counter', () => {
  const keep: unknown[] = [];
  const least = (fn: () => unknown, n = 4): { heap: number; ab: number[] } => {
    // one window first, not counted: the backing stores that jest's setup left for GC can still be
    // being freed by V8's background sweeper inside it (seen once in CI: −2.7 MB of ArrayBuffers)
    measured(fn);
    const ws = Array.from({ length: n }, () => measured(fn));
    return { heap: Math.min(...ws.map((w) => w.heap)), ab: ws.map((w) => w.ab) };
  };
  const empty = (): number => least(() => 0, 5).heap;

  it('counts a Float32Array of 1000 values as 4000 ArrayBuffer bytes and a small heap object', () => {
    const w = least(() => keep.push(new Float32Array(1000)));
    expect(w.ab).toEqual([4000, 4000, 4000, 4000]);
    expect(w.heap - empty()).toBeLessThan(4096);
  });

  it('counts 10,000 small objects as at least 10,000 × 16 heap bytes', () => {
    const w = least(() => {
      for (let i = 0; i < 10_000; i++) keep.push({ i });
    });
    expect(w.heap - empty()).toBeGreaterThanOrEqual(10_000 * 16);
    expect(w.ab).toEqual([0, 0, 0, 0]);
  });

  it('sees (almost) nothing when nothing is allocated (the readings themselves cost a few KiB, which the probe subtracts)', () => {
    const w = least(() => 0);
    expect(Math.abs(w.heap - empty())).toBeLessThan(4096);
    expect(w.ab).toEqual([0, 0, 0, 0]);
  });

  afterAll(() => (keep.length = 0));
});
