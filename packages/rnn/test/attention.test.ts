import fc from 'fast-check';
import { Rng, Tensor, TensorError, normal, tensor } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { gradCheck, grad, noGrad } from '@unfold/autodiff';
import { heatmap } from '@unfold/rnn';
import { Attention, BahdanauAttention, LuongAttention } from '../src/attention';

// Attention: probabilities (rows sum to 1, exact zeros on padding), hand-computed cases for
// each score, float64 gradient checks w.r.t. query, keys and every parameter, and errors.

type Kind = 'dot' | 'general' | 'bahdanau';
const KINDS: Kind[] = ['dot', 'general', 'bahdanau'];

function make(kind: Kind, Hq: number, Hk: number, dtype: 'float32' | 'float64' = 'float64', seed = 1): Attention {
  const rng = new Rng(seed);
  if (kind === 'bahdanau') return new BahdanauAttention({ querySize: Hq, keySize: Hk, attentionSize: 3, rng, dtype });
  return new LuongAttention({ score: kind, querySize: Hq, keySize: Hk, rng, dtype });
}

const randn = (shape: number[], seed: number, dtype: 'float32' | 'float64' = 'float64', std = 1): Tensor =>
  normal(shape, 0, std, { rng: new Rng(seed), dtype });

/** Naive float64 reference of the full attention, from the definitions, over get(). */
function reference(kind: Kind, att: Attention, q: Tensor, keys: Tensor, lengths?: number[]): { context: number[][]; weights: number[][] } {
  const [S, B, Hk] = keys.shape;
  const Hq = q.shape[1];
  const P = att.stateDict();
  const weights: number[][] = [];
  const context: number[][] = [];
  for (let b = 0; b < B; b++) {
    const L = lengths ? lengths[b] : S;
    const e: number[] = [];
    for (let s = 0; s < S; s++) {
      let v = 0;
      if (kind === 'dot') for (let k = 0; k < Hk; k++) v += q.get(b, k) * keys.get(s, b, k);
      else if (kind === 'general') {
        for (let i = 0; i < Hq; i++) for (let k = 0; k < Hk; k++) v += q.get(b, i) * P.weight.get(i, k) * keys.get(s, b, k);
      } else {
        const A = P.v.shape[0];
        for (let a = 0; a < A; a++) {
          let h = 0;
          for (let k = 0; k < Hk; k++) h += P.key_weight.get(a, k) * keys.get(s, b, k);
          for (let i = 0; i < Hq; i++) h += P.query_weight.get(a, i) * q.get(b, i);
          v += P.v.get(a) * Math.tanh(h);
        }
      }
      e.push(s < L ? v : -Infinity);
    }
    const m = Math.max(...e);
    const ex = e.map((v) => Math.exp(v - m));
    const z = ex.reduce((a, c) => a + c, 0);
    const w = ex.map((v) => v / z);
    weights.push(w);
    context.push(Array.from({ length: Hk }, (_, k) => w.reduce((acc, ws, s) => acc + (s < L ? ws * keys.get(s, b, k) : 0), 0)));
  }
  return { context, weights };
}

const rows = (t: Tensor): number[][] => Array.from({ length: t.shape[0] }, (_, i) => Array.from({ length: t.shape[1] }, (_, j) => t.get(i, j)));

describe('attention weights are a distribution over the real positions', () => {
  test.each(KINDS)('%s: matches the float64 reference; rows sum to 1; exactly 0 on padding (random shapes)', (kind) => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 1e6 }), fc.boolean(), fc.constantFrom(1, 30),
        (S, B, Hk, Hq0, seed, masked, scale) => {
          const Hq = kind === 'dot' ? Hk : Hq0;
          const att = make(kind, Hq, Hk, 'float64', seed);
          const q = randn([B, Hq], seed + 1, 'float64', scale);
          const keys = randn([S, B, Hk], seed + 2, 'float64', scale);
          const rng = new Rng(seed + 3);
          const lengths = masked ? Array.from({ length: B }, () => rng.int(1, S + 1)) : undefined;
          const out = noGrad(() => att.forward(q, keys, lengths));
          expect(out.weights.shape).toEqual([B, S]);
          expect(out.context.shape).toEqual([B, Hk]);
          const ref = reference(kind, att, q, keys, lengths);
          for (let b = 0; b < B; b++) {
            let sum = 0;
            for (let s = 0; s < S; s++) {
              const w = out.weights.get(b, s);
              sum += w;
              if (lengths && s >= lengths[b]) expect(w).toBe(0); // exactly, not ≈
              expect(w).toBeCloseTo(ref.weights[b][s], 10);
            }
            expect(sum).toBeCloseTo(1, 12);
            for (let k = 0; k < Hk; k++) expect(out.context.get(b, k)).toBeCloseTo(ref.context[b][k], 9);
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  test.each(KINDS)('%s: padded keys do not matter (huge values there change nothing)', (kind) => {
    const att = make(kind, 4, 4);
    const q = randn([2, 4], 5);
    const keys = randn([5, 2, 4], 6);
    const lengths = [2, 5];
    const a = noGrad(() => att.forward(q, keys, lengths));
    const k2 = keys.clone();
    for (let s = 2; s < 5; s++) for (let k = 0; k < 4; k++) k2.set(1e6 * (k + 1), s, 0, k);
    const b = noGrad(() => att.forward(q, k2, lengths));
    expect(Array.from(b.weights.toFlatArray())).toEqual(Array.from(a.weights.toFlatArray()));
    expect(Array.from(b.context.toFlatArray())).toEqual(Array.from(a.context.toFlatArray()));
  });

  test.each(KINDS)('%s: a masked batch row equals the same example alone with its keys cut to its length', (kind) => {
    const att = make(kind, 3, 3);
    const q = randn([3, 3], 8);
    const keys = randn([4, 3, 3], 9);
    const lengths = [1, 4, 2];
    const all = noGrad(() => att.forward(q, keys, lengths));
    for (let b = 0; b < 3; b++) {
      const one = noGrad(() => att.forward(q.slice({ start: b, stop: b + 1 }), keys.slice({ stop: lengths[b] }, { start: b, stop: b + 1 })));
      for (let s = 0; s < lengths[b]; s++) expect(all.weights.get(b, s)).toBeCloseTo(one.weights.get(0, s), 12);
      for (let k = 0; k < 3; k++) expect(all.context.get(b, k)).toBeCloseTo(one.context.get(0, k), 12);
    }
  });

  test('float32 works and large scores do not overflow (softmax is shifted by the max)', () => {
    const att = new LuongAttention({ score: 'dot', dtype: 'float32' });
    const q = tensor([100, 0], [1, 2], 'float32');
    const keys = tensor([100, 0, 99, 0, -100, 0], [3, 1, 2], 'float32'); // e = 1e4, 9900, −1e4
    const { weights } = noGrad(() => att.forward(q, keys));
    expect(weights.get(0, 0)).toBeCloseTo(1, 6);
    expect(weights.get(0, 2)).toBe(0);
    expect(weights.toFlatArray().every(Number.isFinite)).toBe(true);
  });
});

describe('hand-computed cases', () => {
  const sm = (e: number[]): number[] => {
    const z = e.reduce((a, v) => a + Math.exp(v), 0);
    return e.map((v) => Math.exp(v) / z);
  };

  test('dot: q = [1, 2], keys k0 = [1, 0], k1 = [0, 1], k2 = [1, 1] → e = [1, 2, 3]', () => {
    const att = new LuongAttention({ score: 'dot', dtype: 'float64' });
    const q = tensor([1, 2], [1, 2], 'float64');
    const keys = tensor([1, 0, 0, 1, 1, 1], [3, 1, 2], 'float64');
    const { weights, context } = noGrad(() => att.forward(q, keys));
    const w = sm([1, 2, 3]);
    expect(rows(weights)[0].map((v, i) => v - w[i]).every((d) => Math.abs(d) < 1e-15)).toBe(true);
    expect(context.get(0, 0)).toBeCloseTo(w[0] + w[2], 14);
    expect(context.get(0, 1)).toBeCloseTo(w[1] + w[2], 14);
    // with length 2 the third key is out: e = [1, 2, −∞]
    const m = noGrad(() => att.forward(q, keys, [2]));
    const w2 = sm([1, 2]);
    expect(rows(m.weights)[0]).toEqual([expect.closeTo(w2[0], 14), expect.closeTo(w2[1], 14), 0]);
    expect(m.context.get(0, 0)).toBeCloseTo(w2[0], 14);
  });

  test('general: q W_a with W_a = [[2, 0, 1], [0, 1, 0]] (Hq = 2, Hk = 3)', () => {
    const att = new LuongAttention({ score: 'general', querySize: 2, keySize: 3, dtype: 'float64' });
    att.loadStateDict({ weight: { shape: [2, 3], data: [2, 0, 1, 0, 1, 0] } });
    const q = tensor([1, -1], [1, 2], 'float64'); // q W_a = [2, −1, 1]
    const keys = tensor([1, 0, 0, 0, 1, 0, 0, 0, 3], [3, 1, 3], 'float64'); // e = [2, −1, 3]
    const { weights, context } = noGrad(() => att.forward(q, keys));
    const w = sm([2, -1, 3]);
    rows(weights)[0].forEach((v, i) => expect(v).toBeCloseTo(w[i], 14));
    expect(Array.from(context.toFlatArray()).map((v) => +v.toFixed(12))).toEqual([w[0], w[1], 3 * w[2]].map((v) => +v.toFixed(12)));
  });

  test('bahdanau: A = 2, e = v · tanh(W₁ k + W₂ q)', () => {
    const att = new BahdanauAttention({ querySize: 1, keySize: 2, attentionSize: 2, dtype: 'float64' });
    att.loadStateDict({
      key_weight: { shape: [2, 2], data: [1, 0, 0, 1] }, // W₁ = I
      query_weight: { shape: [2, 1], data: [0.5, -1] }, // W₂ q = [0.5q, −q]
      v: { shape: [2], data: [2, 1] },
    });
    const q = tensor([1], [1, 1], 'float64');
    const keys = tensor([0, 0, 1, 2], [2, 1, 2], 'float64');
    const e = [2 * Math.tanh(0.5) + Math.tanh(-1), 2 * Math.tanh(1.5) + Math.tanh(1)];
    const w = sm(e);
    const { weights, context } = noGrad(() => att.forward(q, keys));
    rows(weights)[0].forEach((v, i) => expect(v).toBeCloseTo(w[i], 14));
    expect(context.get(0, 0)).toBeCloseTo(w[1], 14);
    expect(context.get(0, 1)).toBeCloseTo(2 * w[1], 14);
  });
});

describe('gradients (float64 gradCheck w.r.t. query, keys and every parameter)', () => {
  const cases: [string, number[] | undefined][] = [['unmasked', undefined], ['lengths [3, 1, 4]', [3, 1, 4]]];
  describe.each(KINDS)('%s', (kind) => {
    test.each(cases)('%s', (_name, lengths) => {
      const Hq = kind === 'dot' ? 3 : 2;
      const att = make(kind, Hq, 3, 'float64', 4);
      const params = att.parameters();
      const originals = params.map((p) => p.value);
      const q = randn([3, Hq], 11);
      const keys = randn([4, 3, 3], 12);
      // both outputs at once, so a wrong gradient through either path shows
      const f = (qi: Tensor, ki: Tensor, ...ps: Tensor[]): Tensor => {
        ps.forEach((v, i) => (params[i].value = v));
        const { context, weights } = att.forward(qi, ki, lengths);
        return ad.concat([ad.reshape(context, [-1]), ad.reshape(weights, [-1])], 0);
      };
      try {
        const rep = gradCheck(f, [q, keys, ...originals], { seed: 5 });
        if (!rep.ok) throw new Error(rep.toString());
        expect(rep.ok).toBe(true);
        expect(rep.checked).toBeGreaterThan(20);
      } finally {
        params.forEach((p, i) => (p.value = originals[i]));
      }
    });
  });

  test.each(KINDS)('%s: padded keys get exactly zero gradient', (kind) => {
    const att = make(kind, 3, 3);
    const q = randn([2, 3], 21);
    const keys = randn([4, 2, 3], 22);
    const g = grad((x: { q: Tensor; k: Tensor }) => ad.sum(ad.square(att.forward(x.q, x.k, [2, 4]).context)))({ q, k: keys });
    for (let s = 2; s < 4; s++) for (let k = 0; k < 3; k++) expect(g.k.get(s, 0, k)).toBe(0);
    expect(Math.abs(g.k.get(0, 0, 0)) + Math.abs(g.k.get(3, 1, 0))).toBeGreaterThan(0);
  });

  test('the check can fail: cutting the query path (detach) is caught', () => {
    const keys = randn([3, 2, 2], 31);
    const att = new LuongAttention({ score: 'dot' });
    const rep = gradCheck((q: Tensor) => att.forward(ad.detach(q), keys).weights, [randn([2, 2], 32)]);
    expect(rep.ok).toBe(false);
  });
});

describe('errors name the layer and the shapes', () => {
  const q = randn([2, 3], 1);
  const keys = randn([4, 2, 3], 2);
  const cases: [string, () => unknown, RegExp][] = [
    ['query rank', () => make('general', 3, 3).forward(randn([3], 1), keys), /LuongAttention\(general\).*query must be \[B, Hq\], got \[3\]/],
    ['keys rank', () => make('dot', 3, 3).forward(q, randn([2, 3], 1)), /keys must be \[S, B, Hk\].*got \[2,3\]/],
    ['batch mismatch', () => make('bahdanau', 3, 3).forward(randn([5, 3], 1), keys), /BahdanauAttention.*query \[5,3\] and keys \[4,2,3\]: batch sizes 5 ≠ 2/],
    ['query size', () => make('general', 3, 3).forward(randn([2, 4], 1), keys), /query \[2,4\]: feature size 4 ≠ querySize 3/],
    ['key size', () => make('bahdanau', 3, 5).forward(q, keys), /keys \[4,2,3\]: feature size 3 ≠ keySize 5/],
    ['dot sizes', () => new LuongAttention({ score: 'dot' }).forward(randn([2, 5], 1), keys), /LuongAttention\(dot\).*feature sizes 5 ≠ 3 \(the dot score needs equal sizes/],
    ['dot options', () => new LuongAttention({ score: 'dot', querySize: 2, keySize: 3 }), /querySize 2 ≠ keySize 3/],
    ['general needs sizes', () => new LuongAttention({ score: 'general', querySize: 2 }), /querySize and keySize are required/],
    ['unknown score', () => new LuongAttention({ score: 'concat' as 'dot' }), /score must be 'dot' or 'general', got 'concat'/],
    ['unknown option', () => new BahdanauAttention({ querySize: 2, keySize: 2, size: 3 } as never), /unknown option size/],
    ['lengths count', () => make('dot', 3, 3).forward(q, keys, [1, 2, 3]), /lengths has 3 entries for a batch of 2 \(keys \[4,2,3\]\)/],
    ['length 0', () => make('dot', 3, 3).forward(q, keys, [0, 2]), /lengths\[0\] = 0 is not an integer in \[1, S = 4\]/],
    ['length > S', () => make('dot', 3, 3).forward(q, keys, [2, 5]), /lengths\[1\] = 5 is not an integer in \[1, S = 4\]/],
    ['dtype', () => make('general', 3, 3, 'float32').forward(q, keys), /keys \[4,2,3\] are float64, parameters are float32/],
    ['query dtype', () => new LuongAttention({ score: 'dot' }).forward(randn([2, 3], 1, 'float32'), keys), /query \[2,3\] is float32, keys \[4,2,3\] are float64/],
  ];
  test.each(cases)('%s', (_n, fn, re) => {
    let err: unknown;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TensorError);
    expect((err as Error).message).toMatch(re);
  });
});

describe('as a module', () => {
  test('parameter names and counts', () => {
    expect(make('dot', 3, 3).namedParameters().map(([n]) => n)).toEqual([]);
    expect(make('general', 2, 3).namedParameters().map(([n, p]) => [n, p.value.shape])).toEqual([['weight', [2, 3]]]);
    expect(make('bahdanau', 2, 3).namedParameters().map(([n, p]) => [n, p.value.shape])).toEqual([
      ['key_weight', [3, 3]],
      ['query_weight', [3, 2]],
      ['v', [3]],
    ]);
  });

  test('prepare once, attend at many steps = forward each time', () => {
    const att = make('bahdanau', 3, 3);
    const keys = randn([5, 2, 3], 41);
    const mem = att.prepare(keys, [5, 3]);
    for (let t = 0; t < 3; t++) {
      const q = randn([2, 3], 50 + t);
      const a = noGrad(() => att.attend(q, mem));
      const b = noGrad(() => att.forward(q, keys, [5, 3]));
      expect(Array.from(a.context.toFlatArray())).toEqual(Array.from(b.context.toFlatArray()));
    }
  });

  test('weights plot as a heatmap', () => {
    const att = make('dot', 3, 3);
    const { weights } = noGrad(() => att.forward(randn([2, 3], 1), randn([4, 2, 3], 2), [4, 2]));
    const svg = heatmap({ values: rows(weights), title: 'attention', xLabel: 'source position', yLabel: 'example' });
    expect(svg).toMatch(/^(<\?xml[^>]*\?>\s*)?<svg[\s>]/);
    expect(svg).toContain('attention');
  });
});
