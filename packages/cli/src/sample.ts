import { Rng, TensorError } from '@unfold/tensor';
import { FlagSpec, FlagValues, UsageError } from './args';
import { loadRun, loadRunCorpus, readCorpus, sameCorpus, unigramLoss } from './run';
import { splitText, sampleIds } from '@unfold/rnn';

export const SAMPLE_FLAGS: Record<string, FlagSpec> = {
  run: { kind: 'string', help: 'run folder (or checkpoint folder) written by unfold train (or give it as the argument)', positional: true },
  length: { kind: 'int', help: 'characters to generate', default: 500 },
  temperature: { kind: 'number', help: 'softmax temperature (< 1 conservative, > 1 adventurous)', default: 0.8 },
  'top-k': { kind: 'int', help: 'sample among the k most likely characters only (0 = all)', default: 0 },
  prime: { kind: 'string', help: 'text to start from (default: a newline, or the first character of the vocabulary)' },
  seed: { kind: 'int', help: 'random seed', default: 0 },
  help: { kind: 'bool', help: 'show this help' },
};

export function sampleCommand(f: FlagValues): number {
  if (!f.run) throw new UsageError('--run <folder> is required');
  const { model, vocab } = loadRun(f.run as string);
  const primeText = (f.prime as string | undefined) ?? (vocab.chars.includes('\n') ? '\n' : vocab.chars[0]);
  const prime = vocab.encode(primeText); // a character the model never saw is an error naming it
  const ids = sampleIds(model, prime, { length: f.length as number, temperature: f.temperature as number, topK: f['top-k'] as number, rng: new Rng(f.seed as number) });
  process.stdout.write(`${primeText}${vocab.decode(ids)}\n`);
  return 0;
}

export const EVAL_FLAGS: Record<string, FlagSpec> = {
  run: { kind: 'string', help: 'run folder (or checkpoint folder) written by unfold train (or give it as the argument)', positional: true },
  corpus: { kind: 'string', help: 'text file to evaluate on, whole (default: the corpus the run was trained on, checked by its SHA-256, its test split)' },
  batch: { kind: 'int', help: 'lanes', default: 16 },
  help: { kind: 'bool', help: 'show this help' },
};

export function evalCommand(f: FlagValues): number {
  if (!f.run) throw new UsageError('--run <folder> is required');
  const { model, vocab, config } = loadRun(f.run as string);
  // the run's own text unless told otherwise: never another text without saying so
  const { corpus, record } = f.corpus !== undefined
    ? readCorpus(f.corpus as string)
    : loadRunCorpus(config, 'unfold eval', 'pass --corpus <file> to score a text of your choice');
  const own = sameCorpus(config, record);
  const ids = vocab.encode(corpus.text);
  const split = own ? splitText(ids, { val: 0.05, test: 0.05 }) : { train: ids, val: ids, test: ids };
  process.stdout.write(`scoring ${record.path ?? corpus.name}: ${own ? "the run's own corpus, its test split" : 'the whole file'}\n`);
  const test = split.test;
  const B = Math.max(1, Math.min(f.batch as number, Math.floor(test.length / (config.seqLen + 1))));
  const L = Math.floor(test.length / B);
  const T = Math.min(config.seqLen, L - 1);
  if (T < 1) throw new TensorError('unfold eval', `evaluation text too short (${test.length} characters)`);
  let total = 0;
  let n = 0;
  let state;
  for (let k = 0; (k + 1) * T < L; k++) {
    const x = new Int32Array(T * B);
    const y = new Int32Array(T * B);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
      x[t * B + b] = test[b * L + k * T + t];
      y[t * B + b] = test[b * L + k * T + t + 1];
    }
    const r = model.evaluateFull(x, y, [T, B], state);
    state = r.state;
    total += r.loss;
    n++;
  }
  const loss = total / n;
  const base = unigramLoss(split.train, test, vocab.size);
  process.stdout.write(`test loss ${loss.toFixed(4)} nats/char = ${(loss / Math.LN2).toFixed(3)} bpc over ${n * T * B} characters (unigram ${(base / Math.LN2).toFixed(3)} bpc)\n`);
  return 0;
}
