// Panel 3's trainer: a CharRNN on a text, trained by the library's fitAsync (which yields to the
// event loop between steps, so the tab stays responsive), paused with an abort signal and resumed
// with the same optimizer (its moments carry over), weights saved and loaded as checkpoint bytes.
import { Rng } from '@unfold/tensor';
import { CELL_NAMES, CellName, CharLMTask, CharRNN, CharVocab, Optimizer, StepRecord, createOptimizer, decodeCheckpoint, encodeCheckpoint, fitAsync, sampleIds } from '@unfold/rnn';

export interface TrainSettings {
  cell: CellName;
  hidden: number;
  seqLen: number;
  lr: number;
  batch: number;
  seed: number;
}

export const TRAIN_DEFAULTS: TrainSettings = { cell: 'lstm', hidden: 64, seqLen: 32, lr: 5e-3, batch: 16, seed: 0 };

/** H(p) = −Σ p_c ln p_c of the text's character frequencies (nats/char): the loss of a model that ignores context. */
export function unigramEntropy(ids: Int32Array, V: number): number {
  const counts = new Float64Array(V);
  for (const id of ids) counts[id]++;
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / ids.length) * Math.log(c / ids.length);
  return h;
}

export class Trainer {
  readonly vocab: CharVocab;
  readonly ids: Int32Array;
  readonly unigram: number;
  model: CharRNN;
  readonly history: StepRecord[] = [];
  private task: CharLMTask;
  private opt: Optimizer;
  private abort: AbortController | null = null;

  constructor(readonly text: string, readonly s: TrainSettings = TRAIN_DEFAULTS) {
    if (!CELL_NAMES.includes(s.cell)) throw new Error(`train: unknown cell '${s.cell}' (valid: ${CELL_NAMES.join(', ')})`);
    this.vocab = CharVocab.fromText(text);
    this.ids = this.vocab.encode(text);
    this.unigram = unigramEntropy(this.ids, this.vocab.size);
    this.model = new CharRNN({ cell: s.cell, vocabSize: this.vocab.size, hiddenSize: s.hidden, seed: s.seed });
    this.task = new CharLMTask(this.model, { train: this.ids, batchSize: s.batch, seqLen: s.seqLen, rng: new Rng(s.seed + 1) });
    this.opt = createOptimizer('adam', this.model.parameters(), { lr: s.lr });
  }

  get running(): boolean {
    return this.abort !== null;
  }

  /** Trains up to `steps` more steps (until pause()); onStep sees each record, numbered from the first step of the first run. */
  async run(steps: number, onStep?: (r: StepRecord) => void): Promise<void> {
    if (this.abort) throw new Error('train: already running');
    const abort = (this.abort = new AbortController());
    const offset = this.history.length;
    try {
      await fitAsync(this.model, this.task, {
        steps,
        optimizer: this.opt,
        clipNorm: 5,
        log: 'none',
        signal: abort.signal,
        onStep: (r) => {
          const rec = { ...r, step: offset + r.step };
          this.history.push(rec);
          onStep?.(rec);
        },
      });
    } finally {
      this.abort = null;
    }
  }

  /** Stops at the next step boundary; run() resolves then. */
  pause(): void {
    this.abort?.abort();
  }

  /** `length` characters sampled after `prime` (temperature 0.8, seeded). */
  sample(prime = 'The ', length = 160, seed = 0): string {
    const p = this.vocab.encode(prime.split('').filter((c) => this.vocab.has(c)).join('') || this.text[0]);
    return this.vocab.decode(sampleIds(this.model, p, { length, temperature: 0.8, rng: new Rng(seed) }));
  }

  /** The weights, vocabulary and model config as one checkpoint file (encodeCheckpoint: self-checking bytes). */
  weights(): Uint8Array {
    const o = this.model.opts;
    return encodeCheckpoint({
      tensors: this.model.stateDict(),
      meta: { kind: 'unfold-explorer-charrnn', config: { cell: o.cell, vocabSize: o.vocabSize, hiddenSize: o.hiddenSize, numLayers: o.numLayers }, vocab: this.vocab.toJSON(), steps: this.history.length },
    });
  }

  /** Loads weights saved by weights() (or by `unfold train` for the same vocabulary); a mismatch is a named error and nothing changes. */
  load(bytes: Uint8Array): void {
    const ck = decodeCheckpoint(bytes);
    const vocab = ck.meta.vocab === undefined ? null : CharVocab.fromJSON(ck.meta.vocab);
    if (vocab && vocab.decode(Array.from({ length: vocab.size }, (_, i) => i)) !== this.vocab.decode(Array.from({ length: this.vocab.size }, (_, i) => i))) {
      throw new Error(`train: these weights were trained on a different character set (${vocab.size} characters, this text has ${this.vocab.size})`);
    }
    this.model.loadStateDict(ck.tensors);
  }
}
