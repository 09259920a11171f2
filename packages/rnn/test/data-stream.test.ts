import fc from 'fast-check';
import { Rng } from '@unfold/tensor';
import { StreamBatcher, StreamWindow, checkStreamLength } from '@unfold/rnn';

/** ids[i] = i, so every element of a window says where in the stream it came from. */
const positions = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);
const at = (a: Int32Array, B: number, t: number, b: number): number => a[t * B + b];

describe('StreamBatcher', () => {
  test('a small case by hand: 2 lanes of 7, T = 3', () => {
    const sb = new StreamBatcher(positions(15), { batchSize: 2, seqLen: 3 });
    expect(sb.laneLength).toBe(7);
    expect(sb.numWindows).toBe(2); // ⌊(7 − 1)/3⌋
    const w0 = sb.next();
    expect(w0.shape).toEqual([3, 2]);
    // x is time-major [T,B]: rows are time steps, columns lanes (lane 0 = 0…6, lane 1 = 7…13).
    expect(Array.from(w0.x)).toEqual([0, 7, 1, 8, 2, 9]);
    expect(Array.from(w0.y)).toEqual([1, 8, 2, 9, 3, 10]);
    expect([w0.first, w0.last, w0.index, w0.epoch]).toEqual([true, false, 0, 0]);
    const w1 = sb.next();
    expect(Array.from(w1.x)).toEqual([3, 10, 4, 11, 5, 12]);
    expect(Array.from(w1.y)).toEqual([4, 11, 5, 12, 6, 13]);
    expect([w1.first, w1.last]).toEqual([false, true]);
    const w2 = sb.next(); // wraps into epoch 1
    expect([w2.epoch, w2.index, w2.first]).toEqual([1, 0, true]);
    expect(Array.from(w2.x)).toEqual(Array.from(w0.x));
  });

  test('lane continuity: lane b of window k+1 continues exactly where window k stopped (any N, B, T, offset)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 0, max: 60 }),
        fc.boolean(),
        fc.integer(),
        (B, T, extra, randomOffset, seed) => {
          const N = B * (T + 1) + extra;
          const sb = new StreamBatcher(positions(N), { batchSize: B, seqLen: T, randomOffset, rng: new Rng(seed) });
          const L = Math.floor(N / B);
          for (let epoch = 0; epoch < 3; epoch++) {
            const ws: StreamWindow[] = Array.from(sb);
            const o = sb.offset;
            expect(o).toBeGreaterThanOrEqual(0);
            expect(o).toBeLessThan(T);
            expect(ws.length).toBe(Math.floor((L - 1 - o) / T));
            expect(ws.length).toBe(sb.numWindows);
            expect(ws.length).toBeGreaterThanOrEqual(1);
            ws.forEach((w, k) => {
              expect(w.epoch).toBe(epoch);
              // Reference: the stream position of (t, b), and y = x shifted by one within the lane.
              const wantX: number[] = [];
              for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) wantX.push(b * L + o + k * T + t);
              expect(Array.from(w.x)).toEqual(wantX);
              expect(Array.from(w.y)).toEqual(wantX.map((p) => p + 1));
              for (let b = 0; b < B; b++) {
                // Never reads past the end of its own lane; the next window picks up where this one stopped.
                expect(at(w.y, B, T - 1, b)).toBeLessThan((b + 1) * L);
                if (k + 1 < ws.length) expect(at(ws[k + 1].x, B, 0, b)).toBe(at(w.y, B, T - 1, b));
              }
            });
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  test('lane continuity on real token values: each lane read through all windows is a contiguous slice of the stream', () => {
    const rng = new Rng(3);
    const ids = Int32Array.from({ length: 1000 }, () => rng.int(0, 65));
    const B = 4;
    const T = 16;
    const sb = new StreamBatcher(ids, { batchSize: B, seqLen: T, vocabSize: 65 });
    const lanes: number[][] = Array.from({ length: B }, () => []);
    const ws = Array.from(sb);
    for (const w of ws) for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) lanes[b].push(at(w.x, B, t, b));
    for (let b = 0; b < B; b++) {
      lanes[b].push(at(ws[ws.length - 1].y, B, T - 1, b));
      expect(lanes[b]).toEqual(Array.from(ids.subarray(b * 250, b * 250 + ws.length * T + 1)));
    }
  });

  test('epochs: for…of yields the rest of the epoch; reset rewinds; next() wraps', () => {
    const sb = new StreamBatcher(positions(100), { batchSize: 3, seqLen: 4 }); // L = 33, W = 8
    expect(sb.numWindows).toBe(8);
    const first = Array.from(sb);
    expect(first.map((w) => w.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(sb.position).toBe(8);
    const second = Array.from(sb);
    expect(second.map((w) => w.epoch)).toEqual(new Array(8).fill(1));
    sb.reset();
    expect(sb.position).toBe(0);
    expect(sb.epoch).toBe(1);
    sb.next();
    sb.next();
    const partial = [];
    for (const w of sb) {
      partial.push(w.index);
      if (w.index === 4) break;
    }
    expect(partial).toEqual([2, 3, 4]);
    expect(sb.next().index).toBe(5);
    expect(sb.window(7).x).toEqual(first[7].x);
  });

  test('random offsets are reproducible from the seed, vary by epoch, and state can be saved and restored', () => {
    const run = (seed: number): number[] => {
      const sb = new StreamBatcher(positions(500), { batchSize: 2, seqLen: 10, randomOffset: true, rng: new Rng(seed) });
      const offs: number[] = [];
      for (let e = 0; e < 20; e++) {
        offs.push(sb.offset);
        Array.from(sb);
      }
      return offs;
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
    expect(new Set(run(7)).size).toBeGreaterThan(3);

    const rng = new Rng(11);
    const a = new StreamBatcher(positions(500), { batchSize: 2, seqLen: 10, randomOffset: true, rng });
    for (let i = 0; i < 30; i++) a.next();
    const state = a.getState();
    const rngState = rng.getState();
    const nextA = Array.from({ length: 40 }, () => a.next().x);
    // Resume: build the batcher (its constructor draws an offset), then restore both states.
    const rng2 = new Rng(0);
    const b = new StreamBatcher(positions(500), { batchSize: 2, seqLen: 10, randomOffset: true, rng: rng2 });
    rng2.setState(rngState);
    b.setState(state);
    expect(Array.from({ length: 40 }, () => b.next().x)).toEqual(nextA);
  });

  test('errors name the sizes involved', () => {
    expect(() => new StreamBatcher(positions(100), { batchSize: 4, seqLen: 32 })).toThrow(
      'StreamBatcher: 100 ids are too few for batchSize 4 and seqLen 32: each of the 4 lanes would hold 25 ids, a window needs seqLen + 1 = 33 (at least 132 ids)',
    );
    // exactly B·(T+1) is enough, one less is not
    expect(new StreamBatcher(positions(132), { batchSize: 4, seqLen: 32 }).numWindows).toBe(1);
    expect(() => new StreamBatcher(positions(131), { batchSize: 4, seqLen: 32 })).toThrow('lanes would hold 32 ids');
    expect(() => checkStreamLength('train', 10, 2, 5)).toThrow('train: 10 ids are too few');
    expect(() => new StreamBatcher(positions(10), { batchSize: 0, seqLen: 2 })).toThrow('StreamBatcher: batchSize must be a positive integer, got 0');
    expect(() => new StreamBatcher(positions(10), { batchSize: 1, seqLen: 2.5 })).toThrow('seqLen must be a positive integer, got 2.5');
    expect(() => new StreamBatcher([1, 2, -3, 4], { batchSize: 1, seqLen: 1 })).toThrow('StreamBatcher: ids[2] = -3 is not a non-negative integer id');
    expect(() => new StreamBatcher([1, 2, 1.5], { batchSize: 1, seqLen: 1 })).toThrow('ids[2] = 1.5');
    expect(() => new StreamBatcher(Int32Array.from([0, 5, 65]), { batchSize: 1, seqLen: 1, vocabSize: 65 })).toThrow(
      'StreamBatcher: ids[2] = 65 is out of range for vocabSize 65',
    );
    expect(() => new StreamBatcher(positions(10), { batchSize: 1, seqLen: 2, randomOffset: true })).toThrow(
      'StreamBatcher: expected an Rng (e.g. new Rng(seed)), got undefined',
    );
    const sb = new StreamBatcher(positions(20), { batchSize: 2, seqLen: 3 });
    expect(() => sb.window(3)).toThrow('StreamBatcher.window: window 3 is out of range [0, 3) for epoch 0');
    expect(() => sb.setState({ epoch: 0, offset: 5, position: 0 })).toThrow('StreamBatcher.setState: invalid state');
    expect(() => sb.setState({ epoch: 0, offset: 0, position: 4 })).toThrow('position 4 is out of range [0, 3]');
  });
});
