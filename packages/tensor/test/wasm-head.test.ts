import fc from 'fast-check';
import * as v8 from 'v8';
import { Rng, Tensor, TensorError, backendInfo, headKernels, normal, setBackend, softmaxCrossEntropyRows, toResident } from '@unfold/tensor';
import { headModuleBytes } from '../src/wasm/head';
import { relaxedSimdSupported } from '../src/wasm/sgemm';

/*
 * The output head's row kernel (src/wasm/head.ts): the emitted module on its own memory against
 * a float64 reference of the same float32 inputs, with guard words around every output, and
 * softmaxCrossEntropyRows' dispatch (wasm on resident and copied logits, the JS loop) against
 * each other.
 *
 * Tolerance per row, u = 2⁻²⁴: m is an input element (exact); z − m rounds once (≤ u·|z − m|
 * absolute in the exponent, so relative in e^(z−m)), the vector exp ≤ 2u relative, the V-term
 * float32 sum ≤ (V − 1)·u relative. So s within (u·max|z − m| + (V + 2)·u)·s, and
 * loss = log s − (z_y − m) in float64 moves by that relative error: |Δloss| ≤ u·max|z−m| + (V + 2)·u.
 * dz_j = c·(e_j/s − [j = y]): |Δ| ≤ |c|·p_j·(u·max|z−m| + (V + 5)·u) (+ u·|dz| for the onehot subtraction).
 * A max over the wrong lanes, a tail lane read as 0 instead of −∞, a skipped onehot would be
 * off by O(1/V) or more.
 */
const U = 2 ** -24;

interface WasmApi {
  Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => { buffer: ArrayBuffer };
  Module: new (b: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
const simd = backendInfo().simd;

// Both variants: mul+add, and the exponentials with relaxed_madd, as the backend instantiates it
// under --experimental-wasm-relaxed-simd: V8 takes the flag at run time (as in wasm-gates.test.ts)
// and it is turned back off after this file.
let flagSet = false;
const fusedOk = ((): boolean => {
  try {
    if (!relaxedSimdSupported()) {
      v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
      flagSet = true;
    }
    new WA.Module(headModuleBytes(undefined, { fma: true }));
    return true;
  } catch {
    return false;
  }
})();
if (!fusedOk) console.warn('wasm-head.test: relaxed SIMD unavailable in this runtime: the fused variant is NOT tested');
afterAll(() => {
  if (flagSet) v8.setFlagsFromString('--no-experimental-wasm-relaxed-simd');
});
const variants = [false, ...(fusedOk ? [true] : [])];
describe.each(variants.map((fma) => [fma ? 'relaxed_madd' : 'mul+add', fma] as const))('head kernel (wasm, %s) against a float64 reference', (_name, fma) => {
  if (!simd) {
    test.skip('no wasm SIMD here', () => undefined);
    return;
  }
  const memory = new WA.Memory({ initial: 64 });
  const xent = new WA.Instance(new WA.Module(headModuleBytes(undefined, { fma })), { env: { memory } }).exports.xent as (...a: number[]) => void;
  const F = new Float32Array(memory.buffer);
  const I = new Int32Array(memory.buffer);
  const GUARD = 12345.5;

  test('random N, V (tails of 1–3), −∞ entries, all −∞ / NaN / +∞ rows, masked rows, guard words intact', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 37 }), fc.integer({ min: 0, max: 1e6 }), fc.boolean(), fc.boolean(), (N, V, seed, train, perRow) => {
        const rng = new Rng(seed);
        const x = normal([N, V], 0, 6, { rng }).data as Float32Array;
        if (N > 1 && V > 1) x[V + 1] = -Infinity;
        if (N > 2) for (let j = 0; j < V; j++) x[2 * V + j] = -Infinity;
        if (N > 3) x[3 * V + (V - 1)] = NaN;
        if (N > 4) x[4 * V] = Infinity;
        const y = Int32Array.from({ length: N }, () => Math.floor(rng.next() * V));
        const c = Float32Array.from({ length: N }, (_, i) => (i % 4 === 1 ? 0 : 0.25 + (i % 3)));
        const bias = normal([V], 0, 2, { rng }).data as Float32Array;
        // layout (floats): guard | z | guard | tgt | guard | stats | guard | wts | guard | col | guard | bias | guard
        F.fill(GUARD, 0, 16 * 1024);
        const z0 = 4, t0 = z0 + N * V + 4, s0 = t0 + N + 4, w0 = s0 + 3 * N + 4, c0 = w0 + N + 4, b0 = c0 + V + 4, end = b0 + V;
        F.set(x, z0);
        F.set(bias, b0);
        I.set(y, t0);
        F.set(c, w0);
        F.fill(0, c0, c0 + V);
        xent(N, V, 4 * z0, 4 * b0, 4 * t0, 4 * s0, 0.75, perRow ? 4 * w0 : 0, 4 * c0, train ? 1 : 0);
        for (const g of [z0 - 4, t0 - 4, s0 - 4, w0 - 4, c0 - 4, c0 + V, end]) for (let k = 0; k < 4; k++) expect(F[g + k]).toBe(GUARD);
        for (let j = 0; j < V; j++) expect(F[b0 + j]).toBe(bias[j]); // the bias is read, never written
        // z + b, as the float32 add the kernel does (the reference below works from these values)
        const zb = Float32Array.from(x, (v, q) => v + bias[q % V]);
        const col = new Float64Array(V);
        for (let i = 0; i < N; i++) {
          const row = Array.from(zb.subarray(i * V, (i + 1) * V));
          const m = row.reduce((a, v) => (a < v ? v : a), -Infinity);
          const s = row.reduce((a, v) => a + Math.exp(v - m), 0);
          const ref = Math.log(s) - (row[y[i]] - m);
          const got = Math.log(F[s0 + 3 * i + 1]) - (F[s0 + 3 * i + 2] - F[s0 + 3 * i]);
          const spread = row.reduce((a, v) => (Number.isFinite(v - m) ? Math.max(a, Math.abs(v - m)) : a), 0);
          const rel = U * spread + (V + 2) * U;
          if (Number.isNaN(ref)) expect(got).toBeNaN();
          else if (!Number.isFinite(ref)) expect(got).toBe(ref); // the target's logit is −∞: loss +∞
          else expect(Math.abs(got - ref)).toBeLessThanOrEqual(rel * 1.25 + 1e-300);
          const ci = perRow ? c[i] : 0.75;
          for (let j = 0; j < V; j++) {
            const at = F[z0 + i * V + j];
            if (!train) {
              expect(Object.is(at, zb[i * V + j]) || (Number.isNaN(at) && Number.isNaN(zb[i * V + j]))).toBe(true); // logits + bias, in place
              continue;
            }
            if (ci === 0) {
              expect(Object.is(at, 0)).toBe(true); // masked row: exactly +0
              continue;
            }
            const p = Math.exp(row[j] - m) / s;
            const d = ci * (p - (j === y[i] ? 1 : 0));
            col[j] += d;
            if (Number.isNaN(d)) expect(at).toBeNaN();
            else expect(Math.abs(at - d)).toBeLessThanOrEqual(1.25 * (Math.abs(ci) * p * (rel + 3 * U) + U * Math.abs(d)) + 1e-300);
          }
        }
        if (train) {
          for (let j = 0; j < V; j++) {
            if (Number.isNaN(col[j])) expect(F[c0 + j]).toBeNaN();
            else expect(Math.abs(F[c0 + j] - col[j])).toBeLessThanOrEqual(N * 4 * (V + 8) * U * 3 + 1e-6);
          }
        }
      }),
      { numRuns: 80 },
    );
  });
});

describe('softmaxCrossEntropyRows', () => {
  afterAll(() => setBackend('auto'));

  const rows = (be: 'js' | 'wasm', z: Tensor, y: Int32Array, scale: number | Float64Array | null, bias: Tensor | null = null) => {
    setBackend(be);
    const loss = new Float64Array(z.shape[0]);
    const colSum = new Float64Array(z.shape[1]);
    softmaxCrossEntropyRows(z, y, loss, scale === null ? undefined : { scale, colSum }, bias);
    return { loss, colSum, z: Float64Array.from(z.data.subarray(z.offset, z.offset + z.size)) };
  };

  (simd ? test : test.skip)('wasm (resident and copied logits) and the JS loop agree', () => {
    const rng = new Rng(2);
    const N = 97, V = 65;
    const x = normal([N, V], 0, 3, { rng });
    const y = Int32Array.from({ length: N }, () => Math.floor(rng.next() * V));
    const sc = Float64Array.from({ length: N }, (_, i) => (i % 7 === 0 ? 0 : 1 / N));
    setBackend('wasm');
    expect(headKernels()).not.toBeNull();
    const bias = normal([V], 0, 1, { rng });
    for (const [scale, b] of [[null, null], [1 / N, null], [sc, null], [null, bias], [sc, bias], [1 / N, toResident(bias)]] as const) {
      const js = rows('js', x.clone(), y, scale, b);
      const copied = rows('wasm', x.clone(), y, scale, b);
      const resident = rows('wasm', toResident(x), y, scale, b);
      for (const w of [copied, resident]) {
        for (let i = 0; i < N; i++) expect(Math.abs(w.loss[i] - js.loss[i])).toBeLessThanOrEqual(2e-5 * (1 + Math.abs(js.loss[i])));
        if (scale === null) {
          for (let q = 0; q < N * V; q++) expect(w.z[q]).toBe(js.z[q]); // z + b: one float32 add either way
          continue;
        }
        for (let q = 0; q < N * V; q++) expect(Math.abs(w.z[q] - js.z[q])).toBeLessThanOrEqual(2e-7 / N + 1e-7 * Math.abs(js.z[q]));
        for (let j = 0; j < V; j++) expect(Math.abs(w.colSum[j] - js.colSum[j])).toBeLessThanOrEqual(2e-6);
      }
      for (let q = 0; q < N * V; q++) expect(copied.z[q]).toBe(resident.z[q]); // one kernel, wherever z lives
    }
  });

  test('float64 rows match the definition; bad arguments are named', () => {
    setBackend('js');
    const z = Tensor.fromArray(Float64Array.from([1, 2, 3, -1, 0, 1]), [2, 3]);
    const loss = new Float64Array(2);
    const colSum = new Float64Array(3);
    softmaxCrossEntropyRows(z, Int32Array.from([2, 0]), loss, { scale: 0.5, colSum });
    const lse = (a: number[]) => Math.log(a.reduce((s, v) => s + Math.exp(v), 0));
    expect(loss[0]).toBeCloseTo(lse([1, 2, 3]) - 3, 14);
    expect(loss[1]).toBeCloseTo(lse([-1, 0, 1]) + 1, 14);
    const p = [1, 2, 3].map((v) => Math.exp(v - lse([1, 2, 3])));
    expect(z.data[2]).toBeCloseTo(0.5 * (p[2] - 1), 14);
    expect(colSum[0]).toBeCloseTo(z.data[0] + z.data[3], 14);
    const t = Tensor.fromArray(new Float64Array(6), [2, 3]);
    expect(() => softmaxCrossEntropyRows(t, Int32Array.from([3, 0]), loss)).toThrow(TensorError);
    expect(() => softmaxCrossEntropyRows(t, Int32Array.from([3, 0]), loss)).toThrow('softmaxCrossEntropyRows: target 3 at row 0 is not a class index in [0, 3)');
    expect(() => softmaxCrossEntropyRows(t, Int32Array.from([0]), loss)).toThrow('1 targets for 2 rows');
    expect(() => softmaxCrossEntropyRows(t.transpose(), Int32Array.from([0, 0, 0]), new Float64Array(3))).toThrow('contiguous [N, V]');
    expect(() => softmaxCrossEntropyRows(t, Int32Array.from([0, 0]), new Float64Array(1))).toThrow('loss buffer holds 1 values, needs 2');
    expect(() => softmaxCrossEntropyRows(t, Int32Array.from([0, 0]), loss, { scale: 1, colSum: new Float64Array(2) })).toThrow('colSum holds 2 values, needs 3');
    expect(() => softmaxCrossEntropyRows(t, Int32Array.from([0, 0]), loss, undefined, Tensor.fromArray(new Float64Array(2), [2]))).toThrow('bias [2] float64 must be [3] float64');
  });
});
