import fc from 'fast-check';
import { Rng, Tensor, arenaStats, backendInfo, mul as mulK, normal, scaleInPlace, setBackend } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { ACCUMULATED, OPS, OpDef, Tape, backward, gradCheck, noGrad } from '@unfold/autodiff';
import { arbTensor } from './arbitraries';

// linearCrossEntropy(h, W, b, y) is the fused output head: one record for
// crossEntropy(linear(h, W, b), y). Checked (1) by central differences in float64 over
// fast-check shapes, with and without bias, weights, both reductions, strided inputs; (2)
// against its composed twin; (3) a 1 % wrong VJP must fail the check; (4) float32 on the wasm
// kernel against the float64 JS loop, within a tolerance derived below; (5) bad input.

const RUNS = { numRuns: 30 };

function expectOk(f: (...xs: Tensor[]) => Tensor, xs: Tensor[]): void {
  for (const strided of [false, true]) {
    const r = gradCheck(f, xs, { strided });
    if (!r.ok) throw new Error(`${strided ? 'strided inputs: ' : ''}${r.toString()}`);
  }
}

type Case = { h: Tensor; w: Tensor; b: Tensor; y: number[]; wts: number[]; reduction: 'mean' | 'sum'; bias: boolean };
const arbCase = (): fc.Arbitrary<Case> =>
  fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 2, max: 7 })).chain(([n, hd, v]) =>
    fc.record({
      h: arbTensor([n, hd], { min: -2, max: 2 }),
      w: arbTensor([v, hd], { min: -2, max: 2 }),
      b: arbTensor([v], { min: -1, max: 1 }),
      y: fc.array(fc.integer({ min: 0, max: v - 1 }), { minLength: n, maxLength: n }),
      wts: fc.array(fc.constantFrom(0, 1, 0.5, 2), { minLength: n, maxLength: n }),
      reduction: fc.constantFrom('mean' as const, 'sum' as const),
      bias: fc.boolean(),
    }),
  );

describe('linearCrossEntropy', () => {
  test('gradient check (float64): h, W, b; with and without bias, weights; mean and sum', () => {
    fc.assert(
      fc.property(arbCase(), ({ h, w, b, y, wts, reduction, bias }) => {
        if (bias) expectOk((a, c, d) => ad.linearCrossEntropy(a, c, d, y, { reduction }), [h, w, b]);
        else expectOk((a, c) => ad.linearCrossEntropy(a, c, null, y, { reduction }), [h, w]);
        if (wts.some((v) => v > 0)) expectOk((a, c, d) => ad.linearCrossEntropy(a, c, d, y, { weights: wts, reduction }), [h, w, b]);
        else expect(ad.linearCrossEntropy(h, w, b, y, { weights: wts, reduction }).item()).toBe(0); // all rows masked: 0, no NaN
      }),
      RUNS,
    );
  });

  test('equals its composed twin crossEntropy(linear(h, W, b)) in value and gradients (float64)', () => {
    fc.assert(
      fc.property(arbCase(), ({ h, w, b, y, wts, reduction }) => {
        const run = (fused: boolean): Tensor[] => {
          const tape = new Tape();
          tape.watch(h, w, b);
          const opts = { weights: wts.some((v) => v > 0) ? wts : undefined, reduction };
          const loss = tape.run(() => (fused ? ad.linearCrossEntropy(h, w, b, y, opts) : ad.crossEntropy(ad.linear(h, w, b), y, opts)));
          const g = backward(tape, ad.mul(loss, Tensor.fromArray(new Float64Array([1.7]), []))); // dy ≠ 1
          return [loss, g.get(h), g.get(w), g.get(b)];
        };
        const a = run(true);
        const c = run(false);
        for (let k = 0; k < 4; k++) {
          for (let i = 0; i < a[k].size; i++) expect(Math.abs(a[k].data[i] - c[k].data[i])).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(c[k].data[i])));
        }
      }),
      RUNS,
    );
  });

  test('a 1% error in its VJP is caught', () => {
    const def = OPS.linearCrossEntropy as OpDef<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const vjp = def.vjp;
    fc.assert(
      // h, W away from 0 (as harness.test.ts): dW = dzᵀh ≠ 0 since dz = c·(p − onehot) never vanishes, so there is a 1 % to find
      fc.property(arbCase(), fc.integer({ min: 0, max: 1e6 }), ({ w: w0, b, y }, seed) => {
        const rng = new Rng(seed);
        const pos = (t: Tensor): Tensor => Tensor.fromArray(Float64Array.from({ length: t.size }, () => 0.5 + 1.5 * rng.next()), [...t.shape]);
        const h = pos(Tensor.fromArray(new Float64Array(y.length * w0.shape[1]), [y.length, w0.shape[1]]));
        const w = pos(w0);
        const f = (a: Tensor, c: Tensor, d: Tensor) => ad.linearCrossEntropy(a, c, d, y);
        expect(gradCheck(f, [h, w, b]).ok).toBe(true);
        // every adjoint 1 % off: those returned, and dW, db, which the vjp adds into the tape's
        // accumulators (this op's contribution is all they hold in a one-op gradCheck)
        def.vjp = (dys, saved, attrs, inputs, needs, acc, defer) =>
          vjp(dys, saved, attrs, inputs, needs, acc, defer).map((dx, k) => {
            if (dx instanceof Tensor) return mulK(dx, 1.01);
            if (dx === ACCUMULATED) scaleInPlace(acc(k), 1.01);
            return dx;
          });
        try {
          const r = gradCheck(f, [h, w, b]);
          expect(r.ok).toBe(false);
          expect(r.maxError).toBeGreaterThan(1e-4);
        } finally {
          def.vjp = vjp;
        }
      }),
      { numRuns: 15 },
    );
  });

  test('one tape record; nothing saved and nothing recorded under noGrad', () => {
    const rng = new Rng(1);
    const h = normal([6, 3], 0, 1, { rng, dtype: 'float64' });
    const w = normal([5, 3], 0, 1, { rng, dtype: 'float64' });
    const b = normal([5], 0, 1, { rng, dtype: 'float64' });
    const tape = new Tape();
    tape.watch(h, w, b);
    const y = [0, 1, 2, 3, 4, 0];
    const l1 = tape.run(() => ad.linearCrossEntropy(h, w, b, y));
    expect(tape.entries.map((r) => r.op)).toEqual(['linearCrossEntropy']);
    const l2 = tape.run(() => noGrad(() => ad.linearCrossEntropy(h, w, b, y)));
    expect(tape.entries.length).toBe(1);
    expect(l2.item()).toBe(l1.item()); // same formulas with or without the gradient pass
  });

  test('bad input → named errors', () => {
    const h = Tensor.fromArray(new Float64Array(6), [2, 3]);
    const w = Tensor.fromArray(new Float64Array(12), [4, 3]);
    const b = Tensor.fromArray(new Float64Array(4), [4]);
    expect(() => ad.linearCrossEntropy(h, w, b, [0, 4])).toThrow('linearCrossEntropy: target 4 at row 1 is not a class index in [0, 4)');
    expect(() => ad.linearCrossEntropy(h, w, b, new Int32Array([-1, 0]))).toThrow('linearCrossEntropy: target -1 at row 0');
    expect(() => ad.linearCrossEntropy(h, w, b, [0.5, 0])).toThrow('not a class index');
    expect(() => ad.linearCrossEntropy(h, w, b, [0])).toThrow('linearCrossEntropy: 1 targets for 2 rows of h [2,3]');
    expect(() => ad.linearCrossEntropy(h, Tensor.fromArray(new Float64Array(8), [4, 2]), b, [0, 1])).toThrow('linearCrossEntropy: h [2,3] and weight [4,2] must be [N, H] and [V, H]');
    expect(() => ad.linearCrossEntropy(h, w, Tensor.fromArray(new Float64Array(3), [3]), [0, 1])).toThrow('linearCrossEntropy: bias [3] must be [4]');
    expect(() => ad.linearCrossEntropy(h.reshape([6]), w, b, [0])).toThrow('linearCrossEntropy: h must be [N, H], got [6]');
    expect(() => ad.linearCrossEntropy(h, Tensor.fromArray(new Float32Array(12), [4, 3]), b, [0, 1])).toThrow('linearCrossEntropy: mixed dtypes');
    expect(() => ad.linearCrossEntropy(h, w, b, [0, 1], { weights: [1] })).toThrow('linearCrossEntropy: 1 weights for 2 rows');
    expect(() => ad.linearCrossEntropy(h, w, b, [0, 1], { weights: [1, -1] })).toThrow('weights must be finite and non-negative');
    expect(() => ad.linearCrossEntropy(h, w, b, [0, 1], { reduction: 'max' as 'sum' })).toThrow("unknown reduction 'max'");
  });
});

// ---- float32 on the wasm kernel vs float64 on the JS loop ---------------------------------
//
// Reference: the float64 op on the float32 inputs widened (exact), so the difference is the
// float32 path's own rounding. With u = 2⁻²⁴, per row i (z = logits, m the row max):
//   logits:  |Δz_ij| ≤ ζ_ij = (H + 2)·u·(Σ_k |h_ik W_jk| + |b_j|)      (GEMM, K = H, plus the bias add)
//   loss_i = log s − (z_y − m): ∂/∂z = p − onehot, Σ|p − onehot| ≤ 2, so the logit errors move it ≤ 2·max_j ζ_ij;
//     z − m rounds once (u·|z − m| relative in e^(z−m) — |z−m|·u absolute in the exponent), the vector exp ≤ 2u,
//     the V-term sum ≤ V·u relative; the log and the difference are float64:
//   |Δloss_i| ≤ 2·max_j ζ_ij + u·max_j |z_ij − m_i| + (V + 2)·u
//   dz_ij = c·(p_j − [j=y]) with p_j = e_j / s: |Δp_j| ≤ p_j·(2·max ζ + u·|z−m|max + (V + 4)·u) (+ the division's u)
//   dW_jk = Σ_i dz_ij h_ik (K = N GEMM): |ΔdW_jk| ≤ Σ_i |Δdz_ij||h_ik| + (N + 1)·u·Σ_i |dz_ij h_ik|; db likewise with h = 1;
//   dh_ik = Σ_j dz_ij W_jk (K = V): |Δdh_ik| ≤ Σ_j |Δdz_ij||W_jk| + (V + 1)·u·Σ_j |dz_ij W_jk|.
// Each bound is checked with a factor 2 for second-order terms. A wrong max shift, a dropped
// bias or a missed onehot subtraction is off by ≥ 1/N·O(1): orders of magnitude above these.
const U = 2 ** -24;
const wasmOk = backendInfo().simd;
(wasmOk ? describe : describe.skip)('linearCrossEntropy float32 (wasm kernel) vs float64 (JS)', () => {
  afterAll(() => setBackend('auto'));

  const widen = (t: Tensor): Tensor => Tensor.fromArray(Float64Array.from(t.data as Float32Array), [...t.shape]);

  test('loss and gradients within the derived bound, V not a multiple of 4, masked rows', () => {
    setBackend('wasm', { minFlops: 0 });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 2, max: 70 }), fc.integer({ min: 0, max: 1e6 }),
        fc.boolean(), fc.constantFrom('mean' as const, 'sum' as const),
        (N, H, V, seed, masked, reduction) => {
          const rng = new Rng(seed);
          const h = normal([N, H], 0, 1, { rng });
          const w = normal([V, H], 0, 1.5, { rng });
          const b = normal([V], 0, 1, { rng });
          const y = Array.from({ length: N }, () => Math.floor(rng.next() * V));
          const weights = masked ? Array.from({ length: N }, (_, i) => (i % 3 === 1 ? 0 : 1 + (i % 2))) : undefined;
          const run = (hh: Tensor, ww: Tensor, bb: Tensor): Tensor[] => {
            const tape = new Tape();
            tape.watch(hh, ww, bb);
            const loss = tape.run(() => ad.linearCrossEntropy(hh, ww, bb, y, { weights, reduction }));
            const g = backward(tape, loss);
            return [loss, g.get(hh), g.get(ww), g.get(bb)];
          };
          const [l32, dh32, dw32, db32] = run(h, w, b);
          const [l64, dh64, dw64, db64] = run(widen(h), widen(w), widen(b));
          // bounds from the float64 values
          const H64 = widen(h).data, W64 = widen(w).data, B64 = widen(b).data;
          const wt = (i: number): number => (weights ? weights[i] : 1);
          const D = reduction === 'sum' ? 1 : Array.from({ length: N }, (_, i) => wt(i)).reduce((a, c) => a + c, 0) || 1;
          const dz = new Float64Array(N * V), ddz = new Float64Array(N * V);
          let lossBound = 0;
          for (let i = 0; i < N; i++) {
            const z = new Float64Array(V);
            let zeta = 0;
            for (let j = 0; j < V; j++) {
              let acc = B64[j], mag = Math.abs(B64[j]);
              for (let k = 0; k < H; k++) {
                acc += H64[i * H + k] * W64[j * H + k];
                mag += Math.abs(H64[i * H + k] * W64[j * H + k]);
              }
              z[j] = acc;
              zeta = Math.max(zeta, (H + 2) * U * mag);
            }
            const m = Math.max(...z);
            const spread = Math.max(...z.map((v) => Math.abs(v - m)));
            const s = z.reduce((a, v) => a + Math.exp(v - m), 0);
            const rowErr = 2 * zeta + U * spread + (V + 2) * U;
            lossBound += (wt(i) / D) * rowErr;
            const c = wt(i) / D;
            for (let j = 0; j < V; j++) {
              const p = Math.exp(z[j] - m) / s;
              dz[i * V + j] = c * (p - (j === y[i] ? 1 : 0));
              ddz[i * V + j] = c * p * (rowErr + 3 * U);
            }
          }
          expect(Math.abs(l32.item() - l64.item())).toBeLessThanOrEqual(2 * lossBound + 1e-300);
          const check = (got: Tensor, ref: Tensor, bound: (idx: number) => number): void => {
            for (let q = 0; q < ref.size; q++) {
              const err = Math.abs(got.data[q] - ref.data[q]);
              if (!(err <= 2 * bound(q))) throw new Error(`element ${q}: |${got.data[q]} − ${ref.data[q]}| = ${err} > 2·${bound(q)} (N ${N} H ${H} V ${V})`);
            }
          };
          check(dw32, dw64, (q) => {
            const j = Math.floor(q / H), k = q % H;
            let e = 0, mag = 0;
            for (let i = 0; i < N; i++) {
              e += ddz[i * V + j] * Math.abs(H64[i * H + k]);
              mag += Math.abs(dz[i * V + j] * H64[i * H + k]);
            }
            return e + (N + 1) * U * mag;
          });
          check(db32, db64, (j) => {
            let e = 0, mag = 0;
            for (let i = 0; i < N; i++) {
              e += ddz[i * V + j];
              mag += Math.abs(dz[i * V + j]);
            }
            return e + (N + 1) * U * mag;
          });
          check(dh32, dh64, (q) => {
            const i = Math.floor(q / H), k = q % H;
            let e = 0, mag = 0;
            for (let j = 0; j < V; j++) {
              e += ddz[i * V + j] * Math.abs(W64[j * H + k]);
              mag += Math.abs(dz[i * V + j] * W64[j * H + k]);
            }
            return e + (V + 1) * U * mag;
          });
          if (weights) for (let i = 0; i < N; i++) if (weights[i] === 0) for (let k = 0; k < H; k++) expect(dh32.data[i * H + k]).toBe(0); // masked: exactly 0
        },
      ),
      { numRuns: 40 },
    );
  });

  test('NaN policy as crossEntropy: a NaN or +∞ logit makes the loss NaN, unless its row is masked; float32 overflow gives +∞', () => {
    for (const be of ['wasm', 'js'] as const) {
      setBackend(be, { minFlops: 0 });
      for (const bad of [NaN, Infinity]) {
        const rng = new Rng(5);
        const h = normal([40, 8], 0, 1, { rng });
        const w = normal([13, 8], 0, 1, { rng });
        h.data[3 * 8 + 2] = bad; // row 3's logits become NaN / ±∞
        const y = Array.from({ length: 40 }, (_, i) => i % 13);
        expect(ad.linearCrossEntropy(h, w, null, y).item()).toBeNaN();
        expect(ad.crossEntropy(ad.linear(h, w), y).item()).toBeNaN();
        const weights = y.map((_, i) => (i === 3 ? 0 : 1));
        const masked = ad.linearCrossEntropy(h, w, null, y, { weights }).item();
        expect(masked).toBeCloseTo(ad.crossEntropy(ad.linear(h, w), y, { weights }).item(), 5);
        expect(Number.isFinite(masked)).toBe(true);
      }
      // float32 logits ±3e38 apart: z_y − m overflows float32, so the loss is +∞ as crossEntropy's (a diverging run shows as one)
      const h = Tensor.fromArray(new Float32Array(40).fill(1), [40, 1]);
      const w = Tensor.fromArray(Float32Array.from({ length: 13 }, (_, j) => (j === 0 ? 3e38 : j === 1 ? -3e38 : 0)), [13, 1]);
      const y = Array.from({ length: 40 }, (_, i) => i % 13);
      expect(ad.crossEntropy(ad.linear(h, w), y).item()).toBe(Infinity);
      expect(ad.linearCrossEntropy(h, w, null, y).item()).toBe(Infinity);
    }
  });

  test('under noGrad: the same loss as with a tape, call after call (a reused workspace)', () => {
    setBackend('wasm');
    const rng = new Rng(9);
    const h = normal([1600, 128], 0, 1, { rng });
    const w = normal([65, 128], 0, 0.1, { rng });
    const b = normal([65], 0, 0.1, { rng });
    const y = Int32Array.from({ length: 1600 }, (_, i) => (i * 7) % 65);
    const tape = new Tape();
    tape.watch(h);
    const ref = tape.run(() => ad.linearCrossEntropy(h, w, b, y)).item();
    const twin = ad.crossEntropy(ad.linear(h, w, b), y).item();
    expect(Math.abs(ref - twin)).toBeLessThan(1e-5);
    for (let k = 0; k < 3; k++) expect(noGrad(() => ad.linearCrossEntropy(h, w, b, y)).item()).toBe(ref);
    const small = ad.linearCrossEntropy(h.slice({ stop: 10 }), w, b, y.subarray(0, 10)).item(); // a smaller N in the same workspace
    expect(small).toBeCloseTo(ad.crossEntropy(ad.linear(h.slice({ stop: 10 }), w, b), y.subarray(0, 10)).item(), 5);
    expect(noGrad(() => ad.linearCrossEntropy(h, w, b, y)).item()).toBe(ref);
    // beyond the workspace's cap (2^22 floats) the logits are allocated and released per call
    const big = normal([66000, 2], 0, 1, { rng });
    const wb = normal([65, 2], 0, 1, { rng });
    const yb = Int32Array.from({ length: 66000 }, (_, i) => (i * 13) % 65);
    noGrad(() => ad.linearCrossEntropy(big, wb, null, yb));
    const live = arenaStats().liveBytes;
    const lossBig = noGrad(() => ad.linearCrossEntropy(big, wb, null, yb)).item();
    expect(arenaStats().liveBytes).toBe(live);
    expect(lossBig).toBeCloseTo(ad.crossEntropy(ad.linear(big, wb), yb).item(), 5);
  });
});
