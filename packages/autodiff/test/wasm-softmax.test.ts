import fc from 'fast-check';
import { Rng, Tensor, backendInfo, logSoftmax, normal, setBackend } from '@unfold/tensor';
import { Tape, backward, crossEntropy } from '@unfold/autodiff';

// logSoftmax and the cross-entropy gradient take their exponentials from the wasm vector exp
// (packages/tensor/src/wasm/vmath.ts, ≤ 1.4 ulp) for float32 blocks of ≥ 256 elements. Against a
// float64 reference of the float32 inputs: y = (x − m) − log Σ e^(x−m) rounds three times in
// float32 (x − m, the log-sum, the difference) plus the sum of n exponentials each ≤ 1.4 ulp:
// |Δ| ≤ 4·2⁻²⁴·(|x − m| + |ls|) + 2⁻²⁴·n·2⁻²⁴ ≲ 2.5e-7·(|x − m| + |ls|) + 1e-7. A wrong max
// shift or a dropped log-sum would be off by O(1).

const wasm = backendInfo().simd;
(wasm ? describe : describe.skip)('float32 softmax family on the wasm exp', () => {
  afterAll(() => setBackend('auto'));

  test('logSoftmax rows (incl. −∞ entries, an all −∞ row and a NaN row) match a float64 reference', () => {
    setBackend('wasm');
    fc.assert(
      fc.property(fc.integer({ min: 16, max: 60 }), fc.integer({ min: 16, max: 90 }), fc.integer({ min: 0, max: 1e6 }), (R, C, seed) => {
        const x = normal([R, C], 0, 8, { rng: new Rng(seed) });
        x.data[C + 1] = -Infinity;
        for (let j = 0; j < C; j++) x.data[2 * C + j] = -Infinity; // row 2: all −∞ → NaN row (PyTorch)
        x.data[3 * C + 2] = NaN; // row 3 → NaN row
        const y = logSoftmax(x, -1);
        for (let r = 0; r < R; r++) {
          const row = Array.from(x.data.subarray(r * C, (r + 1) * C));
          const m = Math.max(...row);
          const ls = Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
          for (let j = 0; j < C; j++) {
            const ref = row[j] - m - ls;
            const got = y.data[r * C + j];
            if (Number.isNaN(ref)) expect(got).toBeNaN();
            else if (ref === -Infinity) expect(got).toBe(-Infinity);
            else expect(Math.abs(got - ref)).toBeLessThanOrEqual(2.5e-7 * (Math.abs(row[j] - m) + Math.abs(ls)) + 1e-7);
          }
        }
      }),
      { numRuns: 30 },
    );
  });

  test('crossEntropy gradient (with masked rows) equals the JS path', () => {
    const rng = new Rng(3);
    const x = normal([80, 37], 0, 4, { rng });
    const targets = Array.from({ length: 80 }, (_, i) => (i * 7) % 37);
    const weights = Array.from({ length: 80 }, (_, i) => (i % 5 === 0 ? 0 : 1));
    const grad = (be: 'js' | 'wasm'): Tensor => {
      setBackend(be);
      const tape = new Tape();
      tape.watch(x);
      const loss = tape.run(() => crossEntropy(x, targets, { weights }));
      return backward(tape, loss).get(x);
    };
    const a = grad('wasm');
    const b = grad('js');
    // |dx| ≤ 1/64 here: a few float32 ulp of that is ~5e-9 (wasm exp ≤ 1.4 ulp, JS Math.exp rounded once)
    for (let i = 0; i < a.size; i++) expect(Math.abs(a.data[i] - b.data[i])).toBeLessThanOrEqual(2e-8);
    for (let j = 0; j < 37; j++) expect(a.data[j]).toBe(0); // row 0 is masked: exactly 0
  });
});
