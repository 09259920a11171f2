import fc from 'fast-check';
import { DType, Rng, Tensor, TypedArray, full, gemm, gemmArrays, matmul, uniform } from '@unfold/tensor';
import { backendInfo, setBackend } from '../src/wasm/backend';

/*
 * The GEMM property tests, as a function of the backend under test: matmul.test.ts runs
 * them on the JS kernel (float32 and float64), wasm-matmul.test.ts on the wasm kernel
 * (float32: float64 never leaves JS). Two files so that jest runs them in parallel.
 */

/*
 * Oracle: a float64 triple loop over `get()` of the logical (already transposed) views.
 * Tolerance, elementwise: |c − ref| ≤ (K+2)·u·Σ_p |a_ip·b_pj| (+ |β·c| terms), the
 * classical dot-product bound γ_K = K·u/(1−K·u). u = 2^-53 for float64. For float32 the
 * JS kernel widens the inputs exactly, forms products and sums in doubles and rounds to
 * float32 once per 256-deep K slice (true error ~2^-24 relative); the wasm kernel
 * accumulates in float32, for which K·2^-24 is the bound. It still catches any wrong or
 * missing term (one term is ~1/K of Σ|a·b|, ≫ K·2^-24 for K ≤ 40).
 */
const unitRoundoff = (dtype: DType): number => (dtype === 'float64' ? 2 ** -53 : 2 ** -24);

interface Ref {
  value: number[][];
  bound: number[][]; // Σ|terms|, the scale the rounding error is relative to
}

function reference(a: Tensor, b: Tensor, alpha = 1, beta = 0, c?: Tensor): Ref {
  const [M, K] = a.shape;
  const N = b.shape[1];
  const av = Array.from({ length: M }, (_, i) => Array.from({ length: K }, (_, p) => a.get(i, p)));
  const bv = Array.from({ length: K }, (_, p) => Array.from({ length: N }, (_, j) => b.get(p, j)));
  const value: number[][] = [];
  const bound: number[][] = [];
  for (let i = 0; i < M; i++) {
    value.push([]);
    bound.push([]);
    for (let j = 0; j < N; j++) {
      let s = 0;
      let abs = 0;
      for (let p = 0; p < K; p++) {
        s += av[i][p] * bv[p][j];
        abs += Math.abs(av[i][p] * bv[p][j]);
      }
      const cij = c && beta !== 0 ? c.get(i, j) : 0;
      value[i].push(alpha * s + beta * cij);
      bound[i].push(Math.abs(alpha) * abs + Math.abs(beta * cij));
    }
  }
  return { value, bound };
}

/** Asserts out (a [M,N] view) matches the oracle within (K+2)·u·bound. */
function expectClose(out: Tensor, ref: Ref, K: number, dtype: DType): void {
  const tol = (K + 2) * unitRoundoff(dtype);
  for (let i = 0; i < ref.value.length; i++) {
    for (let j = 0; j < ref.value[i].length; j++) {
      const got = out.get(i, j);
      const err = Math.abs(got - ref.value[i][j]);
      if (!(err <= tol * ref.bound[i][j] + 1e-300)) {
        throw new Error(`(${i},${j}): got ${got}, expected ${ref.value[i][j]} (err ${err}, tol ${tol * ref.bound[i][j]})`);
      }
    }
  }
}

/**
 * How an operand with logical shape [rows, cols] is laid out in memory. Every layout is a
 * view over a larger or differently ordered buffer, so the kernel must honour strides.
 */
const LAYOUTS = ['contiguous', 'transposed', 'stepped', 'reversed', 'offset', 'broadcastRows'] as const;
type Layout = (typeof LAYOUTS)[number];

function operand(rng: Rng, rows: number, cols: number, layout: Layout, dtype: DType, scale = 1): Tensor {
  const u = (shape: number[]): Tensor => uniform(shape, -scale, scale, { rng, dtype });
  switch (layout) {
    case 'contiguous':
      return u([rows, cols]);
    case 'transposed': // strides [1, rows]
      return u([cols, rows]).transpose();
    case 'stepped': // strides [6·cols, 3]... every other row, every third column
      return u([2 * rows, 3 * cols]).slice({ step: 2 }, { step: 3 });
    case 'reversed': // negative strides on both axes
      return u([rows, cols]).slice({ step: -1 }, { step: -1 });
    case 'offset': // a window inside a bigger matrix: offset > 0, row stride > cols
      return u([rows + 3, cols + 5]).slice({ start: 2, stop: 2 + rows }, { start: 1, stop: 1 + cols });
    case 'broadcastRows': // stride 0 on the row axis
      return u([1, cols]).broadcastTo([rows, cols]);
  }
}

/** op(X) as the oracle sees it: the transpose view of what was handed to the kernel. */
const logical = (t: Tensor, trans: boolean): Tensor => (trans ? t.transpose() : t);

const dim = fc.integer({ min: 1, max: 40 });
const layoutArb = fc.constantFrom(...LAYOUTS);

/** Registers every kernel test with float32 GEMM forced onto `backend` (all sizes: minFlops 0). */
export function describeGemmSuite(backend: 'js' | 'wasm', dtypes: DType[]): void {
  describe(`${backend} backend`, () => {
    const initialMode = backendInfo().mode;
    beforeAll(() => setBackend(backend, { minFlops: 0 }));
    afterAll(() => setBackend(initialMode));
    const dtypeArb = fc.constantFrom<DType>(...dtypes);
    const dt = dtypes[dtypes.length - 1]; // fixed-dtype tests: float64 under js, float32 under wasm

    test('dispatches to the backend under test', () => {
      expect(backendInfo().gemm).toBe(backend === 'wasm' ? 'wasm-simd' : 'js');
    });

    describe('matmul 2-D', () => {
      test('matches the float64 oracle for every trans combination and layout', () => {
        fc.assert(
          fc.property(dim, dim, dim, fc.boolean(), fc.boolean(), layoutArb, layoutArb, dtypeArb, fc.integer(), (M, N, K, tA, tB, la, lb, dtype, s) => {
            const rng = new Rng(s);
            // What is stored is op⁻¹ of the logical operand: [K,M] under transA, [N,K] under transB.
            const a = tA ? operand(rng, K, M, la, dtype) : operand(rng, M, K, la, dtype);
            const b = tB ? operand(rng, N, K, lb, dtype) : operand(rng, K, N, lb, dtype);
            const out = matmul(a, b, { transA: tA, transB: tB });
            expect(out.shape).toEqual([M, N]);
            expect(out.dtype).toBe(dtype);
            expectClose(out, reference(logical(a, tA), logical(b, tB)), K, dtype);
          }),
          { numRuns: 300 },
        );
      });

      test('sizes 1 and exact multiples of the 4×4 tile', () => {
        const rng = new Rng(7);
        for (const [M, N, K] of [[1, 1, 1], [1, 9, 1], [9, 1, 7], [4, 4, 4], [8, 12, 16], [1, 40, 40], [40, 1, 40]]) {
          for (const dtype of dtypes) {
            const a = operand(rng, M, K, 'contiguous', dtype);
            const b = operand(rng, K, N, 'contiguous', dtype);
            expectClose(matmul(a, b), reference(a, b), K, dtype);
          }
        }
      });

      test('large magnitudes keep relative accuracy', () => {
        fc.assert(
          fc.property(dim, dim, dim, dtypeArb, fc.integer(), (M, N, K, dtype, s) => {
            const rng = new Rng(s);
            const scale = dtype === 'float64' ? 1e150 : 1e15; // products 1e300 / 1e30: finite
            const a = operand(rng, M, K, 'contiguous', dtype, scale);
            const b = operand(rng, K, N, 'transposed', dtype, scale);
            expectClose(matmul(a, b), reference(a, b), K, dtype);
          }),
          { numRuns: 50 },
        );
      });

      test('crosses every cache block boundary (M > 64, N > 512, K > 256) and the 4×4 tile edges', () => {
        // Raw-array oracle here: 70·520·300 terms through get() would take too long.
        for (const dtype of dtypes) {
          const rng = new Rng(3);
          const [M, N, K] = [66, 515, 258];
          const a = uniform([K, M], -1, 1, { rng, dtype }).transpose(); // exercise a strided A too
          const b = uniform([K, N], -1, 1, { rng, dtype });
          const out = matmul(a, b);
          const A = a.contiguous().data;
          const B = b.data;
          const tol = (K + 2) * unitRoundoff(dtype);
          let worst = 0;
          // Rows on either side of the MC = 64 boundary and of the 4-row tiles; every column.
          for (const i of [0, 3, 4, 62, 63, 64, 65]) {
            for (let j = 0; j < N; j++) {
              let s = 0;
              let abs = 0;
              for (let p = 0; p < K; p++) {
                s += A[i * K + p] * B[p * N + j];
                abs += Math.abs(A[i * K + p] * B[p * N + j]);
              }
              worst = Math.max(worst, Math.abs(out.data[i * N + j] - s) / (tol * abs));
            }
          }
          expect(worst).toBeLessThanOrEqual(1);
        }
      });

      test('transposed, stepped and reversed views are read in place (no copy)', () => {
        const rng = new Rng(1);
        const clone = jest.spyOn(Tensor.prototype, 'clone');
        try {
          for (const layout of ['transposed', 'stepped', 'reversed', 'broadcastRows'] as const) {
            const a = operand(rng, 5, 6, layout, 'float32');
            const b = operand(rng, 6, 7, layout, 'float32');
            matmul(a, b);
            matmul(a.transpose(), b.transpose(), { transA: true, transB: true });
          }
          expect(clone).not.toHaveBeenCalled();
        } finally {
          clone.mockRestore();
        }
      });

      test('K = 0 gives zeros; M = 0 or N = 0 gives an empty result', () => {
        expect(matmul(Tensor.empty([3, 0]), Tensor.empty([0, 2])).toArray()).toEqual([[0, 0], [0, 0], [0, 0]]);
        expect(matmul(Tensor.empty([0, 4]), Tensor.empty([4, 2])).shape).toEqual([0, 2]);
        expect(matmul(Tensor.empty([3, 4]), Tensor.empty([4, 0])).shape).toEqual([3, 0]);
      });

      test('the oracle and tolerance can fail: changing one input element by 0.01 is caught', () => {
        const rng = new Rng(5);
        for (const dtype of dtypes) {
          const a = operand(rng, 6, 40, 'contiguous', dtype);
          const b = operand(rng, 40, 5, 'contiguous', dtype);
          const out = matmul(a, b);
          const wrong = a.clone();
          wrong.set(a.get(2, 17) + 0.01, 2, 17);
          expect(() => expectClose(out, reference(wrong, b), 40, dtype)).toThrow(/\(2,\d+\)/);
        }
      });
    });

    describe('matmul batched', () => {
      // A batch shape and a second one that broadcasts against it (some axes set to 1 or dropped).
      const batchPair = fc
        .array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 3 })
        .chain((shape) =>
          fc.tuple(
            fc.constant(shape),
            fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length }),
            fc.integer({ min: 0, max: shape.length }),
          ),
        )
        .map(([shape, ones, drop]) => [shape, shape.map((d, i) => (ones[i] ? 1 : d)).slice(drop)] as const);

      test('broadcast batch dims, each entry equal to its own 2-D product', () => {
        fc.assert(
          fc.property(
            batchPair,
            fc.boolean(),
            fc.integer({ min: 1, max: 9 }),
            fc.integer({ min: 1, max: 9 }),
            fc.integer({ min: 1, max: 9 }),
            fc.boolean(),
            fc.boolean(),
            fc.boolean(),
            dtypeArb,
            fc.integer(),
            ([batchX, batchY], swap, M, N, K, tA, tB, permuted, dtype, s) => {
              const rng = new Rng(s);
              const [ba, bb] = swap ? [batchY, batchX] : [batchX, batchY];
              const store = (batch: readonly number[], r: number, c: number, t: boolean): Tensor => {
                const shape = [...batch, ...(t ? [c, r] : [r, c])];
                // permuted: batch axis last in memory, so no batch/row merging is possible
                if (!permuted || batch.length === 0) return uniform(shape, -1, 1, { rng, dtype });
                const n = shape.length;
                const order = [...shape.slice(1), shape[0]];
                return uniform(order, -1, 1, { rng, dtype }).permute([n - 1, ...Array.from({ length: n - 1 }, (_, i) => i)]);
              };
              const a = store(ba, M, K, tA);
              const b = store(bb, K, N, tB);
              const out = matmul(a, b, { transA: tA, transB: tB });
              const rank = Math.max(ba.length, bb.length);
              const batch = Array.from({ length: rank }, (_, i) => Math.max(ba[i - rank + ba.length] ?? 1, bb[i - rank + bb.length] ?? 1));
              expect(out.shape).toEqual([...batch, M, N]);
              // Check every batch entry against the 2-D oracle, indexing broadcast axes at 0.
              const total = batch.reduce((x, y) => x * y, 1);
              for (let flat = 0; flat < total; flat++) {
                const idx: number[] = [];
                for (let i = rank - 1, f = flat; i >= 0; i--) {
                  idx.unshift(f % batch[i]);
                  f = Math.floor(f / batch[i]);
                }
                const pick = (t: Tensor, bs: readonly number[]): Tensor =>
                  t.slice(...idx.slice(rank - bs.length).map((k, i) => (bs[i] === 1 ? 0 : k)));
                const ai = logical(pick(a, ba), tA);
                const bi = logical(pick(b, bb), tB);
                expectClose(out.slice(...idx), reference(ai, bi), K, dtype);
              }
            },
          ),
          { numRuns: 200 },
        );
      });

      test('[T,B,I] × [I,H] (merged into one product) equals per-step products; also against a broadcast view', () => {
        const rng = new Rng(11);
        const x = uniform([5, 3, 7], -1, 1, { rng, dtype: dt });
        const w = uniform([7, 6], -1, 1, { rng, dtype: dt });
        for (const wv of [w, w.unsqueeze(0).broadcastTo([5, 7, 6]), w.unsqueeze(0)]) {
          const y = matmul(x, wv);
          expect(y.shape).toEqual([5, 3, 6]);
          for (let t = 0; t < 5; t++) expectClose(y.slice(t), reference(x.slice(t), w), 7, dt);
        }
        // Size-1 axes anywhere, and a batch of size-1 rows: still one merged product.
        const x1 = uniform([4, 1, 1, 7], -1, 1, { rng, dtype: dt });
        const y1 = matmul(x1, w);
        for (let t = 0; t < 4; t++) expectClose(y1.slice(t, 0), reference(x1.slice(t, 0), w), 7, dt);
      });
    });

    describe('gemm (in place)', () => {
      test('C ← α·op(A)·op(B) + β·C with strided C, and β = 0 ignoring NaN in C', () => {
        fc.assert(
          fc.property(
            dim, dim, dim, fc.boolean(), fc.boolean(), layoutArb, layoutArb,
            fc.constantFrom('contiguous', 'transposed', 'offset', 'reversed') as fc.Arbitrary<Layout>,
            fc.constantFrom(0, 1, -0.5, 2.5),
            fc.constantFrom(0, 1, -1, 0.25),
            dtypeArb, fc.integer(),
            (M, N, K, tA, tB, la, lb, lc, alpha, beta, dtype, s) => {
              const rng = new Rng(s);
              const a = tA ? operand(rng, K, M, la, dtype) : operand(rng, M, K, la, dtype);
              const b = tB ? operand(rng, N, K, lb, dtype) : operand(rng, K, N, lb, dtype);
              const c = operand(rng, M, N, lc, dtype);
              if (beta === 0) for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) c.set(NaN, i, j);
              const ref = reference(logical(a, tA), logical(b, tB), alpha, beta, c);
              const before = c.data.slice();
              const r = gemm(a, b, c, { alpha, beta, transA: tA, transB: tB });
              expect(r).toBe(c);
              expectClose(c, ref, K + 1, dtype);
              // Nothing outside the C view was written.
              const inView = new Set<number>();
              for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) inView.add(c.offset + i * c.strides[0] + j * c.strides[1]);
              const touched = [...before.keys()].filter((k) => !inView.has(k) && !Object.is(c.data[k], before[k]));
              expect(touched).toEqual([]);
            },
          ),
          { numRuns: 300 },
        );
      });

      test('defaults alpha = 1, beta = 1: accumulates', () => {
        const a = Tensor.fromArray(dt === 'float64' ? new Float64Array([1, 2, 3, 4]) : new Float32Array([1, 2, 3, 4]), [2, 2]);
        const c = full([2, 2], 10, dt);
        gemm(a, a, c);
        gemm(a, a, c);
        expect(c.toArray()).toEqual([[24, 30], [40, 54]]); // 10 + 2·[[7,10],[15,22]]
      });

      test('alpha = 0 or K = 0 reads neither A nor B (NaN there does not leak)', () => {
        const nanA = full([3, 4], NaN, dt);
        const nanB = full([4, 2], NaN, dt);
        const c = full([3, 2], 2, dt);
        gemm(nanA, nanB, c, { alpha: 0, beta: 0.5 });
        expect(c.toFlatArray()).toEqual([1, 1, 1, 1, 1, 1]);
        gemm(Tensor.empty([3, 0], dt), Tensor.empty([0, 2], dt), c, { beta: 0 });
        expect(c.toFlatArray()).toEqual([0, 0, 0, 0, 0, 0]);
      });

      test('an output overlapping an input is still exact (inputs copied first)', () => {
        const rng = new Rng(2);
        const buf = uniform([6, 6], -1, 1, { rng, dtype: dt });
        const a = buf.slice({ stop: 4 }); // rows 0..3
        const c = buf.slice({ start: 2 }, { stop: 4 }); // rows 2..5, overlaps a's rows 2..3
        const b = uniform([6, 4], -1, 1, { rng, dtype: dt });
        const ref = reference(a.clone(), b, 1, 1, c.clone());
        gemm(a, b, c);
        expectClose(c, ref, 7, dt);
      });
    });

    describe('gemmArrays (raw row-major BLAS)', () => {
      test('leading dimensions, offsets, alpha/beta; padding around C untouched', () => {
        fc.assert(
          fc.property(dim, dim, dim, fc.boolean(), fc.boolean(), fc.nat(3), fc.nat(3), fc.nat(3), fc.constantFrom(1, -2), fc.constantFrom(0, 1, 0.5), dtypeArb, fc.integer(),
            (M, N, K, tA, tB, padA, padB, padC, alpha, beta, dtype, s) => {
              const rng = new Rng(s);
              const rand = (n: number): TypedArray => uniform([n], -1, 1, { rng, dtype }).data;
              const [ar, ac] = tA ? [K, M] : [M, K];
              const [br, bc] = tB ? [N, K] : [K, N];
              const lda = ac + padA, ldb = bc + padB, ldc = N + padC;
              const aOff = padA, bOff = 2 * padB, cOff = padC;
              const A = rand(aOff + ar * lda), B = rand(bOff + br * ldb), C = rand(cOff + M * ldc + 2);
              if (beta === 0) C.fill(NaN);
              const view = (X: TypedArray, off: number, r: number, c: number, ld: number): Tensor => new Tensor(Tensor.fromArray(X, [X.length]).storage, [r, c], [ld, 1], off);
              const a = logical(view(A, aOff, ar, ac, lda), tA);
              const b = logical(view(B, bOff, br, bc, ldb), tB);
              const c = view(C, cOff, M, N, ldc);
              const ref = reference(a, b, alpha, beta, c);
              const before = C.slice();
              gemmArrays(tA, tB, M, N, K, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc);
              expectClose(c, ref, K + 1, dtype);
              const outside = (k: number): boolean => k < cOff || k >= cOff + M * ldc || (k - cOff) % ldc >= N;
              const touched = [...before.keys()].filter((k) => outside(k) && !Object.is(C[k], before[k]));
              expect(touched).toEqual([]);
            },
          ),
          { numRuns: 200 },
        );
      });
    });
  });
}
