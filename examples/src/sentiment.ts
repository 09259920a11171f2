// Many-to-one: a sentence → one label. Embedding → LSTM/GRU over the padded batch with
// `lengths` (each sentence's final state is read at its own last word) → Linear → softmax.
//
//   npx tsc -b && node examples/dist/sentiment.js
import { Rng, Tensor } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { noGrad } from '@unfold/autodiff';
import {
  Embedding, GRU, LSTM, Linear, LogMode, Module, RecurrentLayer, SequenceExample, SequenceTask, bucketByLength, fit, makeSentimentDataset, padSequences,
} from '@unfold/rnn';
import { IdBatch, agreement, argmaxRows, mostFrequent, pct, sayer } from './common';

export interface SentimentModelOptions {
  cell: 'lstm' | 'gru';
  vocabSize: number;
  embeddingDim: number;
  hiddenSize: number;
  classes: number;
  seed: number;
}

export class SentimentClassifier extends Module {
  readonly embedding: Embedding;
  readonly rnn: RecurrentLayer;
  readonly fc: Linear;

  constructor(readonly o: SentimentModelOptions) {
    super();
    const rng = new Rng(o.seed);
    this.embedding = this.registerModule('embedding', new Embedding(o.vocabSize, o.embeddingDim, { rng }));
    const rnnOpts = { inputSize: o.embeddingDim, hiddenSize: o.hiddenSize, rng };
    this.rnn = this.registerModule('rnn', o.cell === 'lstm' ? new LSTM({ ...rnnOpts, init: { forgetBias: 1 } }) : new GRU(rnnOpts));
    this.fc = this.registerModule('fc', new Linear(o.hiddenSize, o.classes, { rng }));
  }

  /** ids [T, B] → logits [B, C], from each sentence's state after its last real word. */
  logits(b: IdBatch): Tensor {
    const [T, B] = b.shape;
    const x = ad.reshape(this.embedding.forward(b.ids), [T, B, this.o.embeddingDim]); // [T, B, E]
    const { hN } = this.rnn.forward(x, { lengths: b.lengths }); // hN:[1, B, H], frozen past each length
    return this.fc.forward(ad.slice(hN, 0)); // [B, H] → [B, C]
  }

  /** Predicted class of each sequence (eval mode, no tape), batched by length. */
  predict(seqs: readonly (readonly number[])[], batchSize = 64): Int32Array {
    const out = new Int32Array(seqs.length);
    const was = this.training;
    this.eval();
    try {
      noGrad(() => {
        for (const idx of bucketByLength(seqs.map((s) => s.length), { batchSize, bucketWidth: 4 })) {
          const p = padSequences(idx.map((i) => seqs[i] as number[]));
          argmaxRows(this.logits(p)).forEach((c, k) => (out[idx[k]] = c));
        }
      });
    } finally {
      this.train(was);
    }
    return out;
  }
}

export interface SentimentRunOptions {
  cell?: 'lstm' | 'gru';
  nTrain?: number;
  nVal?: number;
  nTest?: number;
  hiddenSize?: number;
  embeddingDim?: number;
  batchSize?: number;
  lr?: number;
  epochs?: number;
  steps?: number;
  timeBudgetSec?: number;
  seed?: number;
  log?: LogMode;
  quiet?: boolean;
}

export interface SentimentResult {
  cell: string;
  testAccuracy: number;
  /** Accuracy of always answering the training set's most frequent label. */
  majorityBaseline: number;
  /** Accuracy of naive Bayes over word counts (order-blind: cannot tell "not good" from "good … not"). */
  bagOfWordsBaseline: number;
  steps: number;
  epochs: number;
  trainSeconds: number;
  valLoss: number;
  model: SentimentClassifier;
}

export function runSentiment(o: SentimentRunOptions = {}): SentimentResult {
  const say = sayer(o.quiet);
  const seed = o.seed ?? 0;
  const cell = o.cell ?? 'lstm';
  const [nTrain, nVal, nTest] = [o.nTrain ?? 3000, o.nVal ?? 300, o.nTest ?? 1000];
  const data = makeSentimentDataset(nTrain + nVal + nTest, new Rng(seed)); // i.i.d.: contiguous parts are fair splits
  const examples: SequenceExample[] = data.seqs.map((ids, i) => ({ ids, label: data.labels[i] }));
  const train = examples.slice(0, nTrain);
  const val = examples.slice(nTrain, nTrain + nVal);
  const test = examples.slice(nTrain + nVal);

  const model = new SentimentClassifier({
    cell, vocabSize: data.vocab.length, embeddingDim: o.embeddingDim ?? 16, hiddenSize: o.hiddenSize ?? 32, classes: data.labelNames.length, seed: seed + 1,
  });
  const batchSize = o.batchSize ?? 32;
  const task = new SequenceTask({
    examples: train, val, batchSize, bucketWidth: 3, rng: new Rng(seed + 2), model, name: 'sentiment',
    lossFn: (b) => ({ loss: ad.crossEntropy(model.logits(b), b.labels!) }),
  });
  say(`sentiment (many-to-one): ${nTrain}/${nVal}/${nTest} sentences, vocabulary ${data.vocab.length}, ${cell.toUpperCase()} ${model.o.hiddenSize} hidden, ${model.numParameters()} parameters`);
  const res = fit(model, task, {
    epochs: o.epochs ?? (o.steps === undefined && o.timeBudgetSec === undefined ? 8 : undefined),
    steps: o.steps, timeBudgetSec: o.timeBudgetSec, optimizer: { name: 'adam', lr: o.lr ?? 1e-2 }, clipNorm: 5,
    valEvery: task.batchesPerEpoch, log: o.log ?? (o.quiet ? 'none' : 'auto'),
  });

  const pred = model.predict(test.map((e) => e.ids));
  const truth = test.map((e) => e.label!);
  const majority = mostFrequent(train.map((e) => e.label!));
  const result: SentimentResult = {
    cell, testAccuracy: agreement(pred, truth), majorityBaseline: agreement(truth.map(() => majority), truth),
    bagOfWordsBaseline: agreement(naiveBayes(train, data.vocab.length, data.labelNames.length)(test.map((e) => e.ids)), truth),
    steps: res.steps, epochs: res.steps / task.batchesPerEpoch, trainSeconds: res.seconds, valLoss: task.validate(), model,
  };
  say(`  trained ${res.steps} steps (${result.epochs.toFixed(1)} epochs) in ${res.seconds.toFixed(1)} s; validation loss ${result.valLoss.toFixed(4)} nats`);
  say(`  test accuracy ${pct(result.testAccuracy)}  vs  majority-class baseline ${pct(result.majorityBaseline)}, bag-of-words naive Bayes ${pct(result.bagOfWordsBaseline)}`);
  const words = (ids: readonly number[]) => ids.map((i) => data.vocab[i]).join(' ');
  for (let k = 0; k < 5; k++) {
    say(`    ${pred[k] === truth[k] ? '✓' : '✗'} ${data.labelNames[pred[k]].padEnd(8)} "${words(test[k].ids)}"`);
  }
  return result;
}

/**
 * Multinomial naive Bayes with add-one smoothing: argmax_c log P(c) + Σ_w log P(w | c).
 * The order-blind baseline the recurrence has to beat.
 */
export function naiveBayes(train: readonly SequenceExample[], vocabSize: number, classes: number): (seqs: readonly (readonly number[])[]) => number[] {
  const counts = Array.from({ length: classes }, () => new Float64Array(vocabSize).fill(1));
  const totals = new Float64Array(classes).fill(vocabSize);
  const prior = new Float64Array(classes);
  for (const e of train) {
    prior[e.label!]++;
    for (const w of e.ids) {
      counts[e.label!][w]++;
      totals[e.label!]++;
    }
  }
  return (seqs) => seqs.map((ids) => {
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < classes; c++) {
      let s = Math.log(prior[c] / train.length);
      for (const w of ids) s += Math.log(counts[c][w] / totals[c]);
      if (s > bestScore) {
        bestScore = s;
        best = c;
      }
    }
    return best;
  });
}

if (require.main === module) {
  for (const cell of ['lstm', 'gru'] as const) {
    runSentiment({ cell, epochs: 6, timeBudgetSec: 50 });
    process.stdout.write('\n');
  }
}
