/**
 * Character-level language modelling quality on tinyshakespeare (char-rnn's corpus, in
 * ../shared/data): a 2-layer, 128-unit LSTM against a GRU and a vanilla RNN of (nearly) the
 * same parameter count, trained with char-rnn's reference recipe for the same number of steps:
 * RMSProp lr 2e-3 (decay 0.95), sequence 50, batch 50, gradients clipped to ±5 elementwise,
 * recurrent weights uniform ±0.08. Reports validation loss in nats/char and bits/char.
 *
 *   node examples/dist/charQuality.js [steps=300] [corpus=../shared/data/tinyshakespeare.txt]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng } from '@unfold/tensor';
import { CharLMTask, CharRNN, CharVocab, CellName, fit, splitText } from '@unfold/rnn';
import { loadTextFile } from '@unfold/rnn/node';

export function paramCount(cell: CellName, V: number, H: number, L: number): number {
  const G = cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1;
  let n = 0;
  for (let k = 0; k < L; k++) n += G * H * (k === 0 ? V : H) + G * H * H + 2 * G * H;
  return n + V * H + V;
}

/** The hidden size whose parameter count is closest to `target`. */
export function matchHidden(cell: CellName, V: number, L: number, target: number): number {
  let best = 1;
  for (let h = 1; h < 2048; h++) if (Math.abs(paramCount(cell, V, h, L) - target) < Math.abs(paramCount(cell, V, best, L) - target)) best = h;
  return best;
}

export function runQuality(text: string, steps: number, log: (s: string) => void = console.log) {
  const vocab = CharVocab.fromText(text);
  const V = vocab.size;
  const split = splitText(vocab.encode(text), { val: 0.05, test: 0.05 });
  const target = paramCount('lstm', V, 128, 2);
  const rows = [];
  for (const cell of ['lstm', 'gru', 'rnn'] as const) {
    const H = cell === 'lstm' ? 128 : matchHidden(cell, V, 2, target);
    const model = new CharRNN({ cell, vocabSize: V, hiddenSize: H, numLayers: 2, seed: 1, init: { weightIh: 'uniform', weightHh: 'uniform', bias: 'uniform', range: 0.08 } });
    const task = new CharLMTask(model, { train: split.train, val: split.val, batchSize: 50, seqLen: 50, maxValWindows: 1000, rng: new Rng(2) });
    const t0 = Date.now();
    const res = fit(model, task, { steps, optimizer: { name: 'rmsprop', lr: 2e-3, alpha: 0.95 }, clipValue: 5, log: 'lines', logEvery: 100 });
    const val = task.validate();
    const row = { cell, hidden: H, params: model.numParameters(), steps: res.steps, seconds: (Date.now() - t0) / 1000, valNats: val, valBits: val / Math.LN2 };
    log(JSON.stringify(row));
    rows.push(row);
  }
  return { V, rows };
}

if (require.main === module) {
  const steps = Number(process.argv[2] ?? 300);
  const file = process.argv[3] ?? path.join(__dirname, '..', '..', '..', 'shared', 'data', 'tinyshakespeare.txt');
  if (!fs.existsSync(file)) {
    console.error(`charQuality: ${file} not found (it lives in ../shared/data beside the repository)`);
    process.exit(1);
  }
  const r = runQuality(loadTextFile(file).text, steps);
  console.log(`\n| cell | layers × hidden | parameters | steps | seconds | val nats/char | val bits/char |\n|---|---|---|---|---|---|---|`);
  for (const x of r.rows) console.log(`| ${x.cell} | 2 × ${x.hidden} | ${x.params} | ${x.steps} | ${x.seconds.toFixed(0)} | ${x.valNats.toFixed(4)} | ${x.valBits.toFixed(3)} |`);
}
