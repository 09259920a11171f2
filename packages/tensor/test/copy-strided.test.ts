import fc from 'fast-check';
import { DType, Tensor, copyStrided } from '@unfold/tensor';
import { dtypeArb, layoutArb, makeTensor, shapeArb, writableLayoutArb } from './gen';

// copyStrided: every element of a strided view written to the matching element of another, for
// every layout pair (contiguous, transposed, stepped, reversed, broadcast source), across dtypes,
// and within one buffer — against an index-by-index reference.

/** Element (multi-index) → flat position in t's storage. */
function at(t: Tensor, idx: number[]): number {
  return idx.reduce((o, v, k) => o + v * t.strides[k], t.offset);
}
function* indices(shape: readonly number[]): Generator<number[]> {
  const n = shape.reduce((a, b) => a * b, 1);
  for (let f = 0; f < n; f++) {
    const idx: number[] = [];
    let r = f;
    for (let k = shape.length - 1; k >= 0; k--) {
      idx.unshift(r % shape[k]);
      r = Math.floor(r / shape[k]);
    }
    yield idx;
  }
}

test('property: any pair of layouts and dtypes, same values as the index-by-index copy', () => {
  fc.assert(
    fc.property(shapeArb(0, 4, 4), dtypeArb, dtypeArb, layoutArb, writableLayoutArb, fc.integer(), (shape, sd, dd, sl, dl, seed) => {
      const src = makeTensor(shape, sd, sl, seed);
      const dst = makeTensor(shape, dd as DType, dl, seed + 1);
      const want = dst.storage.data.slice();
      for (const idx of indices(shape)) want[at(dst, idx)] = src.data[at(src, idx)];
      copyStrided(shape, src.data, src.offset, src.strides, dst.data, dst.offset, dst.strides);
      expect(Array.from(dst.storage.data)).toEqual(Array.from(want));
    }),
    { numRuns: 300 },
  );
});

test('within one buffer (disjoint halves), strided and dense: right values', () => {
  const buf = new Float32Array(24).map((_, i) => i);
  // src = elements 0..11 as [3,4], dst = elements 12..23 as its transpose [4,3] viewed back as [3,4]
  copyStrided([3, 4], buf, 0, [4, 1], buf, 12, [1, 3]);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) expect(buf[12 + i + 3 * j]).toBe(4 * i + j);
  // and a dense copy inside one buffer
  copyStrided([2, 6], buf, 0, [6, 1], buf, 12, [6, 1]);
  expect(Array.from(buf.subarray(12))).toEqual(Array.from(buf.subarray(0, 12)));
});
