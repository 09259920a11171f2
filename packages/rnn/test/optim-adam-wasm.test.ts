import fc from 'fast-check';
import { Rng, Tensor, adamF32, backendInfo, isResident, normal, setBackend, toResident } from '@unfold/tensor';
import { Adam, AdamW, Optimizer, Param } from '@unfold/rnn';

// Adam/AdamW on float32 weights with the wasm backend run the update as a wasm f64x2 kernel
// (packages/tensor/src/wasm/adam.ts). It must give the same bits as the JS loop (the js
// backend), step after step: the same operations in doubles, rounded where the loop stores.

const wasm = backendInfo().simd;

/** Shapes with odd sizes (the kernel's one-lane tail) and a 1-element parameter. */
function params(rng: Rng, shapes: number[][], resident: boolean): Param[] {
  return shapes.map((s, i) => {
    const v = normal(s, 0, 1, { rng, dtype: 'float32' });
    return { name: `p${i}`, value: resident ? toResident(v) : v, grad: null };
  });
}

/** Runs `steps` updates with gradients drawn from `seed` (wide magnitudes, exact zeros) and returns every weight and buffer's bits. */
function run(backend: 'js' | 'wasm', make: (ps: Param[]) => Optimizer, shapes: number[][], steps: number, seed: number): number[][] {
  setBackend(backend);
  try {
    const rng = new Rng(seed);
    const ps = params(rng, shapes, backend === 'wasm');
    const opt = make(ps);
    for (let s = 0; s < steps; s++) {
      for (const p of ps) {
        const g = normal(p.value.shape, 0, 1, { rng, dtype: 'float32' });
        const d = g.data as Float32Array;
        for (let i = 0; i < d.length; i++) d[i] = i % 7 === 3 ? 0 : d[i] * 10 ** ((i % 11) - 6);
        p.grad = g;
      }
      opt.step();
    }
    const st = opt.stateDict();
    const bits = (t: Tensor): number[] => Array.from(new Uint32Array(Float32Array.from(t.data as Float32Array).buffer));
    return [...ps.map((p) => bits(p.value)), ...Object.keys(st.buffers).sort().map((k) => bits(st.buffers[k]))];
  } finally {
    setBackend('auto');
  }
}

(wasm ? describe : describe.skip)('Adam on the wasm kernel equals the JS loop bit for bit', () => {
  const shapes = [[3, 5], [7], [1], [4, 4]];
  test.each([
    ['Adam', (ps: Param[]) => new Adam(ps, { lr: 3e-3 })],
    ['Adam, L2 weight decay', (ps: Param[]) => new Adam(ps, { lr: 1e-2, weightDecay: 0.1, betas: [0.8, 0.99] })],
    ['AdamW', (ps: Param[]) => new AdamW(ps, { lr: 2e-2, weightDecay: 0.05, eps: 1e-6 })],
  ] as const)('%s, 6 steps', (_name, make) => {
    expect(run('wasm', make, shapes, 6, 1)).toEqual(run('js', make, shapes, 6, 1));
  });

  test('property: any length, scalars and values (the kernel alone against the loop it replaces)', () => {
    setBackend('wasm');
    try {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 41 }), fc.integer(), fc.double({ min: 1e-5, max: 0.5, noNaN: true }), fc.double({ min: 0, max: 0.999, noNaN: true }),
          fc.double({ min: 0.5, max: 0.9999, noNaN: true }), fc.integer({ min: 1, max: 50 }), fc.constantFrom(0, 0.01), fc.constantFrom(1, 0.999),
          (n, seed, lr, b1, b2, t, l2, shrink) => {
            const rng = new Rng(seed);
            const arr = (sd: number, pos = false): Float32Array => Float32Array.from({ length: n }, () => (pos ? Math.abs(rng.normal()) : rng.normal()) * sd);
            const w = arr(1), g = arr(1e-2), m = arr(1e-3), v = arr(1e-4, true);
            const eps = 1e-8, stepSize = lr / (1 - Math.pow(b1, t)), bc2Sqrt = Math.sqrt(1 - Math.pow(b2, t));
            const [W, M, V] = [w.slice(), m.slice(), v.slice()];
            for (let i = 0; i < n; i++) {
              // packages/rnn/src/optim/adam.ts, as written there
              if (shrink !== 1) W[i] *= shrink;
              const gi = g[i] + l2 * W[i];
              M[i] += (1 - b1) * (gi - M[i]);
              V[i] = b2 * V[i] + (1 - b2) * gi * gi;
              W[i] -= (stepSize * M[i]) / (Math.sqrt(V[i]) / bc2Sqrt + eps);
            }
            expect(adamF32(w, g, m, v, { shrink, l2, c1: 1 - b1, b2, c2: 1 - b2, stepSize, bc2Sqrt, eps })).toBe(true);
            expect([Array.from(w), Array.from(m), Array.from(v)]).toEqual([Array.from(W), Array.from(M), Array.from(V)]);
          },
        ),
        { numRuns: 200 },
      );
    } finally {
      setBackend('auto');
    }
  });

  test('the comparison can fail: a step size 2^-22 off (≈ one float32 rounding) changes the bits', () => {
    setBackend('wasm');
    try {
      const rng = new Rng(3);
      const make = (): Float32Array[] => [0, 1, 2, 3].map((k) => Float32Array.from({ length: 9 }, () => (k === 3 ? 1e-12 : rng.normal() * 1e-3)));
      const a = make();
      const b = a.map((x) => x.slice());
      const c = { shrink: 1, l2: 0, c1: 0.1, b2: 0.999, c2: 0.001, stepSize: 1e-3, bc2Sqrt: 0.0316, eps: 1e-8 };
      adamF32(a[0], a[1], a[2], a[3], c);
      adamF32(b[0], b[1], b[2], b[3], { ...c, stepSize: 1e-3 * (1 + 2 ** -22) });
      expect(Array.from(b[0])).not.toEqual(Array.from(a[0]));
    } finally {
      setBackend('auto');
    }
  });

  test('a loaded state (checkpoint resume) continues with the same bits, its buffers in the arena', () => {
    setBackend('wasm');
    try {
      const grads = (ps: Param[], s: number): void => {
        const rng = new Rng(100 + s);
        for (const p of ps) p.grad = normal(p.value.shape, 0, 1, { rng, dtype: 'float32' });
      };
      const straight = params(new Rng(5), [[3, 4], [5]], true);
      const a = new AdamW(straight, { lr: 1e-2 });
      for (let s = 0; s < 6; s++) (grads(straight, s), a.step());
      const resumed = params(new Rng(5), [[3, 4], [5]], true);
      const b = new AdamW(resumed, { lr: 1e-2 });
      for (let s = 0; s < 3; s++) (grads(resumed, s), b.step());
      const c = new AdamW(resumed, { lr: 1e-2 });
      c.loadStateDict(b.stateDict());
      for (const t of (c as unknown as { buffers: Map<string, Tensor> }).buffers.values()) expect(isResident(t)).toBe(true);
      for (let s = 3; s < 6; s++) (grads(resumed, s), c.step());
      expect(resumed.map((p) => Array.from(p.value.data))).toEqual(straight.map((p) => Array.from(p.value.data)));
    } finally {
      setBackend('auto');
    }
  });

  test('the moment buffers live in the arena beside the weights', () => {
    setBackend('wasm');
    try {
      const ps = params(new Rng(4), [[5, 3]], true);
      ps[0].grad = normal([5, 3], 0, 1, { dtype: 'float32' });
      const opt = new Adam(ps);
      opt.step();
      const buffers = (opt as unknown as { buffers: Map<string, Tensor> }).buffers;
      expect([...buffers.keys()].sort()).toEqual(['exp_avg.p0', 'exp_avg_sq.p0']);
      for (const t of buffers.values()) expect(isResident(t)).toBe(true);
      expect(isResident(ps[0].value)).toBe(true);
    } finally {
      setBackend('auto');
    }
  });
});
