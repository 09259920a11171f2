import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tensor, TensorError } from '@unfold/tensor';
import { CharVocab, CharRNN, CharRNNOptions } from '@unfold/rnn';
import { loadCheckpoint } from '@unfold/rnn/node';

/** The model configuration a run stores in its checkpoint, enough to rebuild the model. */
export interface RunConfig {
  model: CharRNNOptions;
  vocab: ReturnType<CharVocab['toJSON']>;
  corpus: string;
  seqLen: number;
  batchSize: number;
}

/** Rebuilds the model and vocabulary from a run folder's checkpoint (or a checkpoint folder). */
export function loadRun(dir: string): { model: CharRNN; vocab: CharVocab; config: RunConfig; step: number } {
  const ckptDir = fs.existsSync(path.join(dir, 'checkpoint')) ? path.join(dir, 'checkpoint') : dir;
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


