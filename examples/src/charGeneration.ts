// One-to-many: a character LSTM trained on Shakespeare, then run generatively — prime it, then
// feed each sampled character back in. Temperature T rescales the logits (p ∝ exp(z/T)):
// T < 1 sharpens towards the likeliest characters, T > 1 flattens towards uniform; top-k keeps
// only the k likeliest at each step (k = 1 is greedy decoding).
//
//   npx tsc -b && node examples/dist/charGeneration.js
import { Rng } from '@unfold/tensor';
import { CharLMTask, CharRNN, CharVocab, LogMode, fit, sampleIds, splitText } from '@unfold/rnn';
import { loadDefaultCorpus } from '@unfold/cli';
import { sayer } from './common';

export interface GenerateOptions {
  length: number;
  temperature?: number;
  topK?: number;
  seed?: number;
}

/** Text generated after `prime` (prime not included). */
export function generate(model: CharRNN, vocab: CharVocab, prime: string, o: GenerateOptions): string {
  const ids = sampleIds(model, vocab.encode(prime), { length: o.length, temperature: o.temperature ?? 1, topK: o.topK ?? 0, rng: new Rng(o.seed ?? 0) });
  return vocab.decode(ids);
}

/** Cross-entropy (nats/char) of predicting `eval` from `train`'s character frequencies (add-one smoothed): the no-context baseline. */
export function unigramNats(train: ArrayLike<number>, evalIds: ArrayLike<number>, vocabSize: number): number {
  const counts = new Float64Array(vocabSize).fill(1);
  for (let i = 0; i < train.length; i++) counts[train[i]]++;
  const total = train.length + vocabSize;
  let nats = 0;
  for (let i = 0; i < evalIds.length; i++) nats -= Math.log(counts[evalIds[i]] / total);
  return nats / evalIds.length;
}

export interface CharGenRunOptions {
  /** Training text (default: the Shakespeare corpus of loadDefaultCorpus). */
  text?: string;
  hiddenSize?: number;
  numLayers?: number;
  batchSize?: number;
  seqLen?: number;
  lr?: number;
  steps?: number;
  timeBudgetSec?: number;
  valEvery?: number;
  /** Text the samples continue (default "\nHAMLET. ", or the first 5 characters of a given text). */
  prime?: string;
  sampleLength?: number;
  temperatures?: number[];
  topK?: number;
  seed?: number;
  log?: LogMode;
  quiet?: boolean;
}

export interface CharGenResult {
  model: CharRNN;
  vocab: CharVocab;
  steps: number;
  trainSeconds: number;
  /** Validation loss (nats/char) after training, and the unigram baseline on the same text. */
  valNats: number;
  unigramNats: number;
  samples: { temperature: number; topK: number; text: string }[];
}

export function runCharGeneration(o: CharGenRunOptions = {}): CharGenResult {
  const say = sayer(o.quiet);
  const seed = o.seed ?? 0;
  const corpus = o.text === undefined ? loadDefaultCorpus() : { name: 'given text', text: o.text };
  const vocab = CharVocab.fromText(corpus.text);
  const split = splitText(vocab.encode(corpus.text), { val: 0.05, test: 0 });
  const model = new CharRNN({ cell: 'lstm', vocabSize: vocab.size, hiddenSize: o.hiddenSize ?? 64, numLayers: o.numLayers ?? 1, seed: seed + 1 });
  const task = new CharLMTask(model, {
    train: split.train, val: split.val, batchSize: o.batchSize ?? 16, seqLen: o.seqLen ?? 50, maxValWindows: 10, randomOffset: true, rng: new Rng(seed + 2),
  });
  const base = unigramNats(split.train, split.val, vocab.size);
  const bpc = (nats: number) => `${(nats / Math.LN2).toFixed(3)} bpc`;
  say(`char generation (one-to-many): ${corpus.name}`);
  say(`  ${corpus.text.length} characters, vocabulary ${vocab.size}; LSTM ${model.opts.numLayers}×${model.opts.hiddenSize}, ${model.numParameters()} parameters`);
  say(`  unigram baseline on validation: ${bpc(base)}`);
  const res = fit(model, task, {
    steps: o.steps, timeBudgetSec: o.timeBudgetSec ?? (o.steps === undefined ? 60 : undefined), optimizer: { name: 'adam', lr: o.lr ?? 1e-2 }, clipNorm: 5,
    valEvery: o.valEvery, log: o.log ?? (o.quiet ? 'none' : 'auto'),
  });
  const valNats = task.validate();
  say(`  trained ${res.steps} steps in ${res.seconds.toFixed(1)} s; validation ${bpc(valNats)} (unigram ${bpc(base)})`);

  const prime = o.prime ?? (o.text === undefined ? '\nHAMLET. ' : [...corpus.text].slice(0, 5).join(''));
  const length = o.sampleLength ?? 240;
  const samples: CharGenResult['samples'] = [];
  for (const temperature of o.temperatures ?? [0.5, 0.8, 1.0, 1.3]) {
    samples.push({ temperature, topK: 0, text: generate(model, vocab, prime, { length, temperature, seed: seed + 3 }) });
  }
  const k = o.topK ?? 5;
  samples.push({ temperature: 1, topK: k, text: generate(model, vocab, prime, { length, temperature: 1, topK: k, seed: seed + 3 }) });
  samples.push({ temperature: 1, topK: 1, text: generate(model, vocab, prime, { length, topK: 1 }) });
  for (const s of samples) {
    const how = s.topK === 1 ? 'greedy (top-k 1)' : `temperature ${s.temperature}${s.topK ? `, top-k ${s.topK}` : ''}`;
    say(`\n--- ${how} ---\n${prime}${s.text}`);
  }
  return { model, vocab, steps: res.steps, trainSeconds: res.seconds, valNats, unigramNats: base, samples };
}

if (require.main === module) {
  runCharGeneration({ timeBudgetSec: 75, valEvery: 100 });
}
