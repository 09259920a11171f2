import { Rng, Tensor, normal } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { gradCheck, noGrad } from '@unfold/autodiff';
import { Adam } from '../src/optim';
import { computeGradients } from '../src/train/gradients';
import { Module } from '../src/nn/module';
import { CausalSelfAttention, CharTransformer, LayerNorm, TransformerBlock } from '../src/models/transformer';

// The Transformer baseline: float64 gradient checks of LayerNorm, attention and a block (w.r.t.
// input and every parameter), causality, LayerNorm statistics, and a short training run.

const randn = (shape: number[], seed: number, std = 1) => normal(shape, 0, std, { rng: new Rng(seed), dtype: 'float64' });

/** gradCheck of m.forward w.r.t. x and all of m's parameters (swapped in for the check). */
function checkModule(m: Module, fwd: (x: Tensor) => Tensor, x: Tensor) {
  const params = m.parameters();
  const originals = params.map((p) => p.value);
  try {
    const rep = gradCheck((xi: Tensor, ...ps: Tensor[]) => {
      ps.forEach((v, i) => (params[i].value = v));
      return fwd(xi);
    }, [x, ...originals], { seed: 3 });
    if (!rep.ok) throw new Error(rep.toString());
    return rep;
  } finally {
    params.forEach((p, i) => (p.value = originals[i]));
  }
}

/** Perturb LayerNorm's γ, β away from 1, 0 so their gradients are checked at a generic point. */
function jiggle(m: Module, seed: number) {
  const rng = new Rng(seed);
  for (const p of m.parameters()) for (let i = 0; i < p.value.size; i++) p.value.data[p.value.offset + i] += 0.3 * (rng.next() - 0.5);
}

describe('gradients (float64 gradCheck w.r.t. input and every parameter)', () => {
  test('LayerNorm', () => {
    const ln = new LayerNorm(5, 1e-5, { dtype: 'float64' });
    jiggle(ln, 1);
    const rep = checkModule(ln, (x) => ln.forward(x), randn([2, 3, 5], 2));
    expect(rep.checked).toBeGreaterThan(20);
  });

  test('causal self-attention, 2 heads', () => {
    const att = new CausalSelfAttention({ dModel: 4, nHeads: 2, rng: new Rng(3), dtype: 'float64' });
    const rep = checkModule(att, (x) => att.forward(x), randn([2, 3, 4], 4));
    expect(rep.checked).toBeGreaterThan(20);
  });

  test.each(['gelu', 'relu'] as const)('pre-LN block (%s)', (activation) => {
    const blk = new TransformerBlock({ dModel: 4, nHeads: 2, mlpRatio: 2, activation, rng: new Rng(5), dtype: 'float64' });
    jiggle(blk, 6);
    const rep = checkModule(blk, (x) => blk.forward(x), randn([2, 3, 4], 7));
    expect(rep.checked).toBeGreaterThan(40);
  });

  test('a wrong gradient is caught (the check can fail)', () => {
    // the variance with its mean held constant (detached): same value, wrong gradient
    const bad = gradCheck((x: Tensor) => {
      const xc = ad.sub(x, ad.detach(ad.mean(x, -1, true)));
      return ad.div(xc, ad.sqrt(ad.add(ad.mean(ad.mul(xc, xc), -1, true), 1e-5)));
    }, [randn([2, 4], 8)]);
    expect(bad.ok).toBe(false);
  });
});

describe('LayerNorm statistics', () => {
  test('each row has mean 0 and (biased) variance 1 at γ = 1, β = 0, any scale and offset', () => {
    const ln = new LayerNorm(16, 1e-5, { dtype: 'float64' });
    const x = ad.add(randn([3, 4, 16], 9, 50), 1000);
    const y = ln.forward(x);
    for (let r = 0; r < 12; r++) {
      let s = 0;
      let s2 = 0;
      for (let j = 0; j < 16; j++) s += y.data[r * 16 + j];
      const m = s / 16;
      for (let j = 0; j < 16; j++) s2 += (y.data[r * 16 + j] - m) ** 2;
      expect(Math.abs(m)).toBeLessThan(1e-9);
      expect(s2 / 16).toBeCloseTo(1, 6); // ε = 1e-5 against variance ≈ 2500
    }
  });

  test('rejects a wrong feature size, naming the shapes', () => {
    expect(() => new LayerNorm(4).forward(randn([2, 5], 1))).toThrow(/LayerNorm.*\[2,\s?5\].*4/);
  });
});

describe('causality', () => {
  test('changing token t+1 leaves logits at positions ≤ t unchanged and changes later ones', () => {
    const V = 7;
    const T = 6;
    const B = 2;
    const m = new CharTransformer({ vocabSize: V, dModel: 8, nHeads: 2, nLayers: 2, blockSize: T, seed: 1, dtype: 'float64' });
    const rng = new Rng(2);
    const ids = Array.from({ length: T * B }, () => rng.int(0, V));
    const base = noGrad(() => m.forward(ids, [T, B]).logits).contiguous();
    for (const t1 of [1, 3, 5]) {
      const alt = ids.slice();
      for (let b = 0; b < B; b++) alt[t1 * B + b] = (alt[t1 * B + b] + 1) % V;
      const y = noGrad(() => m.forward(alt, [T, B]).logits).contiguous();
      for (let t = 0; t < T; t++) {
        let diff = 0;
        for (let i = 0; i < B * V; i++) diff = Math.max(diff, Math.abs(y.data[t * B * V + i] - base.data[t * B * V + i]));
        if (t < t1) expect(diff).toBe(0);
        else expect(diff).toBeGreaterThan(1e-8);
      }
    }
  });

  test('attention weights are exactly 0 above the diagonal and rows sum to 1', () => {
    const att = new CausalSelfAttention({ dModel: 4, nHeads: 2, rng: new Rng(3), dtype: 'float64' });
    const w = att.forwardFull(randn([2, 5, 4], 4)).weights.contiguous(); // [B,h,T,T]
    for (let r = 0; r < 2 * 2 * 5; r++) {
      const i = r % 5;
      let s = 0;
      for (let j = 0; j < 5; j++) {
        const v = w.data[r * 5 + j];
        if (j > i) expect(v).toBe(0);
        s += v;
      }
      expect(s).toBeCloseTo(1, 12);
    }
  });
});

describe('CharTransformer', () => {
  test('stateDict names and parameter count', () => {
    const m = new CharTransformer({ vocabSize: 5, dModel: 8, nHeads: 2, nLayers: 1, blockSize: 4 });
    const names = Object.keys(m.stateDict());
    expect(names).toEqual(expect.arrayContaining(['tok_emb', 'pos_emb', 'h.0.ln_1.weight', 'h.0.attn.qkv.weight', 'h.0.attn.proj.bias', 'h.0.mlp_fc.weight', 'h.0.mlp_proj.bias', 'ln_f.bias', 'head.weight']));
    // emb 5·8 + pos 4·8 + block (2·2·8 + 8·24+24 + 8·8+8 + 8·32+32 + 32·8+8) + ln_f 16 + head 8·5+5
    expect(m.numParameters()).toBe(40 + 32 + (32 + 216 + 72 + 288 + 264) + 16 + 45);
  });

  test('errors: T beyond blockSize, bad ids', () => {
    const m = new CharTransformer({ vocabSize: 5, dModel: 8, nHeads: 2, nLayers: 1, blockSize: 4 });
    expect(() => m.loss(new Array(10).fill(0), new Array(10).fill(0), [5, 2])).toThrow(/CharTransformer.*T = 5 exceeds blockSize 4/);
    expect(() => m.loss([0, 9], [0, 1], [2, 1])).toThrow(/CharTransformer.*input\[1\] = 9/);
    expect(() => new CausalSelfAttention({ dModel: 6, nHeads: 4 })).toThrow(/dModel 6.*nHeads 4/);
  });

  test('learns a repeated string (loss falls far below uniform)', () => {
    const text = 'hello world! ';
    const chars = [...new Set(text)];
    const V = chars.length;
    const T = 12;
    const B = 8;
    const m = new CharTransformer({ vocabSize: V, dModel: 16, nHeads: 2, nLayers: 1, blockSize: T, seed: 3 });
    const opt = new Adam(m.parameters(), { lr: 1e-2 });
    const rng = new Rng(4);
    const at = (i: number) => chars.indexOf(text[i % text.length]);
    const batch = () => {
      const x = new Array(T * B);
      const y = new Array(T * B);
      for (let b = 0; b < B; b++) {
        const s = rng.int(0, text.length);
        for (let t = 0; t < T; t++) {
          x[t * B + b] = at(s + t);
          y[t * B + b] = at(s + t + 1);
        }
      }
      return { x, y };
    };
    const first = batch();
    const before = m.evaluate(first.x, first.y, [T, B]);
    expect(before).toBeGreaterThan(0.8 * Math.log(V));
    for (let s = 0; s < 150; s++) {
      const { x, y } = batch();
      computeGradients(m, () => m.loss(x, y, [T, B]));
      opt.step();
    }
    const { x, y } = batch();
    // after the first character the string is deterministic; only position 0 of a window is ambiguous (~1 of 12)
    expect(m.evaluate(x, y, [T, B])).toBeLessThan(0.35);
  });
});

test('CharTransformer.loss (one linearCrossEntropy record) equals crossEntropy of forward()\'s logits (float64)', () => {
  const m = new CharTransformer({ vocabSize: 7, dModel: 8, nHeads: 2, nLayers: 1, blockSize: 6, seed: 1, dtype: 'float64' });
  const x = [0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4];
  const y = x.map((v) => (v + 1) % 7);
  const twin = ad.crossEntropy(ad.reshape(m.forward(x, [6, 2]).logits, [-1, 7]), y).item();
  expect(Math.abs(m.loss(x, y, [6, 2]).loss.item() - twin)).toBeLessThan(1e-13);
});
