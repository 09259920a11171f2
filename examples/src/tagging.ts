// Many-to-many, synchronised: one tag per word. Embedding → bidirectional LSTM with `lengths`
// (the reverse direction starts at each sentence's own last word, not at the padding) →
// Linear at every step → cross-entropy weighted by the mask (padding counts for nothing).
//
//   npx tsc -b && node examples/dist/tagging.js
import { Rng, Tensor } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { noGrad } from '@unfold/autodiff';
import {
  Embedding, LSTM, Linear, LogMode, Module, SequenceExample, SequenceTask, bucketByLength, fit, makeTaggingDataset, padSequences,
} from '@unfold/rnn';
import { IdBatch, agreement, argmaxRows, mostFrequent, pct, sayer } from './common';

export interface TaggerOptions {
  vocabSize: number;
  tags: number;
  embeddingDim: number;
  hiddenSize: number;
  bidirectional: boolean;
  seed: number;
}

export class Tagger extends Module {
  readonly embedding: Embedding;
  readonly rnn: LSTM;
  readonly fc: Linear;

  constructor(readonly o: TaggerOptions) {
    super();
    const rng = new Rng(o.seed);
    this.embedding = this.registerModule('embedding', new Embedding(o.vocabSize, o.embeddingDim, { rng }));
    this.rnn = this.registerModule('rnn', new LSTM({ inputSize: o.embeddingDim, hiddenSize: o.hiddenSize, bidirectional: o.bidirectional, init: { forgetBias: 1 }, rng }));
    this.fc = this.registerModule('fc', new Linear(o.hiddenSize * (o.bidirectional ? 2 : 1), o.tags, { rng }));
  }

  /** ids [T, B] → logits [T·B, C] (row t·B + b; rows past a length are garbage-free but meaningless). */
  logits(b: IdBatch): Tensor {
    const [T, B] = b.shape;
    const x = ad.reshape(this.embedding.forward(b.ids), [T, B, this.o.embeddingDim]); // [T, B, E]
    const { output } = this.rnn.forward(x, { lengths: b.lengths }); // [T, B, D·H]: forward ‖ backward states
    return ad.reshape(this.fc.forward(output), [T * B, this.o.tags]); // [T·B, C]
  }

  /** Predicted tags per sentence (eval mode, no tape). */
  predict(seqs: readonly (readonly number[])[], batchSize = 64): number[][] {
    const out: number[][] = seqs.map(() => []);
    const was = this.training;
    this.eval();
    try {
      noGrad(() => {
        for (const idx of bucketByLength(seqs.map((s) => s.length), { batchSize, bucketWidth: 4 })) {
          const p = padSequences(idx.map((i) => seqs[i] as number[])); // [T, B]
          const B = idx.length;
          const best = argmaxRows(this.logits(p));
          idx.forEach((i, b) => {
            for (let t = 0; t < p.lengths[b]; t++) out[i].push(best[t * B + b]);
          });
        }
      });
    } finally {
      this.train(was);
    }
    return out;
  }
}

export interface TaggingRunOptions {
  nTrain?: number;
  nVal?: number;
  nTest?: number;
  hiddenSize?: number;
  embeddingDim?: number;
  bidirectional?: boolean;
  batchSize?: number;
  lr?: number;
  epochs?: number;
  steps?: number;
  timeBudgetSec?: number;
  seed?: number;
  log?: LogMode;
  quiet?: boolean;
}

export interface TaggingResult {
  /** Fraction of test tokens tagged right. */
  tokenAccuracy: number;
  /** Fraction of test sentences with every tag right. */
  sentenceAccuracy: number;
  /** Token accuracy of tagging every word with the most frequent tag of the training set. */
  majorityTagBaseline: number;
  /** Token accuracy of tagging each word with its own most frequent training tag (a unigram tagger). */
  perWordBaseline: number;
  steps: number;
  epochs: number;
  trainSeconds: number;
  valLoss: number;
  model: Tagger;
}

export function runTagging(o: TaggingRunOptions = {}): TaggingResult {
  const say = sayer(o.quiet);
  const seed = o.seed ?? 0;
  const [nTrain, nVal, nTest] = [o.nTrain ?? 2000, o.nVal ?? 200, o.nTest ?? 500];
  const data = makeTaggingDataset(nTrain + nVal + nTest, new Rng(seed));
  const examples: SequenceExample[] = data.seqs.map((ids, i) => ({ ids, tags: data.tags[i] }));
  const train = examples.slice(0, nTrain);
  const val = examples.slice(nTrain, nTrain + nVal);
  const test = examples.slice(nTrain + nVal);

  const model = new Tagger({
    vocabSize: data.vocab.length, tags: data.tagNames.length, embeddingDim: o.embeddingDim ?? 16, hiddenSize: o.hiddenSize ?? 24,
    bidirectional: o.bidirectional ?? true, seed: seed + 1,
  });
  const task = new SequenceTask({
    examples: train, val, batchSize: o.batchSize ?? 32, bucketWidth: 3, rng: new Rng(seed + 2), model, name: 'tagging', unit: 'nats/token',
    lossFn: (b) => {
      const weights = b.mask; // [T, B] → rows t·B + b: 0 on padding, so the mean is over real tokens
      return { loss: ad.crossEntropy(model.logits(b), b.tags!, { weights }), weight: b.lengths.reduce((s, n) => s + n, 0) };
    },
  });
  say(`tagging (many-to-many): ${nTrain}/${nVal}/${nTest} sentences, ${data.vocab.length - 1} words, ${data.tagNames.length} tags; ` +
    `${model.o.bidirectional ? 'bidirectional ' : ''}LSTM ${model.o.hiddenSize} hidden, ${model.numParameters()} parameters`);
  const res = fit(model, task, {
    epochs: o.epochs ?? (o.steps === undefined && o.timeBudgetSec === undefined ? 6 : undefined),
    steps: o.steps, timeBudgetSec: o.timeBudgetSec, optimizer: { name: 'adam', lr: o.lr ?? 1e-2 }, clipNorm: 5,
    valEvery: task.batchesPerEpoch, log: o.log ?? (o.quiet ? 'none' : 'auto'),
  });

  const pred = model.predict(test.map((e) => e.ids));
  const truth = test.map((e) => e.tags!);
  const flatTruth = truth.flat();
  const majority = mostFrequent(train.flatMap((e) => e.tags!));
  const perWord = unigramTagger(train);
  const result: TaggingResult = {
    tokenAccuracy: agreement(pred.flat(), flatTruth),
    sentenceAccuracy: pred.filter((p, i) => p.every((t, k) => t === truth[i][k])).length / test.length,
    majorityTagBaseline: agreement(flatTruth.map(() => majority), flatTruth),
    perWordBaseline: agreement(test.flatMap((e) => e.ids.map((w) => perWord.get(w) ?? majority)), flatTruth),
    steps: res.steps, epochs: res.steps / task.batchesPerEpoch, trainSeconds: res.seconds, valLoss: task.validate(), model,
  };
  say(`  trained ${res.steps} steps (${result.epochs.toFixed(1)} epochs) in ${res.seconds.toFixed(1)} s; validation loss ${result.valLoss.toFixed(4)} nats/token`);
  say(`  test token accuracy ${pct(result.tokenAccuracy)} (whole sentences ${pct(result.sentenceAccuracy)})  vs  ` +
    `most-frequent tag ${pct(result.majorityTagBaseline)}, each word's most frequent tag ${pct(result.perWordBaseline)}`);
  // show sentences the per-word tagger gets wrong: there the previous word decides the tag
  const hard = test.map((e, k) => k).filter((k) => test[k].ids.some((w, t) => perWord.get(w) !== truth[k][t])).slice(0, 3);
  for (const k of hard) {
    say(`    ${test[k].ids.map((w, t) => `${data.vocab[w]}/${data.tagNames[pred[k][t]]}${pred[k][t] === truth[k][t] ? '' : `(≠${data.tagNames[truth[k][t]]})`}`).join(' ')}`);
  }
  return result;
}

/** word id → its most frequent tag in the training set. */
export function unigramTagger(train: readonly SequenceExample[]): Map<number, number> {
  const byWord = new Map<number, number[]>();
  for (const e of train) e.ids.forEach((w, t) => (byWord.get(w) ?? byWord.set(w, []).get(w)!).push(e.tags![t]));
  return new Map([...byWord].map(([w, tags]) => [w, mostFrequent(tags)]));
}

if (require.main === module) {
  runTagging({ epochs: 6, timeBudgetSec: 90 });
}
