/**
 * Spoken digits: a GRU reads the 16-band log-mel frames of "zero" … "nine" (espeak-ng, made by
 * makeDigits.ts and committed as examples/data/digits.json) and names the digit; tested on
 * voices it never heard: two accents (en-029, en-gb-x-gbcwmd, all four variants of each) are
 * held out. Baseline: multinomial logistic regression on the time-averaged frames (the same
 * features without their order), and the majority class (10 %).
 *
 *   npm run example -- digits
 */
import * as fs from 'fs';
import * as path from 'path';
import { Rng, Tensor, zeros } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { noGrad } from '@unfold/autodiff';
import { Adam, GRU, Linear, Module, clipGradNorm, computeGradients, cosine } from '@unfold/rnn';
import { argmaxRows, agreement, pct, sayer } from '../common';
import type { DigitSet } from './makeDigits';

export const TEST_ACCENTS = ['en-029', 'en-gb-x-gbcwmd'];

export interface Utterance {
  digit: number;
  voice: string;
  accent: string;
  /** [T][16] log-mel, normalised per band with the training set's mean and std. */
  frames: number[][];
}

export function loadDigits(): { train: Utterance[]; test: Utterance[]; mels: number } {
  const file = path.join(__dirname, '..', '..', 'data', 'digits.json');
  const set = JSON.parse(fs.readFileSync(file, 'utf8')) as DigitSet;
  const M = set.mels;
  const all = set.utterances.map((u) => {
    const b = Buffer.from(u.data, 'base64');
    const frames = Array.from({ length: u.frames }, (_, t) => Array.from(b.subarray(t * M, (t + 1) * M), (v) => set.lo + ((set.hi - set.lo) * v) / 255));
    return { digit: u.digit, voice: `${u.accent}+${u.variant}`, accent: u.accent, frames };
  });
  const train = all.filter((u) => !TEST_ACCENTS.includes(u.accent));
  const test = all.filter((u) => TEST_ACCENTS.includes(u.accent));
  const mean = new Array<number>(M).fill(0);
  const sq = new Array<number>(M).fill(0);
  let n = 0;
  for (const u of train) for (const f of u.frames) f.forEach((v, m) => ((mean[m] += v), (sq[m] += v * v), m === 0 && n++));
  const std = mean.map((s, m) => Math.sqrt(sq[m] / n - (s / n) ** 2) || 1);
  for (const u of all) u.frames = u.frames.map((f) => f.map((v, m) => (v - mean[m] / n) / std[m]));
  return { train, test, mels: M };
}

export class DigitGru extends Module {
  readonly rnn: GRU;
  readonly fc: Linear;
  constructor(mels: number, hidden: number, seed: number) {
    super();
    const rng = new Rng(seed);
    this.rnn = this.registerModule('rnn', new GRU({ inputSize: mels, hiddenSize: hidden, rng }));
    this.fc = this.registerModule('fc', new Linear(hidden, 10, { rng }));
  }
  /** Padded frames [T, B, M] with lengths → logits [B, 10] from each utterance's last frame. */
  forward(us: readonly Utterance[]): Tensor {
    const T = Math.max(...us.map((u) => u.frames.length));
    const M = us[0].frames[0].length;
    const B = us.length;
    const x = zeros([T, B, M]);
    us.forEach((u, b) => u.frames.forEach((f, t) => x.data.set(f, (t * B + b) * M)));
    const { hN } = this.rnn.forward(x, { lengths: us.map((u) => u.frames.length) });
    return this.fc.forward(ad.slice(hN, 0));
  }
}

/** Softmax regression on time-averaged frames, full-batch gradient descent with a little L2. */
export function averagedLogistic(train: readonly Utterance[], iters = 2000, lr = 0.5, l2 = 1e-3): (u: Utterance) => number {
  const avg = (u: Utterance): number[] => u.frames[0].map((_, m) => u.frames.reduce((a, f) => a + f[m], 0) / u.frames.length).concat([1]);
  const X = train.map(avg);
  const D = X[0].length;
  const W = Array.from({ length: 10 }, () => new Float64Array(D));
  const probs = (x: number[]): number[] => {
    const z = W.map((w) => w.reduce((a, v, i) => a + v * x[i], 0));
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  };
  for (let it = 0; it < iters; it++) {
    const G = Array.from({ length: 10 }, () => new Float64Array(D));
    X.forEach((x, n) => {
      const p = probs(x);
      for (let c = 0; c < 10; c++) {
        const g = p[c] - (train[n].digit === c ? 1 : 0);
        for (let i = 0; i < D; i++) G[c][i] += g * x[i];
      }
    });
    for (let c = 0; c < 10; c++) for (let i = 0; i < D; i++) W[c][i] -= lr * (G[c][i] / X.length + l2 * W[c][i]);
  }
  return (u) => {
    const p = probs(avg(u));
    return p.indexOf(Math.max(...p));
  };
}

export interface DigitsResult {
  accuracy: number;
  logistic: number;
  majority: number;
  steps: number;
  trainSeconds: number;
  nTrain: number;
  nTest: number;
  confusedPairs: string[];
}

export function runDigits(o: { steps?: number; hiddenSize?: number; seed?: number; quiet?: boolean; logisticIters?: number } = {}): DigitsResult {
  const say = sayer(o.quiet);
  const { train, test, mels } = loadDigits();
  const seed = o.seed ?? 1;
  const model = new DigitGru(mels, o.hiddenSize ?? 64, seed);
  const params = model.parameters();
  const steps = o.steps ?? 800;
  const opt = new Adam(params, { lr: 5e-3 });
  const sched = cosine(5e-3, steps, 1e-4);
  const rng = new Rng(seed + 1);
  say(`digits: ${train.length} training utterances (${new Set(train.map((u) => u.voice)).size} voices), ${test.length} test utterances from ${new Set(test.map((u) => u.voice)).size} unseen voices (${TEST_ACCENTS.join(', ')}); GRU ${model.rnn.hiddenSize}, ${model.numParameters()} parameters`);
  const t0 = Date.now();
  for (let s = 0; s < steps; s++) {
    const batch = Array.from({ length: 32 }, () => train[Math.floor(rng.next() * train.length)]);
    model.train(true);
    computeGradients(model, () => ({ loss: ad.crossEntropy(model.forward(batch), Int32Array.from(batch, (u) => u.digit)) }));
    clipGradNorm(params, 2);
    opt.lr = sched(s);
    opt.step();
  }
  const trainSeconds = (Date.now() - t0) / 1000;
  model.eval();
  const pred = noGrad(() => argmaxRows(model.forward(test)));
  const truth = test.map((u) => u.digit);
  const lr = averagedLogistic(train, o.logisticIters);
  const counts = new Map<string, number>();
  test.forEach((u, i) => {
    if (pred[i] !== u.digit) counts.set(`${u.digit}→${pred[i]}`, (counts.get(`${u.digit}→${pred[i]}`) ?? 0) + 1);
  });
  const r: DigitsResult = {
    accuracy: agreement(pred, truth), logistic: agreement(test.map(lr), truth), majority: 0.1, steps, trainSeconds, nTrain: train.length, nTest: test.length,
    confusedPairs: [...counts].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, v]) => `${k} ×${v}`),
  };
  r.majority = Math.max(...Array.from({ length: 10 }, (_, c) => truth.filter((t) => t === c).length)) / truth.length;
  say(`  trained ${steps} steps in ${trainSeconds.toFixed(1)} s`);
  say(`  unseen voices: GRU ${pct(r.accuracy)}   logistic regression on averaged frames ${pct(r.logistic)}   majority ${pct(r.majority)}`);
  say(`  most frequent confusions (digit→predicted): ${r.confusedPairs.join(', ') || 'none'}`);
  return r;
}

if (require.main === module) runDigits();
