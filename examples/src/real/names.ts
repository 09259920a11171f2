/**
 * Many-to-one on real text: a first name → listed as female, male or both (@stdlib's English
 * first-name lists). A character GRU/LSTM (the sentiment example's classifier over characters)
 * against a character n-gram naive Bayes and the majority class.
 *
 *   npm run example -- names [--cell gru|lstm]
 */
import { Rng } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { LogMode, SequenceExample, SequenceTask, fit } from '@unfold/rnn';
import { SentimentClassifier } from '../sentiment';
import { agreement, mostFrequent, pct, sayer, splitIndices } from '../common';
import { loadFirstNames } from './data';

export const NAME_CLASSES = ['female', 'male', 'both'] as const;

export interface NameData {
  names: string[];
  labels: number[];
  /** Character vocabulary; id 0 is padding. */
  chars: string[];
  train: number[];
  val: number[];
  test: number[];
}

/** Every distinct name (lower case) with its class, split 80/10/10 at random with `seed`. */
export function nameData(seed: number): NameData {
  const { female, male } = loadFirstNames();
  const f = new Set(female.map((s) => s.toLowerCase()));
  const m = new Set(male.map((s) => s.toLowerCase()));
  const names = [...new Set([...f, ...m])].sort();
  const labels = names.map((n) => (f.has(n) && m.has(n) ? 2 : f.has(n) ? 0 : 1));
  const chars = ['<pad>', ...[...new Set(names.join(''))].sort()];
  const N = names.length;
  const nTest = Math.round(N / 10);
  const [train, val, test] = splitIndices(N, [N - 2 * nTest, nTest, nTest], new Rng(seed));
  return { names, labels, chars, train, val, test };
}

export function encodeName(name: string, chars: readonly string[]): number[] {
  return [...name].map((c) => {
    const i = chars.indexOf(c);
    return i < 1 ? 0 : i;
  });
}

/**
 * Naive Bayes over character n-grams (1 … n, the name padded with ^ and $), add-α smoothing:
 * argmax_c log P(c) + Σ_g log P(g | c). It sees endings ("-a", "-ine") and beginnings, not order
 * beyond n characters: the baseline the recurrence has to beat.
 */
export function ngramNaiveBayes(names: readonly string[], labels: readonly number[], classes: number, n = 3, alpha = 0.5): (name: string) => number {
  const grams = (s: string): string[] => {
    const p = `^${s}$`;
    const out: string[] = [];
    for (let k = 1; k <= n; k++) for (let i = 0; i + k <= p.length; i++) out.push(p.slice(i, i + k));
    return out;
  };
  const counts = Array.from({ length: classes }, () => new Map<string, number>());
  const totals = new Float64Array(classes);
  const prior = new Float64Array(classes);
  const vocab = new Set<string>();
  names.forEach((s, i) => {
    prior[labels[i]]++;
    for (const g of grams(s)) {
      counts[labels[i]].set(g, (counts[labels[i]].get(g) ?? 0) + 1);
      totals[labels[i]]++;
      vocab.add(g);
    }
  });
  const V = vocab.size + 1; // + 1: an unseen gram
  return (name) => {
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < classes; c++) {
      let s = Math.log(prior[c] / names.length);
      for (const g of grams(name)) s += Math.log(((counts[c].get(g) ?? 0) + alpha) / (totals[c] + alpha * V));
      if (s > bestScore) {
        bestScore = s;
        best = c;
      }
    }
    return best;
  };
}

/** confusion[truth][predicted]. */
export function confusion(truth: ArrayLike<number>, pred: ArrayLike<number>, classes: number): number[][] {
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < truth.length; i++) m[truth[i]][pred[i]]++;
  return m;
}

export interface NamesOptions {
  cell?: 'gru' | 'lstm';
  /** Use only this many training names (a small slice for tests). */
  trainSize?: number;
  hiddenSize?: number;
  epochs?: number;
  timeBudgetSec?: number;
  seed?: number;
  quiet?: boolean;
  log?: LogMode;
}

export interface NamesResult {
  accuracy: number;
  naiveBayes: number;
  majority: number;
  confusion: number[][];
  wrong: { name: string; truth: string; predicted: string }[];
  trainSeconds: number;
  steps: number;
  nTrain: number;
  nTest: number;
}

export function runNames(o: NamesOptions = {}): NamesResult {
  const say = sayer(o.quiet);
  const seed = o.seed ?? 1;
  const d = nameData(seed);
  const trainIdx = d.train.slice(0, o.trainSize ?? d.train.length);
  const ex = (i: number): SequenceExample => ({ ids: encodeName(d.names[i], d.chars), label: d.labels[i] });
  const train = trainIdx.map(ex);
  const val = d.val.map(ex);
  const test = d.test.map(ex);
  const model = new SentimentClassifier({ cell: o.cell ?? 'gru', vocabSize: d.chars.length, embeddingDim: 16, hiddenSize: o.hiddenSize ?? 64, classes: 3, seed: seed + 1 });
  const task = new SequenceTask({
    examples: train, val, batchSize: 32, bucketWidth: 1, rng: new Rng(seed + 2), model, name: 'names',
    lossFn: (b) => ({ loss: ad.crossEntropy(model.logits(b), b.labels!) }),
  });
  say(`names: ${d.names.length} distinct first names (${train.length} train / ${val.length} val / ${test.length} test), ${d.chars.length - 1} characters; ${(o.cell ?? 'gru').toUpperCase()} ${model.o.hiddenSize}, ${model.numParameters()} parameters`);
  const res = fit(model, task, {
    epochs: o.epochs ?? 12, timeBudgetSec: o.timeBudgetSec, optimizer: { name: 'adam', lr: 5e-3 }, clipNorm: 5,
    valEvery: task.batchesPerEpoch, earlyStopping: { patience: 3, restoreBest: true }, log: o.log ?? (o.quiet ? 'none' : 'auto'),
  });
  const pred = model.predict(test.map((e) => e.ids));
  const truth = test.map((e) => e.label!);
  const nb = ngramNaiveBayes(trainIdx.map((i) => d.names[i]), trainIdx.map((i) => d.labels[i]), 3);
  const nbPred = d.test.map((i) => nb(d.names[i]));
  const maj = mostFrequent(train.map((e) => e.label!));
  const r: NamesResult = {
    accuracy: agreement(pred, truth), naiveBayes: agreement(nbPred, truth), majority: agreement(truth.map(() => maj), truth),
    confusion: confusion(truth, pred, 3),
    wrong: d.test.map((i, k) => ({ name: d.names[i], truth: NAME_CLASSES[truth[k]], predicted: NAME_CLASSES[pred[k]] })).filter((w) => w.truth !== w.predicted),
    trainSeconds: res.seconds, steps: res.steps, nTrain: train.length, nTest: test.length,
  };
  say(`  trained ${res.steps} steps in ${res.seconds.toFixed(1)} s`);
  say(`  test accuracy: ${(o.cell ?? 'gru').toUpperCase()} ${pct(r.accuracy)}   char 1–3-gram naive Bayes ${pct(r.naiveBayes)}   majority class (${NAME_CLASSES[maj]}) ${pct(r.majority)}`);
  say(`  confusion (rows: listed as, columns: predicted)`);
  say(`    ${''.padEnd(8)}${NAME_CLASSES.map((c) => c.padStart(8)).join('')}`);
  r.confusion.forEach((row, c) => say(`    ${NAME_CLASSES[c].padEnd(8)}${row.map((v) => String(v).padStart(8)).join('')}`));
  say(`  some names it gets wrong: ${r.wrong.slice(0, 16).map((w) => `${w.name} (${w.truth}→${w.predicted})`).join(', ')}`);
  return r;
}

if (require.main === module) {
  const i = process.argv.indexOf('--cell');
  runNames({ cell: i > 0 ? (process.argv[i + 1] as 'gru' | 'lstm') : 'gru' });
}
