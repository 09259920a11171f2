/**
 * One-to-many, conditioned: generate first names conditioned on the list they come from
 * (female / male / both). A character GRU reads [char embedding ; class embedding] at every
 * step; its validation nats per character (the end mark included) against a class-conditioned
 * bigram (add-α, α chosen on the validation split) and an unconditioned unigram, fitted on the
 * same split as the classifier's (names.ts, seed 1). Then samples, and how many are novel.
 *
 *   npm run example -- name-gen
 */
import { Rng, Tensor, logSoftmax } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { noGrad } from '@unfold/autodiff';
import { Adam, Embedding, GRU, Linear, Module, clipGradNorm, computeGradients, cosine, drawFrom, padSequences } from '@unfold/rnn';
import { sayer } from '../common';
import { NAME_CLASSES, nameData } from './names';

const END = 1; // id 1: the boundary mark, read first and emitted last ('.' in makemore)

export class ConditionedNameModel extends Module {
  readonly chars: Embedding;
  readonly cls: Embedding;
  readonly rnn: GRU;
  readonly out: Linear;
  constructor(readonly V: number, readonly E: number, readonly H: number, seed: number) {
    super();
    const rng = new Rng(seed);
    this.chars = this.registerModule('chars', new Embedding(V, E, { rng }));
    this.cls = this.registerModule('cls', new Embedding(3, E, { rng }));
    this.rnn = this.registerModule('rnn', new GRU({ inputSize: 2 * E, hiddenSize: H, rng }));
    this.out = this.registerModule('out', new Linear(H, V, { rng }));
  }
  /** ids [T·B] (time-major), classes [B] → logits [T·B, V] and the final state. */
  forward(ids: Int32Array, T: number, classes: ArrayLike<number>, h0?: Tensor): { logits: Tensor; hN: Tensor } {
    const B = classes.length;
    const c = Int32Array.from({ length: T * B }, (_, k) => classes[k % B]);
    const x = ad.reshape(ad.concat([this.chars.forward(ids), this.cls.forward(c)], 1), [T, B, 2 * this.E]); // [T,B,2E]
    const r = this.rnn.forward(x, { h0 });
    return { logits: this.out.forward(ad.reshape(r.output, [T * B, this.H])), hN: r.hN };
  }
}

export interface NameGenOptions {
  trainSize?: number;
  steps?: number;
  hiddenSize?: number;
  samples?: number;
  seed?: number;
  quiet?: boolean;
}

export interface NameGenResult {
  /** Validation nats per character (end mark included). */
  gru: number;
  bigram: number;
  bigramAlpha: number;
  unigram: number;
  samples: Record<string, string[]>;
  /** Fraction of generated names found in neither list. */
  novel: number;
  /** Fraction of generated names that are in the training split (memorised). */
  inTrain: number;
  steps: number;
  trainSeconds: number;
}

export function runNameGen(o: NameGenOptions = {}): NameGenResult {
  const say = sayer(o.quiet);
  const seed = o.seed ?? 1;
  const d = nameData(seed);
  // ids: 0 pad, 1 end mark, then the characters (the classifier's vocabulary without <pad>)
  const chars = d.chars.slice(1);
  const V = chars.length + 2;
  const enc = (s: string): number[] => [...s].map((ch) => chars.indexOf(ch) + 2);
  const train = d.train.slice(0, o.trainSize ?? d.train.length);
  const val = d.val;
  const model = new ConditionedNameModel(V, 24, o.hiddenSize ?? 128, seed + 3);
  const params = model.parameters();
  const steps = o.steps ?? 2000;
  const opt = new Adam(params, { lr: 5e-3 });
  const sched = cosine(5e-3, steps, 1e-4);
  const rng = new Rng(seed + 4);
  /** NLL summed and token count over names idx, one padded batch. */
  const batchLoss = (idx: readonly number[]): { loss: Tensor; tokens: number } => {
    const inp = padSequences(idx.map((i) => [END, ...enc(d.names[i])]));
    const tgt = padSequences(idx.map((i) => [...enc(d.names[i]), END]));
    const { logits } = model.forward(inp.ids, inp.shape[0], idx.map((i) => d.labels[i]));
    const w = tgt.mask.toFlatArray();
    return { loss: ad.crossEntropy(logits, tgt.ids, { weights: w }), tokens: w.reduce((a, b) => a + b, 0) };
  };
  say(`name generation: ${train.length} training names, ${val.length} validation; GRU ${model.H}, ${model.numParameters()} parameters`);
  const t0 = Date.now();
  for (let s = 0; s < steps; s++) {
    const idx = Array.from({ length: 32 }, () => train[Math.floor(rng.next() * train.length)]);
    model.train(true);
    computeGradients(model, () => batchLoss(idx));
    clipGradNorm(params, 2);
    opt.lr = sched(s);
    opt.step();
  }
  const trainSeconds = (Date.now() - t0) / 1000;
  model.eval();
  const gru = noGrad(() => {
    let nll = 0;
    let n = 0;
    for (let k = 0; k < val.length; k += 256) {
      const r = batchLoss(val.slice(k, k + 256));
      nll += r.loss.item() * r.tokens; // crossEntropy with weights: the weighted mean
      n += r.tokens;
    }
    return nll / n;
  });
  // baselines on the same split
  const seqs = (idx: readonly number[]): { c: number; ids: number[] }[] => idx.map((i) => ({ c: d.labels[i], ids: [END, ...enc(d.names[i]), END] }));
  const tr = seqs(train);
  const va = seqs(val);
  const uni = new Float64Array(V).fill(1);
  for (const s of tr) for (const t of s.ids.slice(1)) uni[t]++;
  const uniTotal = uni.reduce((a, b) => a + b, 0);
  let uniNll = 0;
  let count = 0;
  for (const s of va) for (const t of s.ids.slice(1)) (uniNll -= Math.log(uni[t] / uniTotal)), count++;
  const big = Array.from({ length: 3 }, () => Array.from({ length: V }, () => new Float64Array(V)));
  for (const s of tr) for (let k = 1; k < s.ids.length; k++) big[s.c][s.ids[k - 1]][s.ids[k]]++;
  const bigramNll = (alpha: number): number => {
    let nll = 0;
    for (const s of va) {
      for (let k = 1; k < s.ids.length; k++) {
        const row = big[s.c][s.ids[k - 1]];
        const tot = row.reduce((a, b) => a + b, 0);
        nll -= Math.log((row[s.ids[k]] + alpha) / (tot + alpha * (V - 1))); // V − 1: the pad id is never a target
      }
    }
    return nll / count;
  };
  const alphas = [0.01, 0.03, 0.1, 0.3, 1];
  const bigramAlpha = alphas.reduce((a, b) => (bigramNll(b) < bigramNll(a) ? b : a));
  // samples, conditioned on each class
  const sampleRng = new Rng(seed + 5);
  const nSamples = o.samples ?? 200;
  const samples: Record<string, string[]> = {};
  const all = new Set(d.names);
  const trainSet = new Set(train.map((i) => d.names[i]));
  let novel = 0;
  let inTrain = 0;
  noGrad(() => {
    for (let c = 0; c < 3; c++) {
      const out: string[] = [];
      for (let n = 0; n < nSamples; n++) {
        let h: Tensor | undefined;
        let prev = END;
        let s = '';
        for (let t = 0; t < 20; t++) {
          const r = model.forward(Int32Array.of(prev), 1, [c], h);
          h = r.hN;
          const z = Array.from(logSoftmax(r.logits, -1).toFlatArray());
          z[0] = -Infinity; // never pad
          prev = drawFrom(z, 1, 0, sampleRng);
          if (prev === END) break;
          s += chars[prev - 2];
        }
        out.push(s);
        if (!all.has(s)) novel++;
        if (trainSet.has(s)) inTrain++;
      }
      samples[NAME_CLASSES[c]] = out;
    }
  });
  const r: NameGenResult = {
    gru, bigram: bigramNll(bigramAlpha), bigramAlpha, unigram: uniNll / count, samples, novel: novel / (3 * nSamples), inTrain: inTrain / (3 * nSamples), steps, trainSeconds,
  };
  say(`  trained ${steps} steps in ${trainSeconds.toFixed(1)} s`);
  say(`  validation nats/char: GRU ${r.gru.toFixed(3)}   class-conditioned bigram (α ${bigramAlpha}) ${r.bigram.toFixed(3)}   unigram ${r.unigram.toFixed(3)}`);
  for (const c of NAME_CLASSES) say(`  ${c.padEnd(7)} ${samples[c].slice(0, 12).join(', ')}`);
  say(`  of ${3 * nSamples} samples: ${(100 * r.novel).toFixed(1)} % in neither list, ${(100 * r.inTrain).toFixed(1)} % copied from the training split`);
  return r;
}

if (require.main === module) runNameGen();
