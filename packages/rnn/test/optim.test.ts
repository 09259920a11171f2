import { DType, Rng, Tensor, TensorError, normal, tensor, zeros } from '@unfold/tensor';
import {
  Adagrad, Adam, AdamW, Optimizer, OptimizerState, Param, RMSProp, SGD, createOptimizer, OPTIMIZER_KINDS, clipGradNorm, clipGradValue, cosine,
} from '../src/optim';

// ---------------------------------------------------------------------------------------
// Float64 references: PyTorch's documented update rules, written as plain loops over numbers
// (independently of the implementation: no lerp, bias correction inside the root, …).
// st holds the per-parameter buffers; t is that parameter's step (1 on its first update).
// ---------------------------------------------------------------------------------------
type Ref = (st: Record<string, number[]>, w: number[], g: number[], t: number, lr: number) => void;

const refSGD = (mu = 0, damp = 0, nesterov = false, wd = 0): Ref => (st, w, g0, _t, lr) => {
  const first = st.buf === undefined;
  st.buf ??= new Array(w.length).fill(0);
  for (let i = 0; i < w.length; i++) {
    let g = g0[i] + wd * w[i];
    if (mu !== 0) {
      st.buf[i] = first ? g : mu * st.buf[i] + (1 - damp) * g;
      g = nesterov ? g + mu * st.buf[i] : st.buf[i];
    }
    w[i] = w[i] - lr * g;
  }
};

const refRMSProp = (alpha = 0.99, eps = 1e-8, wd = 0, mu = 0, centered = false): Ref => (st, w, g0, _t, lr) => {
  for (const k of ['v', 'gave', 'b']) st[k] ??= new Array(w.length).fill(0);
  for (let i = 0; i < w.length; i++) {
    const g = g0[i] + wd * w[i];
    st.v[i] = alpha * st.v[i] + (1 - alpha) * g * g;
    let vt = st.v[i];
    if (centered) {
      st.gave[i] = alpha * st.gave[i] + (1 - alpha) * g;
      vt = vt - st.gave[i] * st.gave[i];
    }
    if (mu > 0) {
      st.b[i] = mu * st.b[i] + g / (Math.sqrt(vt) + eps);
      w[i] -= lr * st.b[i];
    } else {
      w[i] -= (lr * g) / (Math.sqrt(vt) + eps);
    }
  }
};

const refAdagrad = (lrDecay = 0, wd = 0, init = 0, eps = 1e-10): Ref => (st, w, g0, t, lr) => {
  st.sum ??= new Array(w.length).fill(init);
  const clr = lr / (1 + (t - 1) * lrDecay);
  for (let i = 0; i < w.length; i++) {
    const g = g0[i] + wd * w[i];
    st.sum[i] += g * g;
    w[i] -= (clr * g) / (Math.sqrt(st.sum[i]) + eps);
  }
};

const refAdam = (b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0, amsgrad = false, decoupled = false): Ref => (st, w, g0, t, lr) => {
  for (const k of ['m', 'v', 'vmax']) st[k] ??= new Array(w.length).fill(0);
  for (let i = 0; i < w.length; i++) {
    if (decoupled) w[i] = w[i] - lr * wd * w[i];
    const g = g0[i] + (decoupled ? 0 : wd * w[i]);
    st.m[i] = b1 * st.m[i] + (1 - b1) * g;
    st.v[i] = b2 * st.v[i] + (1 - b2) * g * g;
    const mhat = st.m[i] / (1 - b1 ** t);
    st.vmax[i] = Math.max(st.vmax[i], st.v[i]);
    const vhat = (amsgrad ? st.vmax[i] : st.v[i]) / (1 - b2 ** t);
    w[i] -= (lr * mhat) / (Math.sqrt(vhat) + eps);
  }
};

const NAMES = ['weight_ih_l0', 'bias_ih_l0', 'weight_hh_l0', 'scalar'];
const SHAPES = [[3, 4], [5], [2, 1, 3], []];

function makeParams(rng: Rng, dtype: DType): Param[] {
  return SHAPES.map((s, i) => ({ name: NAMES[i], value: normal(s, 0, 1, { rng, dtype }), grad: null }));
}

/** Gradients for step s: random, large-ish on one parameter, and null for 'bias_ih_l0' at step 2 (skipped). */
function setGrads(ps: Param[], rng: Rng, s: number): void {
  ps.forEach((p, i) => {
    p.grad = s === 2 && i === 1 ? null : normal(p.value.shape, 0, i === 2 ? 10 : 1, { rng, dtype: p.value.dtype });
  });
}

/** Runs the optimizer and the reference side by side (lr changes every step); returns the max relative difference. */
function maxDiff(make: (ps: Param[]) => Optimizer, ref: Ref, dtype: DType, steps = 7, seed = 1): number {
  const rng = new Rng(seed);
  const ps = makeParams(rng, dtype);
  const ws = ps.map((p) => p.value.toFlatArray());
  const st = ps.map(() => ({}) as Record<string, number[]>);
  const ts = ps.map(() => 0);
  const opt = make(ps);
  const lr0 = opt.lr;
  for (let s = 0; s < steps; s++) {
    const lr = lr0 * (1 + 0.3 * Math.sin(s));
    opt.lr = lr;
    setGrads(ps, rng, s);
    opt.step();
    ps.forEach((p, i) => {
      if (p.grad === null) return;
      ts[i]++;
      ref(st[i], ws[i], p.grad.toFlatArray(), ts[i], lr);
    });
  }
  let worst = 0;
  ps.forEach((p, i) => {
    const got = p.value.toFlatArray();
    got.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - ws[i][k]) / (1 + Math.abs(ws[i][k])))));
  });
  return worst;
}

const CASES: [string, (ps: Param[]) => Optimizer, Ref][] = [
  ['SGD', (ps) => new SGD(ps, { lr: 0.1 }), refSGD()],
  ['SGD momentum', (ps) => new SGD(ps, { lr: 0.05, momentum: 0.9 }), refSGD(0.9)],
  ['SGD momentum+dampening+wd', (ps) => new SGD(ps, { lr: 0.05, momentum: 0.8, dampening: 0.3, weightDecay: 0.1 }), refSGD(0.8, 0.3, false, 0.1)],
  ['SGD Nesterov', (ps) => new SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 }), refSGD(0.9, 0, true, 0.01)],
  ['RMSProp', (ps) => new RMSProp(ps, {}), refRMSProp()],
  ['RMSProp centered', (ps) => new RMSProp(ps, { centered: true, alpha: 0.9 }), refRMSProp(0.9, 1e-8, 0, 0, true)],
  ['RMSProp momentum+wd', (ps) => new RMSProp(ps, { momentum: 0.7, weightDecay: 0.05, eps: 1e-3 }), refRMSProp(0.99, 1e-3, 0.05, 0.7)],
  ['RMSProp centered+momentum', (ps) => new RMSProp(ps, { momentum: 0.5, centered: true }), refRMSProp(0.99, 1e-8, 0, 0.5, true)],
  ['Adagrad', (ps) => new Adagrad(ps, { lr: 0.1 }), refAdagrad()],
  ['Adagrad lrDecay+wd+init', (ps) => new Adagrad(ps, { lr: 0.1, lrDecay: 0.05, weightDecay: 0.1, initialAccumulatorValue: 0.3, eps: 1e-6 }), refAdagrad(0.05, 0.1, 0.3, 1e-6)],
  ['Adam', (ps) => new Adam(ps, { lr: 0.01 }), refAdam()],
  ['Adam wd+betas', (ps) => new Adam(ps, { lr: 0.01, betas: [0.8, 0.95], weightDecay: 0.1, eps: 1e-6 }), refAdam(0.8, 0.95, 1e-6, 0.1)],
  ['Adam amsgrad', (ps) => new Adam(ps, { lr: 0.01, amsgrad: true }), refAdam(0.9, 0.999, 1e-8, 0, true)],
  ['AdamW', (ps) => new AdamW(ps, { lr: 0.01 }), refAdam(0.9, 0.999, 1e-8, 0.01, false, true)],
  ['AdamW amsgrad wd', (ps) => new AdamW(ps, { lr: 0.01, weightDecay: 0.3, amsgrad: true }), refAdam(0.9, 0.999, 1e-8, 0.3, true, true)],
];

describe('optimizers follow PyTorch formulas', () => {
  test.each(CASES)('%s (float64, 1e-9)', (_, make, ref) => {
    expect(maxDiff(make, ref, 'float64')).toBeLessThan(1e-9);
  });
  test.each(CASES)('%s (float32, 2e-5)', (_, make, ref) => {
    expect(maxDiff(make, ref, 'float32')).toBeLessThan(2e-5);
  });
  test('the comparison can fail: a slightly different hyper-parameter is detected', () => {
    expect(maxDiff((ps) => new Adam(ps, { lr: 0.01, betas: [0.9, 0.99] }), refAdam(), 'float64')).toBeGreaterThan(1e-6);
    expect(maxDiff((ps) => new AdamW(ps, { lr: 0.01, weightDecay: 0.1 }), refAdam(0.9, 0.999, 1e-8, 0.1), 'float64')).toBeGreaterThan(1e-6);
    expect(maxDiff((ps) => new SGD(ps, { lr: 0.05, momentum: 0.9, dampening: 0.1 }), refSGD(0.9), 'float64')).toBeGreaterThan(1e-6);
  });
});

describe('minimising a quadratic', () => {
  // f(w) = ½ Σ a_k (w_k − c_k)², ∇f = a ⊙ (w − c), condition number 10.
  const configs: [string, object, number, number][] = [
    ['sgd', { lr: 0.1, momentum: 0.9 }, 600, 1e-9],
    ['sgd', { lr: 0.1, momentum: 0.9, nesterov: true }, 600, 1e-9],
    ['rmsprop', { lr: 0.01 }, 2000, 1e-9],
    ['rmsprop', { lr: 0.02, centered: true }, 1000, 1e-6],
    ['adagrad', { lr: 0.5 }, 1000, 1e-4],
    ['adam', { lr: 0.1 }, 600, 1e-6],
    ['adamw', { lr: 0.1, weightDecay: 0 }, 600, 1e-6],
  ];
  test.each(configs)('%s %j converges', (name, opts, steps, tol) => {
    const rng = new Rng(7);
    const n = 20;
    const a = Array.from({ length: n }, (_, k) => 0.2 + (1.8 * k) / (n - 1));
    const c = Array.from({ length: n }, () => rng.normal() * 3);
    const p: Param = { name: 'w', value: zeros([4, 5], 'float64'), grad: null };
    const opt = createOptimizer(name, [p], opts);
    const sched = cosine(opt.lr, steps, 0);
    for (let s = 0; s < steps; s++) {
      opt.lr = sched(s);
      const w = p.value.data;
      p.grad = tensor(a.map((ak, k) => ak * (w[k] - c[k])), [4, 5], 'float64');
      opt.step();
    }
    const err = Math.max(...p.value.toFlatArray().map((v, k) => Math.abs(v - c[k])));
    expect(err).toBeLessThan(tol);
  });
});

describe('state save/load', () => {
  const full: [string, object][] = [
    ['sgd', { lr: 0.05, momentum: 0.9, nesterov: true }],
    ['rmsprop', { momentum: 0.5, centered: true }],
    ['adagrad', { lrDecay: 0.01, initialAccumulatorValue: 0.1 }],
    ['adam', { amsgrad: true, weightDecay: 0.01 }],
    ['adamw', { amsgrad: true }],
  ];
  test.each(full.flatMap(([k, o]) => [[k, o, 'float32'], [k, o, 'float64']] as [string, object, DType][]))(
    '%s %j %s: resumes bit-identically in a fresh optimizer',
    (name, opts, dtype) => {
      const rng = new Rng(3);
      const ps = makeParams(rng, dtype);
      const opt = createOptimizer(name, ps, opts);
      for (let s = 0; s < 5; s++) {
        setGrads(ps, rng, s);
        opt.step();
      }
      const saved = opt.stateDict();
      const copies = ps.map((p) => ({ name: p.name, value: p.value.clone(), grad: null as Tensor | null }));
      // the original runs on first, so `saved` must be a deep copy for the replay below to match
      const grads: (Tensor | null)[][] = [];
      for (let s = 5; s < 10; s++) {
        setGrads(ps, rng, s);
        grads.push(ps.map((p) => (p.grad === null ? null : p.grad.clone())));
        opt.step();
      }
      const fresh = createOptimizer(name, copies, { lr: 0.5 });
      fresh.loadStateDict(saved);
      expect(fresh.lr).toBe(opt.lr);
      expect(fresh.steps).toBe(5);
      for (const g of grads) {
        copies.forEach((c, i) => (c.grad = g[i]));
        fresh.step();
      }
      ps.forEach((p, i) => expect(Array.from(copies[i].value.data)).toEqual(Array.from(p.value.data)));
      expect(fresh.steps).toBe(10);
    },
  );

  test('per-parameter step counts skip null gradients (PyTorch semantics)', () => {
    const rng = new Rng(4);
    const ps = makeParams(rng, 'float64');
    const opt = new Adam(ps);
    for (let s = 0; s < 4; s++) {
      setGrads(ps, rng, s);
      opt.step();
    }
    const st = opt.stateDict();
    expect(st.step).toBe(4);
    expect(st.paramSteps).toEqual({ weight_ih_l0: 4, bias_ih_l0: 3, weight_hh_l0: 4, scalar: 4 });
    expect(Object.keys(st.buffers)).toContain('exp_avg.weight_ih_l0');
    expect(Object.keys(st.buffers)).toContain('exp_avg_sq.scalar');
  });

  test('bad states are rejected and leave the optimizer untouched', () => {
    const rng = new Rng(5);
    const ps = makeParams(rng, 'float64');
    const opt = new Adam(ps, { lr: 0.01 });
    setGrads(ps, rng, 0);
    opt.step();
    const good = opt.stateDict();
    const bad = (patch: Partial<OptimizerState>): OptimizerState => ({ ...good, ...patch });
    expect(() => opt.loadStateDict(bad({ kind: 'sgd' }))).toThrow(/Adam.loadStateDict: state is for optimizer 'sgd', this one is 'adam'/);
    expect(() => opt.loadStateDict(bad({ hyper: { ...good.hyper, momentum: 0.9 } }))).toThrow(/unknown option momentum/);
    expect(() => opt.loadStateDict(bad({ hyper: { lr: 0.1 } }))).toThrow(/hyper-parameters lack betas, eps, weightDecay, amsgrad/);
    expect(() => opt.loadStateDict(bad({ paramSteps: { ...good.paramSteps, nope: 1 } }))).toThrow(/unknown parameter 'nope'/);
    expect(() => opt.loadStateDict(bad({ buffers: { ...good.buffers, 'exp_avg.weight_ih_l0': zeros([4, 3], 'float64') } }))).toThrow(
      /buffer 'exp_avg.weight_ih_l0' is float64 \[4,3\], parameter 'weight_ih_l0' is float64 \[3,4\]/,
    );
    expect(() => opt.loadStateDict(bad({ buffers: { ...good.buffers, 'exp_avg.weight_ih_l0': zeros([3, 4], 'float32') } }))).toThrow(/is float32 \[3,4\]/);
    expect(() => opt.loadStateDict(bad({ buffers: { ...good.buffers, 'max_exp_avg_sq.scalar': zeros([], 'float64') } }))).toThrow(/unexpected buffer 'max_exp_avg_sq.scalar'/);
    const { ['exp_avg_sq.scalar']: _gone, ...partial } = good.buffers;
    expect(() => opt.loadStateDict(bad({ buffers: partial }))).toThrow(/'scalar' has been stepped but buffer 'exp_avg_sq.scalar' is missing/);
    expect(opt.lr).toBe(0.01);
    expect(opt.stateDict().paramSteps).toEqual(good.paramSteps);
  });
});

describe('validation', () => {
  const p = (): Param[] => [{ name: 'w', value: zeros([2, 3]), grad: null }];
  test('unknown option keys list the valid ones', () => {
    expect(() => new Adam(p(), { weight_decay: 0.1 } as object)).toThrow("Adam: unknown option weight_decay (valid: lr, betas, eps, weightDecay, amsgrad)");
    expect(() => createOptimizer('sgd', p(), { betas: [0.9, 0.9] } as object)).toThrow(/SGD: unknown option betas \(valid: lr, momentum, dampening, nesterov, weightDecay\)/);
  });
  test.each([0, -1, NaN, Infinity, '0.1'])('lr %p is rejected', (lr) => {
    for (const k of OPTIMIZER_KINDS) expect(() => createOptimizer(k, p(), { lr } as object)).toThrow(TensorError);
  });
  test('other ranges', () => {
    expect(() => new Adam(p(), { betas: [0.9, 1] })).toThrow(/betas\[1\] must be in \[0, 1\), got 1/);
    expect(() => new RMSProp(p(), { alpha: -0.1 })).toThrow(/alpha/);
    expect(() => new SGD(p(), { momentum: -1 })).toThrow(/momentum must be >= 0/);
    expect(() => new SGD(p(), { nesterov: true })).toThrow(/Nesterov momentum requires momentum > 0 and dampening = 0/);
    expect(() => new SGD(p(), { momentum: 0.9, dampening: 0.1, nesterov: true })).toThrow(/Nesterov/);
    expect(() => createOptimizer('adamax', p())).toThrow("createOptimizer: unknown optimizer 'adamax' (available: sgd, rmsprop, adagrad, adam, adamw)");
  });
  test('lr setter: 0 allowed (schedules reach it), negative/NaN not', () => {
    const opt = new SGD(p(), { lr: 0.1 });
    opt.lr = 0;
    expect(opt.lr).toBe(0);
    expect(() => (opt.lr = -0.1)).toThrow(/SGD: lr must be >= 0/);
    expect(() => (opt.lr = NaN)).toThrow(/SGD: lr must be a finite number/);
  });
  test('parameters: unique names, contiguous values; gradients: matching shape/dtype, contiguous', () => {
    const w = zeros([3, 4]);
    expect(() => new SGD([{ name: 'a', value: w, grad: null }, { name: 'a', value: zeros([2]), grad: null }])).toThrow(/'a' appears twice/);
    expect(() => new SGD([{ name: 'wT', value: w.transpose(), grad: null }])).toThrow(/value of 'wT' must be contiguous \(shape \[4,3\], strides \[1,4\]\)/);
    const q: Param = { name: 'w', value: w, grad: zeros([4, 3]) };
    const opt = new SGD([q]);
    expect(() => opt.step()).toThrow(/SGD.step: gradient of 'w' has shape \[4,3\], parameter has \[3,4\]/);
    q.grad = zeros([3, 4], 'float64');
    expect(() => opt.step()).toThrow(/gradient of 'w' is float64, parameter is float32/);
    q.grad = zeros([4, 3]).transpose();
    expect(() => opt.step()).toThrow(/gradient of 'w' must be contiguous/);
    // a contiguous view with an offset is fine
    const big = tensor([9, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [14]);
    q.grad = big.narrow(0, 2, 12).reshape([3, 4]);
    opt.step();
    expect(w.get(0, 0)).toBeCloseTo(-1e-3, 9);
    expect(w.get(2, 3)).toBeCloseTo(-12e-3, 9);
  });
  test('NaN/Inf in a gradient throws naming the parameter; no weight or buffer changes', () => {
    const rng = new Rng(9);
    const ps = makeParams(rng, 'float32');
    const opt = new Adam(ps);
    setGrads(ps, rng, 0);
    opt.step();
    const before = ps.map((q) => Array.from(q.value.data));
    const state = opt.stateDict();
    setGrads(ps, rng, 1);
    ps[2].grad!.data[4] = NaN;
    expect(() => opt.step()).toThrow(/Adam.step: gradient of 'weight_hh_l0' \[2,1,3\] holds NaN at flat index 4/);
    ps[2].grad!.data[4] = -Infinity;
    expect(() => opt.step()).toThrow(/holds -Infinity at flat index 4/);
    ps.forEach((q, i) => expect(Array.from(q.value.data)).toEqual(before[i]));
    expect(opt.steps).toBe(1);
    const after = opt.stateDict();
    for (const k of Object.keys(state.buffers)) expect(Array.from(after.buffers[k].data)).toEqual(Array.from(state.buffers[k].data));
  });
  test('null gradients are skipped; zeroGrad clears (or zero-fills) them', () => {
    const ps = makeParams(new Rng(1), 'float64');
    const before = ps.map((q) => Array.from(q.value.data));
    const opt = new SGD(ps, { lr: 1, momentum: 0.9 });
    opt.step();
    ps.forEach((q, i) => expect(Array.from(q.value.data)).toEqual(before[i]));
    expect(opt.stateDict().buffers).toEqual({});
    ps[0].grad = normal([3, 4], 0, 1, { dtype: 'float64' });
    opt.zeroGrad(false);
    expect(ps[0].grad!.toFlatArray().every((v) => v === 0)).toBe(true);
    opt.zeroGrad();
    expect(ps.every((q) => q.grad === null)).toBe(true);
  });
});

describe('gradient clipping', () => {
  function grads(rng: Rng, dtype: DType = 'float64', scale = 1): Param[] {
    const ps = makeParams(rng, dtype);
    ps.forEach((p, i) => (p.grad = i === 1 ? null : normal(p.value.shape, 0, scale, { rng, dtype })));
    return ps;
  }
  const refNorm = (ps: Param[], p: number): number => {
    const xs = ps.flatMap((q) => (q.grad ? q.grad.toFlatArray() : []));
    if (p === Infinity) return Math.max(...xs.map(Math.abs));
    return Math.pow(xs.reduce((s, x) => s + Math.pow(Math.abs(x), p), 0), 1 / p);
  };
  test.each([2, 1, 3, 0.5, Infinity])('norm %p: returns the pre-clip norm and scales by maxNorm/(norm+1e-6)', (p) => {
    const ps = grads(new Rng(11));
    const before = ps.map((q) => q.grad?.toFlatArray());
    const n = refNorm(ps, p);
    const maxNorm = n / 3;
    expect(clipGradNorm(ps, maxNorm, p)).toBeCloseTo(n, 10);
    const coef = maxNorm / (n + 1e-6);
    ps.forEach((q, i) => {
      if (!q.grad) return;
      q.grad.toFlatArray().forEach((v, k) => expect(v).toBeCloseTo(before[i]![k] * coef, 12));
    });
    expect(refNorm(ps, p)).toBeCloseTo(maxNorm, 5);
    // under the limit: untouched
    const again = ps.map((q) => q.grad?.toFlatArray());
    clipGradNorm(ps, maxNorm * 2, p);
    ps.forEach((q, i) => expect(q.grad?.toFlatArray()).toEqual(again[i]));
  });
  test('float64 gradients near 1e200 do not overflow the norm', () => {
    const ps = grads(new Rng(12), 'float64', 1e200);
    const n = clipGradNorm(ps, 1);
    expect(Number.isFinite(n)).toBe(true);
    const ref = 1e200 * refNorm(grads(new Rng(12), 'float64', 1), 2);
    expect(Math.abs(n - ref) / ref).toBeLessThan(1e-12);
    expect(refNorm(ps, 2)).toBeCloseTo(1, 5);
  });
  test('float32 and no gradients', () => {
    const ps = grads(new Rng(13), 'float32');
    expect(clipGradNorm(ps, 1e9)).toBeCloseTo(refNorm(ps, 2), 4);
    expect(clipGradNorm([{ name: 'w', value: zeros([2]), grad: null }], 1)).toBe(0);
  });
  test.each([2, 1])('float32 gradients, norm %p (one pass in doubles): the float64 norm of the same values, at the float32 extremes too', (p) => {
    const ps = grads(new Rng(17), 'float32');
    expect(Math.abs(clipGradNorm(ps, 1e9, p) / refNorm(ps, p) - 1)).toBeLessThan(1e-13); // a float32 sum would be off by ~1e-7
    ps[0].grad!.data[0] = 3e38; // its square overflows float32, not the double sum
    ps[2].grad!.data[0] = 1e-45; // a denormal: its square still counts in a double
    const n = clipGradNorm(ps, Infinity, p);
    expect(Number.isFinite(n)).toBe(true);
    expect(Math.abs(n / refNorm(ps, p) - 1)).toBeLessThan(1e-13);
    const tiny = [{ name: 'd', value: zeros([2]), grad: tensor([1e-45, 0], [2], 'float32') }];
    expect(clipGradNorm(tiny, 1, p)).toBe(Math.fround(1e-45)); // √(x²) = x, nothing flushed to 0
    ps[2].grad!.data[3] = -Infinity;
    expect(clipGradNorm(ps, 1, p)).toBe(Infinity);
    ps[3].grad!.data[0] = NaN;
    const before = ps.map((q) => q.grad?.toFlatArray());
    expect(clipGradNorm(ps, 1, p)).toBeNaN();
    ps.forEach((q, i) => expect(q.grad?.toFlatArray()).toEqual(before[i])); // untouched
    expect(() => clipGradNorm(ps, 1, p, { errorIfNonfinite: true })).toThrow(new RegExp(`the total ${p}-norm of the gradients is NaN \\(first non-finite gradient: '${ps[2].name}'\\)`));
  });
  test('non-finite norm: returned as is, gradients untouched; errorIfNonfinite throws', () => {
    const ps = grads(new Rng(14));
    ps[2].grad!.data[1] = Infinity;
    const before = ps.map((q) => q.grad?.toFlatArray());
    expect(clipGradNorm(ps, 1)).toBe(Infinity);
    ps[0].grad!.data[0] = NaN;
    expect(clipGradNorm(ps, 1)).toBeNaN();
    ps.forEach((q, i) => i !== 0 && expect(q.grad?.toFlatArray()).toEqual(before[i]));
    expect(() => clipGradNorm(ps, 1, 2, { errorIfNonfinite: true })).toThrow(/clipGradNorm: the total 2-norm of the gradients is NaN \(first non-finite gradient: 'weight_ih_l0'\)/);
    expect(() => clipGradNorm(ps, 1, 2, { errorIfNonFinite: true } as object)).toThrow(/unknown option errorIfNonFinite/);
  });
  test('argument checks', () => {
    const ps = grads(new Rng(15));
    expect(() => clipGradNorm(ps, -1)).toThrow(/maxNorm must be >= 0, got -1/);
    expect(() => clipGradNorm(ps, 1, 0)).toThrow(/normType must be > 0/);
    expect(() => clipGradValue(ps, -0.5)).toThrow(/clip must be a finite number >= 0, got -0.5/);
  });
  test('clipGradValue clamps into [-clip, clip]; NaN stays NaN', () => {
    const ps = grads(new Rng(16), 'float32', 3);
    ps[0].grad!.data[5] = NaN;
    const before = ps.map((q) => q.grad?.toFlatArray());
    clipGradValue(ps, 1.5);
    ps.forEach((q, i) =>
      q.grad?.toFlatArray().forEach((v, k) => {
        const b = before[i]![k];
        if (Number.isNaN(b)) expect(v).toBeNaN();
        else expect(v).toBe(Math.fround(Math.min(1.5, Math.max(-1.5, b))));
      }),
    );
  });
});
