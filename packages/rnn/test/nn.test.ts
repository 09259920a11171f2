import fc from 'fast-check';
import { Rng, Tensor, tensor } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { gradCheck } from '@unfold/autodiff';
import { Dropout, Embedding, Linear, Module, computeGradients, identityInit, orthogonal, uniformRange, xavierUniform } from '@unfold/rnn';

// Module (names, state dicts, modes), Linear, Embedding, Dropout and the initialisers,
// against plain loops over get() in float64.

class Net extends Module {
  readonly emb = this.registerModule('emb', new Embedding(5, 3, { rng: new Rng(1), dtype: 'float64' }));
  readonly fc = this.registerModule('fc', new Linear(3, 2, { rng: new Rng(2), dtype: 'float64' }));
  readonly drop = this.registerModule('drop', new Dropout(0.5, new Rng(3)));
  readonly scale = this.registerParam('scale', tensor([1.5], [1], 'float64'));
}

/** Row-major values of a [r, c] product M Mᵀ minus I, largest |entry|. */
function gramError(m: Tensor, rowsOrthonormal: boolean): number {
  const [r, c] = m.shape;
  const n = rowsOrthonormal ? r : c;
  const k = rowsOrthonormal ? c : r;
  let worst = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += rowsOrthonormal ? m.get(i, t) * m.get(j, t) : m.get(t, i) * m.get(t, j);
      worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
    }
  }
  return worst;
}

describe('Module', () => {
  test('qualified names in registration order (own params first, then children), shapes, counts, param()', () => {
    const n = new Net();
    expect(n.namedParameters().map(([k]) => k)).toEqual(['scale', 'emb.weight', 'fc.weight', 'fc.bias']);
    expect(Object.fromEntries(Object.entries(n.stateDict()).map(([k, v]) => [k, v.shape]))).toEqual({ scale: [1], 'emb.weight': [5, 3], 'fc.weight': [2, 3], 'fc.bias': [2] });
    expect(n.numParameters()).toBe(1 + 15 + 6 + 2);
    expect(n.param('fc.bias').value).toBe(n.fc.bias);
    expect(() => n.param('fc.nope')).toThrow(/no parameter 'fc.nope' \(have: scale, emb.weight, fc.weight, fc.bias\)/);
    expect(n.parameters().map((p) => p.name)).toEqual(['scale', 'emb.weight', 'fc.weight', 'fc.bias']);
  });

  test('duplicate names are rejected', () => {
    class Dup extends Module {
      constructor() {
        super();
        this.registerParam('w', tensor([1]));
        this.registerModule('w', new Linear(1, 1));
      }
    }
    expect(() => new Dup()).toThrow(/Dup: duplicate name 'w'/);
  });

  test('train/eval reach every child; zeroGrad clears grads', () => {
    const n = new Net();
    expect(n.drop.training).toBe(true);
    n.eval();
    expect([n.training, n.emb.training, n.fc.training, n.drop.training]).toEqual([false, false, false, false]);
    n.train();
    expect(n.drop.training).toBe(true);
    computeGradients(n, () => ({ loss: ad.sum(ad.mul(n.fc.forward(n.emb.forward([1, 2])), n.scale.value)) }));
    expect(n.parameters().every((p) => p.grad !== null)).toBe(true);
    n.zeroGrad();
    expect(n.parameters().every((p) => p.grad === null)).toBe(true);
  });

  test('stateDict → loadStateDict round trip (Tensors and {shape, data}), dtype converted', () => {
    const a = new Net();
    const b = new Net();
    b.fc.weight.data.fill(0);
    b.loadStateDict(a.stateDict());
    expect(b.fc.weight.toFlatArray()).toEqual(a.fc.weight.toFlatArray());
    const f32 = Object.fromEntries(Object.entries(a.stateDict()).map(([k, v]) => [k, { shape: v.shape.slice(), data: Array.from(v.astype('float32').toFlatArray()) }]));
    b.loadStateDict(f32);
    expect(b.fc.weight.dtype).toBe('float64');
    expect(b.fc.weight.toFlatArray()).toEqual(Array.from(new Float32Array(a.fc.weight.toFlatArray())));
    // a non-contiguous tensor is read in row-major order
    const t = tensor([[1, 2, 3], [4, 5, 6]], undefined, 'float64');
    b.loadStateDict({ ...a.stateDict(), 'fc.weight': t.transpose().clone().transpose() });
    expect(b.fc.weight.toFlatArray()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  test('every problem in one error, and nothing loaded', () => {
    const n = new Net();
    const before = n.parameters().map((p) => p.value.toFlatArray());
    const sd: Record<string, unknown> = {
      scale: { shape: [1], data: [NaN] },
      'emb.weight': { shape: [5, 4], data: new Array(20).fill(0) },
      'fc.weight': { shape: [2, 3], data: [1, 2, 3, 4, 5] },
      'fc.extra': tensor([1]),
    }; // fc.bias missing
    let msg = '';
    try {
      n.loadStateDict(sd as never);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/^loadStateDict: Net state dict does not fit/);
    for (const part of ['missing: fc.bias', 'unexpected: fc.extra', 'emb.weight: shape [5,4], expected [5,3]', 'fc.weight: 5 values for shape [2,3]', 'scale: non-finite value NaN at flat index 0']) {
      expect(msg).toContain(part);
    }
    expect(n.parameters().map((p) => p.value.toFlatArray())).toEqual(before);
  });

  test('malformed entries are reported, not crashed on', () => {
    const n = new Net();
    const good = n.stateDict();
    const bad = (name: string, v: unknown, re: RegExp) => expect(() => n.loadStateDict({ ...good, [name]: v } as never)).toThrow(re);
    bad('scale', null, /scale: null, not a tensor or \{ shape, data \}/);
    bad('scale', 3, /scale: number, not a tensor/);
    bad('scale', { data: [1] }, /scale: no valid shape/);
    bad('scale', { shape: [1], data: 'x' }, /scale: data is string/);
    bad('scale', { shape: [1], data: ['1'] }, /scale: non-finite value 1 at flat index 0/);
    bad('scale', { shape: [1], data: [Infinity] }, /non-finite value Infinity/);
    expect(() => n.loadStateDict(null as never)).toThrow(/loadStateDict: Net: expected an object/);
    // a name that only exists on Object.prototype is still missing
    expect(() => n.loadStateDict({ ...good, constructor: undefined } as never)).toThrow(/unexpected: constructor/);
  });
});

describe('Linear', () => {
  test('y = x Wᵀ + b over the last axis, any leading shape, vs a plain loop', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.boolean(), (lead, inF, outF, bias) => {
        const lin = new Linear(inF, outF, { bias, rng: new Rng(lead.length + inF), dtype: 'float64' });
        const n = lead.reduce((a, b) => a * b, 1);
        const x = tensor(Array.from({ length: n * inF }, (_, i) => Math.sin(i + 0.5) * 3), [...lead, inF], 'float64');
        const y = lin.forward(x);
        expect(y.shape).toEqual([...lead, outF]);
        const xf = x.toFlatArray();
        const yf = y.toFlatArray();
        for (let r = 0; r < n; r++) for (let o = 0; o < outF; o++) {
          let s = bias ? lin.bias!.get(o) : 0;
          for (let i = 0; i < inF; i++) s += lin.weight.get(o, i) * xf[r * inF + i];
          expect(yf[r * outF + o]).toBeCloseTo(s, 12);
        }
      }),
      { numRuns: 40 },
    );
  });

  test('gradCheck w.r.t. x, weight and bias (non-contiguous x)', () => {
    const lin = new Linear(3, 2, { dtype: 'float64' });
    const x = tensor(Array.from({ length: 24 }, (_, i) => Math.cos(i)), [2, 3, 4], 'float64').transpose(1, 2); // [2, 4, 3] strided
    const f = (xi: Tensor, w: Tensor, b: Tensor) => {
      lin.param('weight').value = w;
      lin.param('bias').value = b;
      return lin.forward(xi);
    };
    const rep = gradCheck(f, [x, lin.weight, lin.bias!]);
    if (!rep.ok) throw new Error(rep.toString());
  });

  test('PyTorch init: U(±1/√in) for weight and bias', () => {
    const lin = new Linear(16, 200, { rng: new Rng(5) });
    for (const t of [lin.weight, lin.bias!]) {
      const v = t.toFlatArray().map(Math.abs);
      expect(Math.max(...v)).toBeLessThanOrEqual(0.25);
      expect(Math.max(...v)).toBeGreaterThan(0.24);
    }
  });

  test('errors name Linear and the shapes', () => {
    expect(() => new Linear(0, 2)).toThrow(/Linear: inFeatures must be a positive integer, got 0/);
    expect(() => new Linear(3, 2).forward(tensor([[1, 2]]))).toThrow(/Linear: input \[1,2\] does not end in 3 features/);
    expect(() => new Linear(2, 2).forward(tensor([[1, 2]], undefined, 'float64'))).toThrow(/Linear: input \[1,2\] is float64, weight is float32/);
  });
});

describe('Embedding', () => {
  test('rows by id, [...ids.shape, dim]; repeated ids accumulate their gradients', () => {
    const e = new Embedding(4, 3, { dtype: 'float64' });
    const ids = tensor([[0, 2], [2, 3]], undefined, 'float64');
    const y = e.forward(ids);
    expect(y.shape).toEqual([2, 2, 3]);
    expect(y.slice(1, 0).toFlatArray()).toEqual(e.weight.slice(2).toFlatArray());
    const u = tensor(Array.from({ length: 12 }, (_, i) => i + 1), [2, 2, 3], 'float64');
    computeGradients(e, () => ({ loss: ad.sum(ad.mul(e.forward(ids), u)) }));
    const g = e.param('weight').grad!;
    expect(g.slice(2).toFlatArray()).toEqual([4 + 7, 5 + 8, 6 + 9]); // id 2 used twice
    expect(g.slice(1).toFlatArray()).toEqual([0, 0, 0]);
  });

  test('errors name Embedding', () => {
    const e = new Embedding(4, 3);
    expect(() => e.forward([4])).toThrow(/^Embedding: \[4, 3\]: .*4/);
    expect(() => e.forward([1.5])).toThrow(/^Embedding/);
    expect(() => new Embedding(0, 3)).toThrow(/Embedding: numEmbeddings must be a positive integer, got 0/);
  });
});

describe('Dropout', () => {
  test('eval: the identity (same tensor, nothing recorded); p = 0: the identity in training too', () => {
    const x = tensor(Array.from({ length: 100 }, (_, i) => i), [10, 10], 'float64');
    expect(new Dropout(0.5).eval().forward(x)).toBe(x);
    expect(new Dropout(0).forward(x)).toBe(x);
  });

  test('training: entries are 0 or x/(1−p), about a fraction p dropped, same seed same mask', () => {
    const x = tensor(Array.from({ length: 4000 }, (_, i) => 1 + (i % 7)), [4000], 'float64');
    const y = new Dropout(0.3, new Rng(7)).forward(x).toFlatArray();
    let dropped = 0;
    y.forEach((v, i) => {
      if (v === 0) dropped++;
      else expect(v).toBeCloseTo(x.get(i) / 0.7, 12);
    });
    expect(Math.abs(dropped / 4000 - 0.3)).toBeLessThan(0.03);
    expect(new Dropout(0.3, new Rng(7)).forward(x).toFlatArray()).toEqual(y);
    expect(new Dropout(0.3, new Rng(8)).forward(x).toFlatArray()).not.toEqual(y);
  });

  test('p outside [0, 1) is rejected', () => {
    for (const p of [-0.1, 1, NaN]) expect(() => new Dropout(p)).toThrow(/Dropout: p must be in \[0, 1\)/);
  });
});

describe('initialisers', () => {
  test.each([[5, 5], [8, 3], [3, 8], [1, 4]] as const)('orthogonal %p: orthonormal rows or columns (whichever fewer), float64 and float32', (r, c) => {
    for (const dtype of ['float64', 'float32'] as const) {
      const m = orthogonal([r, c], new Rng(r * 10 + c), dtype);
      expect(m.dtype).toBe(dtype);
      expect(gramError(m, r <= c)).toBeLessThan(dtype === 'float64' ? 1e-12 : 1e-6);
    }
    const g = orthogonal([r, c], new Rng(1), 'float64', 2); // gain 2: 2 × an orthonormal matrix
    expect(gramError(tensor(g.toFlatArray().map((v) => v / 2), [r, c], 'float64'), r <= c)).toBeLessThan(1e-12);
  });

  test('identity, uniform range, xavier bound', () => {
    expect(identityInit(3, 0.5, 'float64').toFlatArray()).toEqual([0.5, 0, 0, 0, 0.5, 0, 0, 0, 0.5]);
    const u = uniformRange([5000], 0.08, new Rng(1)).toFlatArray();
    expect(Math.max(...u.map(Math.abs))).toBeLessThanOrEqual(0.08);
    expect(Math.max(...u)).toBeGreaterThan(0.079);
    expect(Math.min(...u)).toBeLessThan(-0.079);
    const x = xavierUniform([40, 10], new Rng(2)).toFlatArray().map(Math.abs);
    expect(Math.max(...x)).toBeLessThanOrEqual(Math.sqrt(6 / 50));
    expect(Math.max(...x)).toBeGreaterThan(0.95 * Math.sqrt(6 / 50));
  });
});
