import fc from 'fast-check';
import { tensor } from '@unfold/tensor';
import { padFeatureSequences, padSequences } from '@unfold/rnn';

const seqsArb = fc.array(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 9 }), { minLength: 1, maxLength: 6 });

describe('padSequences', () => {
  test('matches a naive reference: ids, shape, lengths, mask (time-major and batch-first, truncation pre/post)', () => {
    fc.assert(
      fc.property(
        seqsArb,
        fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
        fc.boolean(),
        fc.constantFrom<'pre' | 'post'>('pre', 'post'),
        fc.integer({ min: -1, max: 3 }),
        (seqs, maxLen, batchFirst, truncating, padValue) => {
          const r = padSequences(seqs, { maxLen, batchFirst, truncating, padValue });
          const B = seqs.length;
          const T = maxLen ?? Math.max(...seqs.map((s) => s.length));
          expect(r.shape).toEqual(batchFirst ? [B, T] : [T, B]);
          expect(r.mask.shape).toEqual(r.shape);
          expect(r.ids.length).toBe(T * B);
          for (let b = 0; b < B; b++) {
            const s = seqs[b];
            const kept = s.length <= T ? s : truncating === 'post' ? s.slice(0, T) : s.slice(s.length - T);
            expect(r.lengths[b]).toBe(kept.length);
            for (let t = 0; t < T; t++) {
              const idx = batchFirst ? [b, t] : [t, b];
              const flat = batchFirst ? b * T + t : t * B + b;
              expect(r.ids[flat]).toBe(t < kept.length ? kept[t] : padValue);
              expect(r.mask.get(...idx)).toBe(t < kept.length ? 1 : 0);
            }
          }
          expect(r.mask.toFlatArray().reduce((a, v) => a + v, 0)).toBe(r.lengths.reduce((a, v) => a + v, 0));
        },
      ),
      { numRuns: 200 },
    );
  });

  test('a small case by hand', () => {
    const r = padSequences([[5, 6, 7], Int32Array.from([8])]);
    expect(r.shape).toEqual([3, 2]);
    expect(Array.from(r.ids)).toEqual([5, 8, 6, 0, 7, 0]);
    expect(Array.from(r.lengths)).toEqual([3, 1]);
    expect(r.mask.toArray()).toEqual([[1, 1], [1, 0], [1, 0]]);
    expect(r.mask.dtype).toBe('float32');
  });

  test('errors', () => {
    expect(() => padSequences([])).toThrow('padSequences: no sequences to pad');
    expect(() => padSequences([[1], []])).toThrow('padSequences: sequence 1 is empty');
    expect(() => padSequences([[1, 2.5]])).toThrow('padSequences: sequence 0, step 1: 2.5 is not a non-negative integer id');
    expect(() => padSequences([[1], [3, -1]])).toThrow('sequence 1, step 1: -1 is not');
    expect(() => padSequences([[1]], { maxLen: 0 })).toThrow('padSequences: maxLen must be a positive integer, got 0');
    expect(() => padSequences([[1]], { padValue: 0.5 })).toThrow('padSequences: padValue must be an integer id, got 0.5');
    expect(() => padSequences([[1]], { truncating: 'middle' as 'pre' })).toThrow("truncating must be 'pre' or 'post', got middle");
    expect(() => padSequences([3 as unknown as number[]])).toThrow('padSequences: sequence 0 must be an array of ids or an Int32Array, got number');
  });
});

describe('padFeatureSequences', () => {
  test('x:[T,B,F] (or [B,T,F]) holds each sequence, padding elsewhere; mask matches lengths', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        fc.constantFrom(0, -7.5),
        fc.integer(),
        (F, lens, batchFirst, padValue, seed) => {
          let k = seed;
          const seqs = lens.map((n) => Array.from({ length: n }, () => Array.from({ length: F }, () => ((k = (k * 1103515245 + 12345) | 0) % 1000) / 10)));
          const r = padFeatureSequences(seqs, { batchFirst, padValue, dtype: 'float64' });
          const B = lens.length;
          const T = Math.max(...lens);
          expect(r.x.shape).toEqual(batchFirst ? [B, T, F] : [T, B, F]);
          expect(r.mask.shape).toEqual(batchFirst ? [B, T] : [T, B]);
          expect(Array.from(r.lengths)).toEqual(lens);
          for (let b = 0; b < B; b++) {
            for (let t = 0; t < T; t++) {
              expect(r.mask.get(...(batchFirst ? [b, t] : [t, b]))).toBe(t < lens[b] ? 1 : 0);
              for (let f = 0; f < F; f++) {
                const v = r.x.get(...(batchFirst ? [b, t, f] : [t, b, f]));
                expect(v).toBe(t < lens[b] ? seqs[b][t][f] : padValue);
              }
            }
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  test('tensor inputs (also non-contiguous) and maxLen truncation', () => {
    const a = tensor([[1, 2], [3, 4], [5, 6]]);
    const bT = tensor([[7, 8]]).transpose().transpose(); // a view
    const cT = tensor([[9, 11], [10, 12]]).transpose(); // [[9,10],[11,12]], non-contiguous
    const r = padFeatureSequences([a, bT, cT], { maxLen: 2, truncating: 'pre' });
    expect(r.x.toArray()).toEqual([
      [[3, 4], [7, 8], [9, 10]],
      [[5, 6], [0, 0], [11, 12]],
    ]);
    expect(Array.from(r.lengths)).toEqual([2, 1, 2]);
  });

  test('errors', () => {
    expect(() => padFeatureSequences([[[1, 2]], [[1, 2, 3]]])).toThrow('padFeatureSequences: sequence 1 has 3 features, earlier sequences have 2');
    expect(() => padFeatureSequences([[[1, 2], [3]]])).toThrow('padFeatureSequences: sequence 0, step 1 has 1 features, step 0 has 2');
    expect(() => padFeatureSequences([[[1]], []])).toThrow('padFeatureSequences: sequence 1 is empty');
    expect(() => padFeatureSequences([[[]]])).toThrow('padFeatureSequences: sequence 0 has no features (F = 0)');
    expect(() => padFeatureSequences([[1, 2] as unknown as number[][]])).toThrow('sequence 0, step 0 must be an array of F features, got number');
    expect(() => padFeatureSequences([tensor([1, 2, 3])])).toThrow('padFeatureSequences: sequence 0 must be a [len, F] tensor, got shape [3]');
    expect(() => padFeatureSequences([[[1, 'a' as unknown as number]]])).toThrow('sequence 0, step 0, feature 1 is string, not a number');
  });
});
