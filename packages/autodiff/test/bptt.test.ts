import fc from 'fast-check';
import { Rng, Tensor, normal } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { Tape, backward, bptt, unroll, valueAndGrad } from '@unfold/autodiff';
import { RnnParams, rnnLossAndGrads, tailLoss } from './minCharRnn';

// A vanilla RNN written with autodiff ops (PyTorch layout), and the same thing by hand (minCharRnn.ts).
interface Problem { T: number; B: number; I: number; H: number; V: number; seed: number }
const arbProblem = fc.record({
  T: fc.integer({ min: 1, max: 6 }), B: fc.integer({ min: 1, max: 3 }), I: fc.integer({ min: 1, max: 4 }),
  H: fc.integer({ min: 1, max: 5 }), V: fc.integer({ min: 2, max: 5 }), seed: fc.integer({ min: 0, max: 1e6 }),
});

function setup({ T, B, I, H, V, seed }: Problem) {
  const rng = new Rng(seed);
  const n = (shape: number[], s = 0.7) => normal(shape, 0, s, { rng, dtype: 'float64' });
  const P = { Wih: n([H, I]), Whh: n([H, H]), bih: n([H], 0.3), bhh: n([H], 0.3), Why: n([V, H]), by: n([V], 0.3) };
  const params = [P.Wih, P.Whh, P.bih, P.bhh, P.Why, P.by];
  const h0 = n([B, H], 0.5);
  const xs = Array.from({ length: T }, () => n([B, I], 1));
  const ys = Array.from({ length: T }, () => Array.from({ length: B }, () => rng.int(0, V)));
  const step = ([h]: Tensor[], x: Tensor, t: number) => {
    const a = ad.add(ad.add(ad.matmul(x, P.Wih, { transB: true }), P.bih), ad.add(ad.matmul(h, P.Whh, { transB: true }), P.bhh)); // [B,H]
    const hn = ad.tanh(a);
    const logits = ad.add(ad.matmul(hn, P.Why, { transB: true }), P.by); // [B,V]
    return { state: [hn], loss: ad.crossEntropy(logits, ys[t - 1], { reduction: 'sum' }) };
  };
  const nested = (t: Tensor) => t.toArray() as number[][];
  const plain: RnnParams = {
    Wih: nested(P.Wih), Whh: nested(P.Whh), bih: P.bih.toFlatArray(), bhh: P.bhh.toFlatArray(), Why: nested(P.Why), by: P.by.toFlatArray(),
  };
  return { P, params, h0, xs, ys, step, plain, plainXs: xs.map(nested), plainH0: nested(h0) };
}

const flat = (m: number[][] | number[]): number[] => (m as unknown[]).flat() as number[];
const close = (a: number[], b: number[], tol = 1e-9) => {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i]))));
};

describe('BPTT against the hand-derived min-char-rnn oracle', () => {
  test('loss, every parameter gradient, ∂L/∂h_0 and ∂L/∂h_t at every step', () => {
    fc.assert(
      fc.property(arbProblem, (pb) => {
        const s = setup(pb);
        const dhs: Record<number, number[]> = {};
        const r = bptt({ params: s.params, step: s.step, state0: [s.h0], xs: s.xs, onStateGrad: (t, [dh]) => (dhs[t] = dh.toFlatArray()) });
        const o = rnnLossAndGrads(s.plain, s.plainH0, s.plainXs, s.ys);
        expect(Math.abs(r.loss - o.loss)).toBeLessThan(1e-9 * Math.max(1, o.loss));
        const og = o.grads;
        [og.Wih, og.Whh, og.bih, og.bhh, og.Why, og.by].forEach((g, k) => close(r.grads[k].toFlatArray(), flat(g)));
        close(r.dState0[0].toFlatArray(), flat(o.dh0));
        for (let t = 1; t <= pb.T; t++) close(dhs[t], flat(o.dhs[t]));
      }),
      { numRuns: 40 },
    );
  });

  test('∂L/∂h_t matches finite differences of the loss with respect to h_t', () => {
    fc.assert(
      fc.property(arbProblem, (pb) => {
        const s = setup(pb);
        const dhs: Record<number, number[]> = {};
        bptt({ params: s.params, step: s.step, state0: [s.h0], xs: s.xs, onStateGrad: (t, [dh]) => (dhs[t] = dh.toFlatArray()) });
        const o = rnnLossAndGrads(s.plain, s.plainH0, s.plainXs, s.ys);
        const eps = 1e-6;
        for (let t = 1; t <= pb.T; t++) {
          const ht = o.hs[t].map((r) => r.slice());
          for (let b = 0; b < pb.B; b++) {
            for (let k = 0; k < pb.H; k++) {
              const v = ht[b][k];
              ht[b][k] = v + eps;
              const fp = tailLoss(s.plain, s.plainXs, s.ys, t, ht);
              ht[b][k] = v - eps;
              const fm = tailLoss(s.plain, s.plainXs, s.ys, t, ht);
              ht[b][k] = v;
              const num = (fp - fm) / (2 * eps);
              expect(Math.abs(num - dhs[t][b * pb.H + k])).toBeLessThan(1e-6 * Math.max(1, Math.abs(num)));
            }
          }
        }
      }),
      { numRuns: 20 },
    );
  });
});

describe('BPTT equals plain reverse mode over the same computation', () => {
  test('bptt(full) = valueAndGrad of Σ_t L_t taped without the helper; unroll + adjointsOf gives the same ∂L/∂h_t', () => {
    fc.assert(
      fc.property(arbProblem, (pb) => {
        const s = setup(pb);
        const dhs: Record<number, number[]> = {};
        const r = bptt({ params: s.params, step: s.step, state0: [s.h0], xs: s.xs, onStateGrad: (t, [dh]) => (dhs[t] = dh.toFlatArray()) });
        const { value, grads } = valueAndGrad((ps: Tensor[]) => {
          let h = s.h0;
          let L: Tensor | null = null;
          for (let t = 1; t <= pb.T; t++) {
            const o = s.step([h], s.xs[t - 1], t);
            h = o.state[0];
            L = L ? ad.add(L, o.loss) : o.loss;
          }
          void ps;
          return L!;
        })(s.params);
        expect(Math.abs(value.item() - r.loss)).toBeLessThan(1e-9 * Math.max(1, r.loss));
        grads.forEach((g, k) => close(g.toFlatArray(), r.grads[k].toFlatArray(), 1e-12));

        const tape = new Tape();
        tape.watch(...s.params, s.h0);
        const u = unroll(s.step, [s.h0], s.xs, tape);
        const L = tape.run(() => u.losses.reduce((a, b) => ad.add(a!, b!))!);
        const seen: Record<number, number[]> = {};
        const ids = u.states.map((st) => st[0]);
        backward(tape, L, { adjointsOf: ids, onAdjoint: (v, d) => (seen[ids.indexOf(v) + 1] = d.toFlatArray()) });
        for (let t = 1; t <= pb.T; t++) close(seen[t], dhs[t], 1e-12);
      }),
      { numRuns: 30 },
    );
  });
});

describe('truncated BPTT', () => {
  test('k2 ≥ T equals full BPTT', () => {
    fc.assert(
      fc.property(arbProblem, fc.integer({ min: 0, max: 3 }), (pb, extra) => {
        const s = setup(pb);
        const full = bptt({ params: s.params, step: s.step, state0: [s.h0], xs: s.xs });
        const tr = bptt({ params: s.params, step: s.step, state0: [s.h0], xs: s.xs, k1: pb.T, k2: pb.T + extra });
        full.grads.forEach((g, k) => close(tr.grads[k].toFlatArray(), g.toFlatArray(), 0));
      }),
      { numRuns: 20 },
    );
  });

  test('k1 = k2 = K: each window equals full BPTT on that window from the carried state', () => {
    fc.assert(
      fc.property(arbProblem.filter((p) => p.T >= 2), fc.integer({ min: 1, max: 3 }), (pb, K) => {
        const s = setup(pb);
        const windows: number[][][] = [];
        bptt({ params: s.params, step: s.step, state0: [s.h0], xs: s.xs, k1: K, k2: K, onUpdate: (g) => windows.push(g.map((x) => x.toFlatArray())) });
        expect(windows.length).toBe(Math.ceil(pb.T / K));
        // the oracle, window by window, from the state the forward pass carried there
        let h = s.plainH0;
        for (let w = 0; w * K < pb.T; w++) {
          const from = w * K;
          const to = Math.min(pb.T, from + K);
          const o = rnnLossAndGrads(s.plain, h, s.plainXs.slice(from, to), s.ys.slice(from, to));
          const og = o.grads;
          [og.Wih, og.Whh, og.bih, og.bhh, og.Why, og.by].forEach((g, k) => close(windows[w][k], flat(g)));
          h = o.hs[to - from];
        }
      }),
      { numRuns: 25 },
    );
  });

  test('k1 = 1, k2 = T: update t backpropagates L_t alone through every earlier step', () => {
    fc.assert(
      fc.property(arbProblem, (pb) => {
        const s = setup(pb);
        const windows: number[][][] = [];
        bptt({ params: s.params, step: s.step, state0: [s.h0], xs: s.xs, k1: 1, k2: pb.T, onUpdate: (g) => windows.push(g.map((x) => x.toFlatArray())) });
        for (let t = 1; t <= pb.T; t++) {
          const w = Array.from({ length: t }, (_, i) => (i === t - 1 ? 1 : 0));
          const o = rnnLossAndGrads(s.plain, s.plainH0, s.plainXs.slice(0, t), s.ys.slice(0, t), w);
          const og = o.grads;
          [og.Wih, og.Whh, og.bih, og.bhh, og.Why, og.by].forEach((g, k) => close(windows[t - 1][k], flat(g)));
        }
      }),
      { numRuns: 20 },
    );
  });

  test('tape memory is O(k2), not O(T) (measured by the bytes of saved tensors)', () => {
    const peak = (T: number, k?: number) => {
      const s = setup({ T, B: 4, I: 8, H: 16, V: 5, seed: 3 });
      return bptt({ params: s.params, step: s.step, state0: [s.h0], xs: s.xs, k1: k, k2: k }).peakSavedBytes;
    };
    const full60 = peak(60);
    const full120 = peak(120);
    const tr60 = peak(60, 10);
    const tr120 = peak(120, 10);
    expect(full120 / full60).toBeGreaterThan(1.8); // linear in T
    expect(tr120).toBe(tr60); // flat in T
    expect(tr120 * 5).toBeLessThan(full120);
  });
});

describe('bad input', () => {
  test('a step returning a wrong-shaped state is named', () => {
    const s = setup({ T: 2, B: 2, I: 2, H: 3, V: 2, seed: 1 });
    expect(() => bptt({ params: s.params, step: () => [s.xs[0]], state0: [s.h0], xs: s.xs })).toThrow('bptt: step 1 returned state[0] of shape [2,2], expected [2,3]');
    expect(() => bptt({ params: s.params, step: s.step, state0: [s.h0], xs: s.xs, k2: 0 })).toThrow('bptt: k2 must be a positive integer, got 0');
  });
  test('checkNumerics names the op and the time step', () => {
    const s = setup({ T: 3, B: 1, I: 1, H: 1, V: 2, seed: 1 });
    const step = ([h]: Tensor[], x: Tensor, t: number) => {
      const hn = ad.tanh(ad.add(ad.matmul(x, s.P.Wih, { transB: true }), ad.matmul(h, s.P.Whh, { transB: true })));
      // log of a value that is exactly 0 at step 2 → ∞ adjoint
      const z = t === 2 ? ad.mul(hn, 0) : hn;
      return { state: [hn], loss: ad.sum(ad.log(ad.add(ad.abs(z), t === 2 ? 0 : 1))) };
    };
    expect(() => bptt({ params: s.params, step, state0: [s.h0], xs: s.xs, checkNumerics: true })).toThrow(/checkNumerics: .*Infinity in the adjoint of input 0 of log at time step 2/);
  });
});
