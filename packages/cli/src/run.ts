import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tensor, TensorError } from '@unfold/tensor';
import { CharVocab, CharRNN, CharRNNOptions, Corpus } from '@unfold/rnn';
import { hasCheckpoint, loadCheckpoint, loadTextFile } from '@unfold/rnn/node';
import { loadDefaultCorpus } from './corpus';

/** The text a run was trained on: where it was read from (null = the embedded default) and a fingerprint of its content. */
export interface CorpusRecord {
  name: string;
  /** Absolute path of the file, or null for the embedded Shakespeare. */
  path: string | null;
  /** SHA-256 of the text (UTF-8), and its length in characters. */
  sha256: string;
  chars: number;
}

/** The model configuration a run stores in its checkpoint, enough to rebuild the model. */
export interface RunConfig {
  model: CharRNNOptions;
  vocab: ReturnType<CharVocab['toJSON']>;
  /** The corpus name (older runs: all there is). */
  corpus: string;
  /** Where the corpus came from and its fingerprint (runs written since the record existed). */
  corpusRecord?: CorpusRecord;
  seqLen: number;
  batchSize: number;
  /** The training flags the run was started with (`unfold train --resume` keeps them). */
  flags?: Record<string, string | number | boolean | null>;
}

export function fingerprint(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The corpus of `unfold train --corpus <file>` (or the default when file is undefined), with its record. */
export function readCorpus(file: string | undefined): { corpus: Corpus; record: CorpusRecord } {
  const corpus = file === undefined ? loadDefaultCorpus() : loadTextFile(file);
  return { corpus, record: { name: corpus.name, path: file === undefined ? null : path.resolve(file), sha256: fingerprint(corpus.text), chars: corpus.text.length } };
}

const describeRecord = (r: CorpusRecord) => (r.path === null ? `the embedded corpus ${r.name}` : r.path);

/**
 * The text the run was trained on, read again from where it was and checked against its
 * fingerprint: a moved, missing or changed file is an error naming it (never another text).
 */
export function loadRunCorpus(config: RunConfig, op: string, hint: string): { corpus: Corpus; record: CorpusRecord } {
  const r = config.corpusRecord;
  if (!r) throw new TensorError(op, `this run does not record which text it was trained on (corpus '${config.corpus}'; written by an older unfold): ${hint}`);
  let got: { corpus: Corpus; record: CorpusRecord };
  try {
    got = readCorpus(r.path ?? undefined);
  } catch (e) {
    throw new TensorError(op, `the run was trained on ${describeRecord(r)}, which cannot be read now (${(e as Error).message}): ${hint}`);
  }
  if (got.record.sha256 !== r.sha256) {
    throw new TensorError(op, `the run was trained on ${describeRecord(r)} (${r.chars} characters, SHA-256 ${r.sha256.slice(0, 12)}…), but that text has changed (now ${got.record.chars} characters, SHA-256 ${got.record.sha256.slice(0, 12)}…): ${hint}`);
  }
  return got;
}

/** Whether `record` is the same text as the run's. */
export function sameCorpus(config: RunConfig, record: CorpusRecord): boolean {
  return config.corpusRecord?.sha256 === record.sha256;
}

/** The checkpoint folder of a run folder, or the folder itself when it is a checkpoint; `.prev` left by a crash counts. */
export function runCheckpointDir(dir: string): string {
  const inner = path.join(dir, 'checkpoint');
  if (hasCheckpoint(inner)) return inner;
  if (hasCheckpoint(dir)) return dir;
  if (fs.existsSync(inner)) return inner; // damaged: loadCheckpoint names what is wrong
  if (!fs.existsSync(dir)) throw new TensorError('unfold', `no run folder ${dir}`);
  throw new TensorError('unfold', `no checkpoint in ${dir} (neither ${inner} nor ${dir} itself holds one)`);
}

/** Rebuilds the model and vocabulary from a run folder's checkpoint (or a checkpoint folder). */
export function loadRun(dir: string): { model: CharRNN; vocab: CharVocab; config: RunConfig; step: number } {
  const ckptDir = runCheckpointDir(dir);
  const ckpt = loadCheckpoint(ckptDir);
  const meta = ckpt.meta as { kind?: string; step?: number; config?: RunConfig };
  if (meta.kind !== 'unfold-training' || !meta.config?.model || !meta.config?.vocab) {
    throw new TensorError('unfold', `${ckptDir} is not a checkpoint written by 'unfold train' (no model config)`);
  }
  const vocab = CharVocab.fromJSON(meta.config.vocab);
  const model = new CharRNN(meta.config.model);
  const weights: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(ckpt.tensors)) if (k.startsWith('model.')) weights[k.slice(6)] = v;
  model.loadStateDict(weights);
  return { model, vocab, config: meta.config, step: meta.step ?? 0 };
}

/** Cross-entropy of the unigram (character frequency) model on `test` fitted on `train`, in nats. */
export function unigramLoss(train: Int32Array, test: Int32Array, vocabSize: number): number {
  const counts = new Float64Array(vocabSize).fill(1); // add-one smoothing: unseen characters stay finite
  for (const c of train) counts[c]++;
  const total = train.length + vocabSize;
  let loss = 0;
  for (const c of test) loss -= Math.log(counts[c] / total);
  return loss / test.length;
}

export function defaultRunDir(cell: string): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return path.join('runs', `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}-${cell}`);
}
