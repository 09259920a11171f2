import { Rng, Tensor, TensorError } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { gradCheck, noGrad } from '@unfold/autodiff';
import { Adam, EOS_ID, PAD_ID, SEQ2SEQ_VOCAB, SOS_ID, clipGradNorm, computeGradients, makeReverseDataset } from '@unfold/rnn';
import { Seq2Seq, Seq2SeqOptions, makeSeq2SeqBatch } from '../src/models/seq2seq';

// The attention encoder–decoder: shapes and names, exact masking of padded sources and
// targets, float64 gradient checks of the whole loss, greedy decoding against the
// teacher-forced pass, a short fit, and errors.

const V = SEQ2SEQ_VOCAB.length;
const tiny = (o: Partial<Seq2SeqOptions> = {}): Seq2Seq =>
  new Seq2Seq({ vocabSize: V, embeddingDim: 3, hiddenSize: 4, attentionSize: 3, dtype: 'float64', seed: 7, ...o });

// three examples with different source and target lengths (so both sides are padded)
const ds = { src: [[3, 4, 5], [6], [7, 8]], tgtIn: [[SOS_ID, 5, 4, 3], [SOS_ID, 6], [SOS_ID, 8, 7]], tgtOut: [[5, 4, 3, EOS_ID], [6, EOS_ID], [8, 7, EOS_ID]] };

const VARIANTS: [string, Partial<Seq2SeqOptions>][] = [
  ['gru, general', { cell: 'gru', attention: 'general' }],
  ['gru, dot, bidirectional', { cell: 'gru', attention: 'dot', bidirectional: true }],
  ['lstm, bahdanau', { cell: 'lstm', attention: 'bahdanau' }],
  ['lstm, general, bidirectional', { cell: 'lstm', attention: 'general', bidirectional: true }],
];

describe('shapes and names', () => {
  test('forward gives [T,B,V] logits and one [B,S] weight matrix per step', () => {
    const m = tiny();
    const { logits, weights } = noGrad(() => m.forward(makeSeq2SeqBatch(ds)));
    expect(logits.shape).toEqual([4, 3, V]);
    expect(weights).toHaveLength(4);
    weights.forEach((w) => expect(w.shape).toEqual([3, 3]));
    // example 1 has one source token: all its weight on position 0, exactly 0 elsewhere
    weights.forEach((w) => expect([w.get(1, 0), w.get(1, 1), w.get(1, 2)]).toEqual([expect.closeTo(1, 12), 0, 0]));
  });

  test('PyTorch-style parameter names', () => {
    const names = tiny({ cell: 'lstm', attention: 'bahdanau', bidirectional: true }).namedParameters().map(([n, p]) => `${n} [${p.value.shape.join(',')}]`);
    expect(names).toEqual([
      'src_embedding.weight [14,3]',
      'tgt_embedding.weight [14,3]',
      'encoder.weight_ih_l0 [8,3]', 'encoder.weight_hh_l0 [8,2]', 'encoder.bias_ih_l0 [8]', 'encoder.bias_hh_l0 [8]',
      'encoder.weight_ih_l0_reverse [8,3]', 'encoder.weight_hh_l0_reverse [8,2]', 'encoder.bias_ih_l0_reverse [8]', 'encoder.bias_hh_l0_reverse [8]',
      'decoder.weight_ih [16,7]', 'decoder.weight_hh [16,4]', 'decoder.bias_ih [16]', 'decoder.bias_hh [16]',
      'attention.key_weight [3,4]', 'attention.query_weight [3,4]', 'attention.v [3]',
      'attn_combine.weight [4,8]', 'attn_combine.bias [4]',
      'out.weight [14,4]', 'out.bias [14]',
    ]);
  });
});

describe('masking is exact', () => {
  test.each(VARIANTS)('%s: batch loss · tokens = Σ per-example loss · tokens (padding changes nothing)', (_n, o) => {
    const m = tiny(o);
    const all = noGrad(() => m.loss(makeSeq2SeqBatch(ds)));
    expect(all.tokens).toBe(4 + 2 + 3);
    let sum = 0;
    for (let i = 0; i < 3; i++) {
      const one = noGrad(() => m.loss(makeSeq2SeqBatch(ds, [i])));
      sum += one.loss.item() * one.tokens;
    }
    expect(all.loss.item() * all.tokens).toBeCloseTo(sum, 10);
  });

  test('padding ids get exactly zero embedding gradient, real ids do not', () => {
    const m = tiny({ cell: 'gru', attention: 'general', bidirectional: true });
    computeGradients(m, () => m.loss(makeSeq2SeqBatch(ds)));
    for (const name of ['src_embedding.weight', 'tgt_embedding.weight']) {
      const g = m.param(name).grad as Tensor;
      for (let j = 0; j < 3; j++) expect(g.get(PAD_ID, j)).toBe(0);
      expect(Math.abs(g.get(name.startsWith('src') ? 3 : SOS_ID, 0))).toBeGreaterThan(0);
    }
  });
});

describe('gradients: float64 gradCheck of the loss w.r.t. every parameter', () => {
  test.each(VARIANTS)('%s', (_n, o) => {
    const m = tiny(o);
    const params = m.parameters();
    const originals = params.map((p) => p.value);
    const batch = makeSeq2SeqBatch(ds);
    const f = (...ps: Tensor[]): Tensor => {
      ps.forEach((v, i) => (params[i].value = v));
      return m.loss(batch).loss;
    };
    try {
      const rep = gradCheck(f, originals, { maxElementsPerInput: 4, seed: 9 });
      if (!rep.ok) throw new Error(rep.toString());
      expect(rep.ok).toBe(true);
    } finally {
      params.forEach((p, i) => (p.value = originals[i]));
    }
  });
});

describe('greedy decoding', () => {
  test('tokens stop before EOS; one weight row per token over the example’s own source', () => {
    const m = tiny({ attention: 'dot' });
    const { tokens, weights } = m.greedyDecode(ds.src, 5);
    expect(tokens).toHaveLength(3);
    tokens.forEach((toks, b) => {
      expect(toks.length).toBeLessThanOrEqual(5);
      expect(toks).not.toContain(EOS_ID);
      expect(weights[b]).toHaveLength(toks.length);
      weights[b].forEach((row) => {
        expect(row).toHaveLength(ds.src[b].length);
        expect(row.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 12);
      });
    });
  });

  test('agrees with the teacher-forced pass fed its own output', () => {
    const m = tiny({ cell: 'lstm', attention: 'bahdanau', seed: 3 });
    const { tokens } = m.greedyDecode(ds.src, 6);
    // feed back what greedy emitted: at every step the argmax must be the next emitted token
    const b = makeSeq2SeqBatch({ src: ds.src, tgtIn: tokens.map((t) => [SOS_ID, ...t]), tgtOut: tokens.map((t) => [...t, EOS_ID]) });
    const { logits } = noGrad(() => m.forward(b));
    const [T, B] = logits.shape;
    for (let i = 0; i < B; i++) {
      for (let t = 0; t < Math.min(T, tokens[i].length); t++) {
        let best = 0;
        for (let v = 1; v < V; v++) if (logits.get(t, i, v) > logits.get(t, i, best)) best = v;
        expect(best).toBe(tokens[i][t]);
      }
    }
  });

  test('training mode is restored after decoding', () => {
    const m = tiny();
    m.train(true);
    m.greedyDecode(ds.src, 2);
    expect(m.training).toBe(true);
  });
});

test('learns: a few Adam steps on a fixed batch of reversals cut the loss by 3×', () => {
  const data = makeReverseDataset(16, new Rng(2), { minLen: 2, maxLen: 3 });
  const m = new Seq2Seq({ vocabSize: V, embeddingDim: 8, hiddenSize: 16, seed: 1 });
  const opt = new Adam(m.parameters(), { lr: 2e-2 });
  const batch = makeSeq2SeqBatch(data);
  const first = noGrad(() => m.loss(batch).loss.item());
  for (let i = 0; i < 40; i++) {
    computeGradients(m, () => m.loss(batch));
    clipGradNorm(m.parameters(), 2);
    opt.step();
  }
  const last = noGrad(() => m.loss(batch).loss.item());
  expect(first).toBeGreaterThan(2); // ≈ log 14 at init
  expect(last).toBeLessThan(first / 3);
});

describe('errors', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['unknown option', () => new Seq2Seq({ vocabSize: V, hidden: 4 } as never), /Seq2Seq.*unknown option hidden/],
    ['odd hidden with bidirectional', () => new Seq2Seq({ vocabSize: V, hiddenSize: 5, bidirectional: true }), /hiddenSize 5 must be even/],
    ['unknown attention', () => new Seq2Seq({ vocabSize: V, attention: 'concat' as never }), /attention must be 'dot', 'general' or 'bahdanau', got 'concat'/],
    ['unknown cell', () => new Seq2Seq({ vocabSize: V, cell: 'rnn' as never }), /cell must be 'gru' or 'lstm', got 'rnn'/],
    ['vocab too small', () => new Seq2Seq({ vocabSize: 2 }), /vocabSize 2 must include the pad, start and end ids/],
    ['id out of range', () => tiny().loss(makeSeq2SeqBatch({ ...ds, src: [[3, 40], [6], [7]] })), /src id 40 at flat index \d+ is not in \[0, vocabSize 14\)/],
    ['batch mismatch', () => tiny().loss({ ...makeSeq2SeqBatch(ds), tgtOut: makeSeq2SeqBatch(ds, [0, 1]).tgtOut }), /batch shapes disagree: src \[3,3\], tgtIn \[4,3\], tgtOut \[4,2\]/],
    ['maxLen', () => tiny().greedyDecode(ds.src, 0), /greedyDecode.*maxLen must be a positive integer, got 0/],
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

test('Seq2Seq.loss (one linearCrossEntropy record, padding weighs 0) equals crossEntropy of forward()\'s logits (float64)', () => {
  const m = tiny({ cell: 'lstm', attention: 'general' });
  const batch = makeSeq2SeqBatch(ds);
  const w = batch.tgtOut.mask.toFlatArray();
  const twin = ad.crossEntropy(ad.reshape(m.forward(batch).logits, [-1, V]), batch.tgtOut.ids, { weights: w }).item();
  expect(Math.abs(m.loss(batch).loss.item() - twin)).toBeLessThan(1e-13);
});
