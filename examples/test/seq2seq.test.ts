import { Rng } from '@unfold/tensor';
import { SEQ2SEQ_VOCAB, Seq2Seq, makeReverseDataset } from '@unfold/rnn';
import { attentionSvg, evaluate, trainReversal } from '../src/seq2seq';

// A short version of the example: reversal of 2–4 digit strings, trained for a bounded number
// of steps. An untrained model decodes (almost) nothing right, so the accuracy bar is a real
// test of learning; the full > 99 % on 3–8 digits is what `node examples/dist/seq2seq.js` reports.

test('untrained: near-zero exact match (the bar below is not met by chance)', () => {
  const m = new Seq2Seq({ vocabSize: SEQ2SEQ_VOCAB.length, embeddingDim: 16, hiddenSize: 32, seed: 3 });
  const acc = evaluate(m, makeReverseDataset(300, new Rng(9), { minLen: 2, maxLen: 4 }));
  expect(acc.exactMatch).toBeLessThan(0.05);
  expect(acc.tokenAccuracy).toBeLessThan(0.3);
});

test('learns to reverse 2–4 digit strings: > 90 % exact match on unseen strings', () => {
  const r = trainReversal({
    minLen: 2, maxLen: 4, trainSize: 3000, valSize: 300, testSize: 500, embeddingDim: 16, hiddenSize: 32, batchSize: 32,
    maxSteps: 400, lr: 1e-2, evalEvery: 50, target: 0.98, seed: 2, // a step budget, not a time limit: the result must not depend on machine load
  });
  expect(r.test.src.length).toBeGreaterThan(300);
  expect(r.tokenAccuracy).toBeGreaterThan(0.9);
  expect(r.exactMatch).toBeGreaterThan(0.9);
  // the picture: for reversal, output token i looks hardest at source position L − 1 − i
  const src = r.test.src.find((s) => s.length === 4) as number[];
  const { weights } = r.model.greedyDecode([src], 6);
  const argmaxes = weights[0].map((row) => row.indexOf(Math.max(...row)));
  expect(argmaxes).toEqual([3, 2, 1, 0]);
  expect(attentionSvg(r.model, src)).toMatch(/<svg[\s>]/);
});
