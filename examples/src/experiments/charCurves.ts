/**
 * Character LM training curves on tinyshakespeare: a vanilla RNN, a GRU and an LSTM (CharRNN,
 * one layer, one-hot input) against a small causal Transformer (CharTransformer), each with
 * (about) the same number of parameters, trained on the same random windows (B × T ids, every
 * window read from a zero state / empty context) with Adam for the same number of steps.
 * Records training loss at every step and validation loss at a few points, in bits/char.
 *
 *   node examples/dist/experiments/charCurves.js [--steps 350] [--batch 32] [--seq 64] [--lr 0.003] …
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng, Tensor } from '@unfold/tensor';
import { Adam, CharRNN, CharTransformer, CharVocab, Module, clipGradNorm, computeGradients, linePlot, splitText } from '@unfold/rnn';
import { loadTextFile } from '@unfold/rnn/node';
import { matchHidden } from '../charQuality';
import { FIGURES, parseArgs, saveFigure, seconds, table } from './common';


type Kind = 'rnn' | 'gru' | 'lstm' | 'transformer';
const LABEL: Record<Kind, string> = { rnn: 'vanilla RNN (tanh)', gru: 'GRU', lstm: 'LSTM', transformer: 'Transformer' };

interface LM extends Module {
  loss(x: ArrayLike<number>, y: ArrayLike<number>, shape: readonly number[]): { loss: Tensor };
  evaluate(x: ArrayLike<number>, y: ArrayLike<number>, shape: readonly number[]): number;
}

/** B random windows of T + 1 ids, time-major: x [T, B], y [T, B] (y = x shifted by one). */
function windows(ids: Int32Array, T: number, B: number, rng: Rng): { x: Int32Array; y: Int32Array } {
  const x = new Int32Array(T * B);
  const y = new Int32Array(T * B);
  for (let b = 0; b < B; b++) {
    const s = rng.int(0, ids.length - T - 1);
    for (let t = 0; t < T; t++) {
      x[t * B + b] = ids[s + t];
      y[t * B + b] = ids[s + t + 1];
    }
  }
  return { x, y };
}

/** Mean of the last ≤ n values at each point (the first points average what there is). */
function runningMean(v: number[], n: number): number[] {
  let s = 0;
  return v.map((x, i) => {
    s += x - (i >= n ? v[i - n] : 0);
    return s / Math.min(i + 1, n);
  });
}

export const CURVE_DEFAULTS = {
  steps: 350, batch: 32, seq: 64, lr: 3e-3, clip: 5, dModel: 64, heads: 4, layers: 2, evalEvery: 50, valBatches: 4, seed: 0,
  models: 'rnn,gru,lstm,transformer', corpus: path.join(__dirname, '..', '..', '..', '..', 'shared', 'data', 'tinyshakespeare.txt'), figures: FIGURES,
};

export function main(argv: readonly string[]): void {
  const a = parseArgs(argv, CURVE_DEFAULTS);
  if (!fs.existsSync(a.corpus)) {
    console.log(`charCurves: skipped — ${a.corpus} not found (tinyshakespeare lives in ../shared/data beside the repository; pass --corpus <file>)`);
    return;
  }
  const text = loadTextFile(a.corpus).text;
  const vocab = CharVocab.fromText(text);
  const V = vocab.size;
  const split = splitText(vocab.encode(text), { val: 0.05, test: 0.05 });
  const [T, B] = [a.seq, a.batch];
  const make = (k: Kind): LM => {
    const tr = () => new CharTransformer({ vocabSize: V, dModel: a.dModel, nHeads: a.heads, nLayers: a.layers, blockSize: T, seed: a.seed + 1 });
    if (k === 'transformer') return tr();
    const target = tr().numParameters();
    return new CharRNN({ cell: k, vocabSize: V, hiddenSize: matchHidden(k, V, 1, target), numLayers: 1, seed: a.seed + 1 });
  };
  const valRng = new Rng(a.seed + 99);
  const val = Array.from({ length: a.valBatches }, () => windows(split.val, T, B, valRng));
  const bits = (nats: number) => nats / Math.LN2;
  console.log(`charCurves: V = ${V}, train ${split.train.length} chars, B ${B} × T ${T}, Adam lr ${a.lr}, clip ${a.clip}, ${a.steps} steps, val = ${a.valBatches} fixed batches`);

  const rows: (string | number)[][] = [];
  const series = [];
  for (const k of String(a.models).split(',') as Kind[]) {
    const model = make(k);
    const opt = new Adam(model.parameters(), { lr: a.lr });
    const rng = new Rng(a.seed + 7); // the same windows for every model
    const evaluate = () => bits(val.reduce((s, w) => s + model.evaluate(w.x, w.y, [T, B]), 0) / val.length);
    const train: number[] = [];
    const valPts: [number, number][] = [[0, evaluate()]];
    const t0 = Date.now();
    let evalTime = 0;
    for (let s = 1; s <= a.steps; s++) {
      const { x, y } = windows(split.train, T, B, rng);
      model.train(true);
      const r = computeGradients(model, () => model.loss(x, y, [T, B]));
      clipGradNorm(model.parameters(), a.clip);
      opt.step();
      train.push(bits(r.loss.item()));
      if (s % a.evalEvery === 0 || s === a.steps) {
        const e0 = Date.now();
        valPts.push([s, evaluate()]);
        evalTime += seconds(e0);
      }
    }
    const secs = seconds(t0);
    const hidden = model instanceof CharRNN ? `H ${model.opts.hiddenSize}` : `D ${a.dModel}, ${a.layers} × ${a.heads} heads`;
    const tail = train.slice(-10).reduce((s, v) => s + v, 0) / Math.min(10, train.length);
    const row = [LABEL[k], hidden, model.numParameters(), train[0].toFixed(3), tail.toFixed(3), valPts[valPts.length - 1][1].toFixed(3), ((secs - evalTime) / a.steps * 1000).toFixed(0), secs.toFixed(0)];
    console.log(JSON.stringify({ model: k, val: valPts.map(([s, v]) => [s, +v.toFixed(3)]) }));
    rows.push(row);
    series.push({ name: LABEL[k], x: train.map((_, i) => i + 1), y: runningMean(train, 10) });
  }
  console.log('\n' + table(['model', 'size', 'parameters', 'train bits/char @1', 'train bits/char (last 10)', 'val bits/char (end)', 'ms/step', 'seconds'], rows));
  const svg = linePlot({ series, title: 'Char LM, tinyshakespeare, ≈ equal parameters', xLabel: `step (B ${B} × T ${T}, Adam ${a.lr})`, yLabel: 'train loss, bits/char (10-step mean)' });
  const file = saveFigure(String(a.figures) === '' ? null : String(a.figures), 'char-curves.svg', svg);
  if (file) console.log(`wrote ${file}`);
}

if (require.main === module) main(process.argv.slice(2));
