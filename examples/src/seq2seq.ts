/**
 * Encoder–decoder with attention on digit-string reversal ("38125" → "52183").
 *
 *   npx tsc -b && node examples/dist/seq2seq.js [--out runs/seq2seq] [--attention general|dot|bahdanau] [--cell gru|lstm]
 *
 * Trains a GRU encoder–decoder (bidirectional encoder, Luong 'general' attention with input
 * feeding; embedding 32, hidden 64, Adam 5e-3 annealed by a cosine, clip 2, batches of 64 of
 * one length) on 20 000 strings of 3–8 digits, checking exact-match accuracy on 1 000 held-out
 * strings every 100 steps and stopping at ≥ 99.5 %; then reports exact-match and per-token
 * accuracy on 2 000 further held-out strings (none seen in training), prints a few decoded
 * examples and writes the attention weights of one example as an SVG heatmap. Reversal gives a
 * clean anti-diagonal: output token i attends to source position L − 1 − i.
 *
 * Measured on the shared 2-core machine (load average ≈ 8–10 from other jobs), seed 1, two runs
 * (the numbers are deterministic; only the times vary with the neighbours):
 *   99.0 % held-out at step 500, 99.6 % at step 600 (52–80 s wall, 34–40 s CPU);
 *   test on 2 000 unseen strings: 99.35 % exact match, 99.70 % token accuracy;
 *   whole run including evaluation and the SVG: 61–82 s wall, 40–41 s CPU.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Rng } from '@unfold/tensor';
import { Adam, SEQ2SEQ_VOCAB, bucketByLength, cosine, Seq2Seq, Seq2SeqAttention, Seq2SeqDataset, clipGradNorm, computeGradients, heatmap, makeReverseDataset, makeSeq2SeqBatch, tokensToString } from '@unfold/rnn';
import { writeSvg } from '@unfold/rnn/node';

export interface ReversalOptions {
  minLen?: number;
  maxLen?: number;
  trainSize?: number;
  valSize?: number;
  testSize?: number;
  batchSize?: number;
  /** Upper bound on optimizer steps. */
  maxSteps?: number;
  /** Stop once held-out exact-match accuracy reaches this (checked every evalEvery steps). */
  target?: number;
  evalEvery?: number;
  /** Stop after this many seconds of training, whatever the accuracy. */
  timeLimit?: number;
  embeddingDim?: number;
  hiddenSize?: number;
  cell?: 'gru' | 'lstm';
  attention?: Seq2SeqAttention;
  bidirectional?: boolean;
  /** Adam's initial lr, annealed by a cosine to lrMin at maxSteps (default 5e-3 → 1e-4). */
  lr?: number;
  lrMin?: number;
  clip?: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface Accuracy {
  /** Fraction of examples decoded exactly (every token, and the EOS in the right place). */
  exactMatch: number;
  /** Fraction of target positions (EOS included) with the right token. Chance is about 1/10. */
  tokenAccuracy: number;
}

export interface ReversalResult extends Accuracy {
  model: Seq2Seq;
  test: Seq2SeqDataset;
  steps: number;
  /** Wall-clock and CPU seconds of training (evaluation on the test set excluded). */
  seconds: number;
  cpuSeconds: number;
  /** First validation check at or above `target`, if any. */
  reached: { step: number; seconds: number; cpuSeconds: number; exactMatch: number } | null;
  history: { step: number; seconds: number; cpuSeconds: number; loss: number; valExact: number }[];
}

/** Greedy-decodes ds in batches and scores it against tgtOut. */
export function evaluate(model: Seq2Seq, ds: Seq2SeqDataset, batchSize = 500): Accuracy & { decoded: number[][] } {
  let exact = 0;
  let right = 0;
  let total = 0;
  const decoded: number[][] = [];
  for (let i = 0; i < ds.src.length; i += batchSize) {
    const src = ds.src.slice(i, i + batchSize);
    const maxLen = Math.max(...ds.tgtOut.slice(i, i + batchSize).map((t) => t.length)) + 2;
    const { tokens } = model.greedyDecode(src, maxLen);
    tokens.forEach((got, j) => {
      const want = ds.tgtOut[i + j]; // z… EOS
      const out = [...got, 2]; // what was emitted, EOS included
      decoded.push(got);
      let ok = out.length === want.length;
      for (let k = 0; k < want.length; k++) {
        if (out[k] === want[k]) right++;
        else ok = false;
      }
      total += want.length;
      if (ok) exact++;
    });
  }
  return { exactMatch: exact / ds.src.length, tokenAccuracy: right / total, decoded };
}

/** Examples of `ds` whose source string is not in `seen`. */
function heldOut(ds: Seq2SeqDataset, seen: Set<string>, n: number): Seq2SeqDataset {
  const keep = ds.src.map((s, i) => (seen.has(s.join(',')) ? -1 : i)).filter((i) => i >= 0).slice(0, n);
  return { src: keep.map((i) => ds.src[i]), tgtIn: keep.map((i) => ds.tgtIn[i]), tgtOut: keep.map((i) => ds.tgtOut[i]), vocab: ds.vocab };
}

export function trainReversal(o: ReversalOptions = {}): ReversalResult {
  const minLen = o.minLen ?? 3;
  const maxLen = o.maxLen ?? 8;
  const batchSize = o.batchSize ?? 64;
  const evalEvery = o.evalEvery ?? 100;
  const target = o.target ?? 0.995;
  const log = o.log ?? (() => {});
  const rng = new Rng(o.seed ?? 1);
  const train = makeReverseDataset(o.trainSize ?? 20000, rng, { minLen, maxLen });
  const seen = new Set(train.src.map((s) => s.join(',')));
  const pool = heldOut(makeReverseDataset(3 * ((o.valSize ?? 1000) + (o.testSize ?? 2000)), rng, { minLen, maxLen }), seen, Infinity);
  const nVal = o.valSize ?? 1000;
  const val = heldOut(pool, new Set(), nVal);
  const test = heldOut({ ...pool, src: pool.src.slice(nVal), tgtIn: pool.tgtIn.slice(nVal), tgtOut: pool.tgtOut.slice(nVal) }, new Set(), o.testSize ?? 2000);

  const model = new Seq2Seq({
    vocabSize: SEQ2SEQ_VOCAB.length, embeddingDim: o.embeddingDim ?? 32, hiddenSize: o.hiddenSize ?? 64, cell: o.cell ?? 'gru',
    attention: o.attention ?? 'general', bidirectional: o.bidirectional ?? true, seed: o.seed ?? 1,
  });
  const params = model.parameters();
  const maxSteps = o.maxSteps ?? 1500;
  const opt = new Adam(params, { lr: o.lr ?? 5e-3 });
  // a constant lr leaves held-out accuracy bouncing between 90 and 98 %; annealing settles it
  const schedule = cosine(o.lr ?? 5e-3, maxSteps, o.lrMin ?? 1e-4);
  const t0 = Date.now();
  const c0 = process.cpuUsage();
  const elapsed = (): number => (Date.now() - t0) / 1000;
  // CPU seconds of this process: on a shared machine, wall time says more about the neighbours
  const cpu = (): number => {
    const u = process.cpuUsage(c0);
    return (u.user + u.system) / 1e6;
  };
  const history: ReversalResult['history'] = [];
  let reached: ReversalResult['reached'] = null;
  // batches of one source length each: reversal targets then have one length too, so no
  // step of either RNN is spent on padding (about 30 % less work than random batches here)
  const srcLengths = train.src.map((x) => x.length);
  const epoch = (): number[][] => bucketByLength(srcLengths, { batchSize, bucketWidth: 1, shuffle: true, rng });
  let batches = epoch();
  let cursor = 0;
  let lossSum = 0;
  let lossN = 0;
  let step = 0;
  while (step < maxSteps && elapsed() < (o.timeLimit ?? Infinity)) {
    if (cursor === batches.length) {
      batches = epoch();
      cursor = 0;
    }
    const batch = makeSeq2SeqBatch(train, batches[cursor++]);
    model.train(true);
    const r = computeGradients(model, () => model.loss(batch));
    clipGradNorm(params, o.clip ?? 2);
    opt.lr = schedule(step);
    opt.step();
    step++;
    lossSum += r.loss.item();
    lossN++;
    if (step % evalEvery === 0) {
      const v = evaluate(model, val).exactMatch;
      history.push({ step, seconds: elapsed(), cpuSeconds: cpu(), loss: lossSum / lossN, valExact: v });
      log(`step ${String(step).padStart(5)}  ${elapsed().toFixed(1).padStart(6)} s (cpu ${cpu().toFixed(1)} s)  loss ${(lossSum / lossN).toFixed(4)}  held-out exact match ${(100 * v).toFixed(1)} %`);
      lossSum = lossN = 0;
      if (v >= target) {
        reached = { step, seconds: elapsed(), cpuSeconds: cpu(), exactMatch: v };
        break;
      }
    }
  }
  const seconds = elapsed();
  const cpuSeconds = cpu();
  const acc = evaluate(model, test);
  return { model, test, steps: step, seconds, cpuSeconds, reached, history, exactMatch: acc.exactMatch, tokenAccuracy: acc.tokenAccuracy };
}

/** The attention weights of one decoded example as an SVG heatmap: rows = output tokens, columns = source digits. */
export function attentionSvg(model: Seq2Seq, src: number[]): string {
  const { tokens, weights } = model.greedyDecode([src], src.length + 2);
  return heatmap({
    values: weights[0],
    title: `Attention while reversing ${tokensToString(src)} → ${tokensToString(tokens[0])}`,
    xLabel: 'source digit',
    yLabel: 'output digit',
    colLabels: src.map((id) => SEQ2SEQ_VOCAB[id]),
    rowLabels: tokens[0].map((id) => SEQ2SEQ_VOCAB[id]),
    width: 520,
    height: 460,
  });
}

function flag(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
  return v;
}

export function main(argv: string[]): ReversalResult {
  const outDir = flag(argv, 'out') ?? path.join('runs', 'seq2seq');
  const attention = (flag(argv, 'attention') ?? 'general') as Seq2SeqAttention;
  const cell = (flag(argv, 'cell') ?? 'gru') as 'gru' | 'lstm';
  console.log(`seq2seq: reversing 3–8 digit strings, ${cell.toUpperCase()} encoder–decoder, ${attention} attention`);
  // the time limit only guards the "< 3 minutes" promise on a crowded machine; unloaded, the
  // target is reached long before it
  const r = trainReversal({ attention, cell, maxSteps: 1500, timeLimit: 170, log: (l) => console.log(l) });
  const when = r.reached
    ? `reached ${(100 * r.reached.exactMatch).toFixed(1)} % held-out exact match at step ${r.reached.step} (${r.reached.seconds.toFixed(1)} s wall, ${r.reached.cpuSeconds.toFixed(1)} s cpu)`
    : `stopped at step ${r.steps} (${r.seconds.toFixed(1)} s wall, ${r.cpuSeconds.toFixed(1)} s cpu) without reaching the target`;
  console.log(`${when}`);
  console.log(`test (${r.test.src.length} unseen strings): exact match ${(100 * r.exactMatch).toFixed(2)} %, token accuracy ${(100 * r.tokenAccuracy).toFixed(2)} %`);
  const show = r.test.src.slice(0, 6);
  const dec = r.model.greedyDecode(show, 12).tokens;
  show.forEach((s, i) => console.log(`  ${tokensToString(s).padStart(8)} → ${tokensToString(dec[i]).padEnd(8)} ${tokensToString(dec[i]) === tokensToString(r.test.tgtOut[i]) ? '✓' : '✗'}`));
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, 'attention.svg');
  const example = r.test.src.find((s) => s.length === 8) ?? r.test.src[0];
  writeSvg(file, attentionSvg(r.model, example));
  console.log(`attention heatmap: ${file}`);
  return r;
}

if (require.main === module) main(process.argv.slice(2));
