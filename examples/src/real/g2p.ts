/**
 * Grapheme-to-phoneme conversion on the CMU Pronouncing Dictionary: spelling → ARPAbet phonemes
 * with the library's attention encoder–decoder (bidirectional GRU encoder, Luong 'general'
 * attention with input feeding), decoded greedily and with beam search (Seq2Seq.beamDecode).
 *
 * Data: words of letters and apostrophes only (numbers, punctuation entries dropped), stress
 * digits removed (39 phonemes); a seeded 90/5/5 split by word, so a word's alternative
 * pronunciations stay in one part. Training pairs are (word, one of its pronunciations);
 * scoring counts a word right if the output equals any of its pronunciations (WER), and PER is
 * the edit distance to the closest one over its length, summed over the test words.
 *
 * Baseline (trivial): each letter → the phoneme it most often stands for, learnt from the
 * training words with as many letters as phonemes (a one-to-one alignment), letters of other
 * words never seen that way dropped.
 *
 *   npm run example -- g2p [--steps N] [--beam-words N]
 */
import { Rng } from '@unfold/tensor';
import { Adam, Seq2Seq, bucketByLength, clipGradNorm, computeGradients, cosine, makeSeq2SeqBatch } from '@unfold/rnn';
import { sayer } from '../common';
import { loadCmudict } from './data';

const SPECIAL = ['<pad>', '<sos>', '<eos>'];

export interface G2PData {
  /** Token strings: specials, then letters, then phonemes; ids are indices. */
  vocab: string[];
  words: string[];
  /** prons[i]: the pronunciations of words[i] as phoneme ids. */
  prons: number[][][];
  train: number[];
  val: number[];
  test: number[];
}

const cache = new Map<number, G2PData>();

/** The data set and its split for `seed` (built once per process: reading CMUdict takes a second or two). */
export function g2pData(seed: number): G2PData {
  const hit = cache.get(seed);
  if (hit) return hit;
  const d = buildG2PData(seed);
  cache.set(seed, d);
  return d;
}

function buildG2PData(seed: number): G2PData {
  const dict = loadCmudict();
  const words = [...dict.keys()].filter((w) => /^[A-Z']+$/.test(w) && /[A-Z]/.test(w)).sort();
  const letters = [...new Set(words.join(''))].sort();
  const strip = (p: string): string => p.replace(/[0-9]/g, '');
  const phones = [...new Set(words.flatMap((w) => dict.get(w)!.flat().map(strip)))].sort();
  const vocab = [...SPECIAL, ...letters, ...phones];
  const id = new Map(vocab.map((t, i) => [t, i]));
  const prons = words.map((w) => {
    const seen = new Set<string>();
    const out: number[][] = [];
    for (const p of dict.get(w)!) {
      const s = p.map(strip);
      if (seen.has(s.join(' '))) continue; // alternatives that differ only in stress
      seen.add(s.join(' '));
      out.push(s.map((t) => id.get(t)!));
    }
    return out;
  });
  const rng = new Rng(seed);
  const perm = Array.from({ length: words.length }, (_, i) => i);
  for (let i = perm.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const n5 = Math.round(words.length / 20);
  return { vocab, words, prons, test: perm.slice(0, n5), val: perm.slice(n5, 2 * n5), train: perm.slice(2 * n5) };
}

export function spell(d: G2PData, i: number): number[] {
  return [...d.words[i]].map((c) => d.vocab.indexOf(c));
}

export function editDistance(a: readonly number[], b: readonly number[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

export interface ErrorRates {
  /** Σ edit distance to the closest reference / Σ that reference's length. */
  per: number;
  /** Fraction of words whose output matches none of their pronunciations. */
  wer: number;
}

export function scoreG2P(d: G2PData, idx: readonly number[], outputs: readonly (readonly number[])[]): ErrorRates {
  let edits = 0;
  let len = 0;
  let wrong = 0;
  idx.forEach((i, k) => {
    let best = Infinity;
    let bestLen = 0;
    for (const p of d.prons[i]) {
      const e = editDistance(outputs[k], p);
      if (e < best) {
        best = e;
        bestLen = p.length;
      }
    }
    edits += best;
    len += bestLen;
    if (best > 0) wrong++;
  });
  return { per: edits / len, wer: wrong / idx.length };
}

/** The trivial baseline: one phoneme per letter (see the file comment). */
export function letterTable(d: G2PData, train: readonly number[]): (i: number) => number[] {
  const counts = new Map<number, Map<number, number>>();
  for (const i of train) {
    const s = spell(d, i);
    for (const p of d.prons[i]) {
      if (p.length !== s.length) continue;
      s.forEach((c, k) => {
        const m = counts.get(c) ?? new Map<number, number>();
        m.set(p[k], (m.get(p[k]) ?? 0) + 1);
        counts.set(c, m);
      });
    }
  }
  const best = new Map([...counts].map(([c, m]) => [c, [...m].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0][0]]));
  return (i) => spell(d, i).filter((c) => best.has(c)).map((c) => best.get(c)!);
}

export interface G2POptions {
  /** Train on the first trainWords words of the training split (default all). */
  trainWords?: number;
  /** Keep only words of at most this many letters, in training and test (a small slice for tests). */
  maxWordLength?: number;
  testWords?: number;
  beamWords?: number;
  beamSize?: number;
  steps?: number;
  hiddenSize?: number;
  embeddingDim?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  quiet?: boolean;
}

export interface G2PResult {
  greedy: ErrorRates;
  /** Greedy and beam on the same first beamWords test words. */
  greedyOnBeamSet: ErrorRates;
  beam: ErrorRates;
  baseline: ErrorRates;
  steps: number;
  trainSeconds: number;
  examplesSeen: number;
  nTrainWords: number;
  nTestWords: number;
  beamWords: number;
  samples: string[];
  model: Seq2Seq;
}

export function runG2P(o: G2POptions = {}): G2PResult {
  const say = sayer(o.quiet);
  const seed = o.seed ?? 1;
  const d = g2pData(seed);
  const short = (i: number): boolean => d.words[i].length <= (o.maxWordLength ?? Infinity);
  const trainWords = d.train.filter(short).slice(0, o.trainWords ?? d.train.length);
  const test = d.test.filter(short).slice(0, o.testWords ?? d.test.length);
  const src: number[][] = [];
  const tgtIn: number[][] = [];
  const tgtOut: number[][] = [];
  for (const i of trainWords) {
    for (const p of d.prons[i]) {
      src.push(spell(d, i));
      tgtIn.push([1, ...p]);
      tgtOut.push([...p, 2]);
    }
  }
  const ds = { src, tgtIn, tgtOut };
  const H = o.hiddenSize ?? 128;
  const model = new Seq2Seq({ vocabSize: d.vocab.length, embeddingDim: o.embeddingDim ?? 32, hiddenSize: H, cell: 'gru', bidirectional: true, attention: 'general', seed });
  const params = model.parameters();
  const steps = o.steps ?? 1500;
  const lr = o.lr ?? 3e-3;
  const opt = new Adam(params, { lr });
  const sched = cosine(lr, steps, 1e-4);
  const rng = new Rng(seed + 1);
  const B = o.batchSize ?? 64;
  say(`g2p: ${d.words.length} CMUdict words (${trainWords.length} train words = ${src.length} pronunciations, ${d.val.length} val, ${test.length} test), ${d.vocab.length - 3} letters + phonemes; ${model.numParameters()} parameters`);
  const epoch = (): number[][] => bucketByLength(src.map((s) => s.length), { batchSize: B, bucketWidth: 1, shuffle: true, rng });
  let batches = epoch();
  let cursor = 0;
  let seen = 0;
  let lossSum = 0;
  const t0 = Date.now();
  for (let s = 0; s < steps; s++) {
    if (cursor === batches.length) {
      batches = epoch();
      cursor = 0;
    }
    const idx = batches[cursor++];
    const batch = makeSeq2SeqBatch(ds, idx);
    model.train(true);
    const r = computeGradients(model, () => model.loss(batch));
    clipGradNorm(params, 2);
    opt.lr = sched(s);
    opt.step();
    seen += idx.length;
    lossSum += r.loss.item();
    if ((s + 1) % 250 === 0) {
      say(`  step ${s + 1}  ${((Date.now() - t0) / 1000).toFixed(0)} s  loss ${(lossSum / 250).toFixed(3)} nats/phoneme`);
      lossSum = 0;
    }
  }
  const trainSeconds = (Date.now() - t0) / 1000;
  const maxOf = (i: number): number => d.words[i].length + 6;
  const greedyOut: number[][] = [];
  for (let k = 0; k < test.length; k += 256) {
    const part = test.slice(k, k + 256);
    greedyOut.push(...model.greedyDecode(part.map((i) => spell(d, i)), Math.max(...part.map(maxOf))).tokens);
  }
  const nBeam = Math.min(o.beamWords ?? 1000, test.length);
  const beamSet = test.slice(0, nBeam);
  const beamOut = beamSet.map((i) => model.beamDecode([spell(d, i)], { beamSize: o.beamSize ?? 4, maxLen: maxOf(i) })[0][0].tokens);
  const table = letterTable(d, trainWords);
  const show = (ids: readonly number[]): string => ids.map((t) => d.vocab[t]).join(' ');
  const r: G2PResult = {
    greedy: scoreG2P(d, test, greedyOut), greedyOnBeamSet: scoreG2P(d, beamSet, greedyOut.slice(0, nBeam)), beam: scoreG2P(d, beamSet, beamOut),
    baseline: scoreG2P(d, test, test.map(table)), steps, trainSeconds, examplesSeen: seen, nTrainWords: trainWords.length, nTestWords: test.length, beamWords: nBeam,
    samples: test.slice(0, 12).map((i, k) => `${d.words[i].padEnd(14)} ${show(greedyOut[k]).padEnd(28)} ${d.prons[i].some((p) => editDistance(p, greedyOut[k]) === 0) ? '✓' : `✗ (${show(d.prons[i][0])})`}`),
    model,
  };
  const f = (e: ErrorRates): string => `PER ${(100 * e.per).toFixed(1)} %  WER ${(100 * e.wer).toFixed(1)} %`;
  say(`  trained ${steps} steps (${seen} pronunciations seen, ${(seen / src.length).toFixed(2)} epochs) in ${trainSeconds.toFixed(0)} s`);
  say(`  test, ${test.length} words:    greedy ${f(r.greedy)}    letter-table baseline ${f(r.baseline)}`);
  say(`  first ${nBeam} test words: greedy ${f(r.greedyOnBeamSet)}    beam ${o.beamSize ?? 4}: ${f(r.beam)}`);
  for (const s of r.samples) say(`    ${s}`);
  return r;
}

if (require.main === module) {
  const a = process.argv;
  const opt = (k: string): number | undefined => (a.includes(k) ? Number(a[a.indexOf(k) + 1]) : undefined);
  runG2P({ steps: opt('--steps'), beamWords: opt('--beam-words'), trainWords: opt('--train-words') });
}
