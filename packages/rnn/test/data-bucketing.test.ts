import fc from 'fast-check';
import { Rng, permutation } from '@unfold/tensor';
import { bucketByLength, paddingFraction } from '@unfold/rnn';

const lengthsArb = fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 0, maxLength: 120 });
const modeArb = fc.oneof(
  fc.constant({}),
  fc.integer({ min: 1, max: 12 }).map((bucketWidth) => ({ bucketWidth })),
  fc.uniqueArray(fc.integer({ min: 2, max: 45 }), { minLength: 1, maxLength: 5 }).map((b) => ({ boundaries: b.sort((x, y) => x - y) })),
);

function bucketIndex(len: number, boundaries: number[]): number {
  return boundaries.filter((b) => len >= b).length;
}

describe('bucketByLength', () => {
  test('every index exactly once, batches ≤ batchSize, and each batch inside one bucket', () => {
    fc.assert(
      fc.property(lengthsArb, fc.integer({ min: 1, max: 10 }), modeArb, fc.boolean(), fc.integer(), (lengths, batchSize, mode, shuffle, seed) => {
        const batches = bucketByLength(lengths, { batchSize, shuffle, rng: new Rng(seed), ...mode });
        const seen = batches.flat().sort((a, b) => a - b);
        expect(seen).toEqual(lengths.map((_, i) => i));
        for (const batch of batches) {
          expect(batch.length).toBeGreaterThanOrEqual(1);
          expect(batch.length).toBeLessThanOrEqual(batchSize);
          const ls = batch.map((i) => lengths[i]);
          if ('bucketWidth' in mode) {
            const w = mode.bucketWidth;
            expect(new Set(ls.map((l) => Math.floor((l - 1) / w))).size).toBe(1);
          }
          if ('boundaries' in mode) expect(new Set(ls.map((l) => bucketIndex(l, mode.boundaries))).size).toBe(1);
        }
        // Unshuffled: batches in increasing length order; each bucket sorted by (length, index).
        if (!shuffle) {
          const order = batches.flat();
          for (let k = 1; k < order.length; k++) {
            const [p, q] = [order[k - 1], order[k]];
            expect(lengths[p] < lengths[q] || (lengths[p] === lengths[q] && p < q)).toBe(true);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  test('sorting by length minimises padding: far below random batching', () => {
    const rng = new Rng(1);
    const lengths = Array.from({ length: 1000 }, () => 1 + Math.floor(rng.next() ** 2 * 100));
    const random = permutation(1000, rng);
    const randomBatches = Array.from({ length: 32 }, (_, k) => random.slice(k * 32, k * 32 + 32)).filter((b) => b.length > 0);
    const sorted = bucketByLength(lengths, { batchSize: 32, shuffle: true, rng });
    const width = bucketByLength(lengths, { batchSize: 32, bucketWidth: 10, shuffle: true, rng });
    const pRandom = paddingFraction(lengths, randomBatches);
    const pSorted = paddingFraction(lengths, sorted);
    const pWidth = paddingFraction(lengths, width);
    expect(pSorted).toBeLessThan(0.06);
    expect(pSorted).toBeLessThan(pWidth);
    expect(pWidth).toBeLessThan(0.25);
    expect(pRandom).toBeGreaterThan(0.4);
  });

  test('paddingFraction by hand', () => {
    // batch [0,1]: lengths 3, 1 → 6 cells, 2 padded; batch [2]: 4 cells, 0 padded → 2/10
    expect(paddingFraction([3, 1, 4], [[0, 1], [2]])).toBeCloseTo(0.2, 12);
    expect(paddingFraction([3, 1, 4], [])).toBe(0);
    expect(() => paddingFraction([3, 1], [[0, 2]])).toThrow('paddingFraction: batch 0 holds index 2, outside [0, 2)');
  });

  test('deterministic for a seed, different across seeds', () => {
    const lengths = Array.from({ length: 200 }, (_, i) => 1 + ((i * 37) % 23));
    const run = (seed: number) => bucketByLength(lengths, { batchSize: 8, bucketWidth: 5, shuffle: true, rng: new Rng(seed) });
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
    expect(bucketByLength(lengths, { batchSize: 8 })).toEqual(bucketByLength(lengths, { batchSize: 8 }));
  });

  test('errors', () => {
    expect(() => bucketByLength([1, 2], { batchSize: 0 })).toThrow('bucketByLength: batchSize must be a positive integer, got 0');
    expect(() => bucketByLength([1, 0], { batchSize: 2 })).toThrow('bucketByLength: lengths[1] = 0 is not a positive integer');
    expect(() => bucketByLength([1, 2.5], { batchSize: 2 })).toThrow('lengths[1] = 2.5');
    expect(() => bucketByLength([1], { batchSize: 2, bucketWidth: 2, boundaries: [3] })).toThrow('give bucketWidth or boundaries, not both');
    expect(() => bucketByLength([1], { batchSize: 2, bucketWidth: 0 })).toThrow('bucketWidth must be a positive integer, got 0');
    expect(() => bucketByLength([1], { batchSize: 2, boundaries: [5, 5] })).toThrow('boundaries must be strictly increasing integers ≥ 2, got [5,5]');
    expect(() => bucketByLength([1], { batchSize: 2, boundaries: [] })).toThrow('boundaries must be a non-empty array');
    expect(() => bucketByLength([1], { batchSize: 2, shuffle: true, rng: 3 as unknown as Rng })).toThrow('bucketByLength: expected an Rng');
    expect(() => bucketByLength(null as unknown as number[], { batchSize: 2 })).toThrow('lengths must be an array of integers, got null');
  });
});
