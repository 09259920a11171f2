import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CharLMTask, CharRNN, CharVocab, fit } from '@unfold/rnn';
import { directoryStore, loadCheckpoint } from '@unfold/rnn/node';

const text = 'the quick brown fox jumps over the lazy dog. '.repeat(40);
const vocab = CharVocab.fromText(text);
const ids = vocab.encode(text);
const train = ids.subarray(0, 1500);
const val = ids.subarray(1500);
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'unfold-fit-'));

function setup(seed = 1, extra: Partial<ConstructorParameters<typeof CharLMTask>[1]> = {}) {
  const model = new CharRNN({ cell: 'lstm', vocabSize: vocab.size, hiddenSize: 12, numLayers: 2, dropout: 0.1, seed });
  const task = new CharLMTask(model, { train, val, batchSize: 4, seqLen: 10, maxValWindows: 3, ...extra });
  return { model, task };
}

describe('fit', () => {
  test('learns, records loss/grad-norm/lr per step, validates', () => {
    const { model, task } = setup();
    const r = fit(model, task, { steps: 60, clipNorm: 1, valEvery: 30, log: 'none', optimizer: { name: 'adam', lr: 2e-2 } });
    expect(r.steps).toBe(60);
    expect(r.history).toHaveLength(60);
    expect(r.history.every((h) => h.gradNorm > 0 && h.lr === 2e-2)).toBe(true);
    expect(r.validation.map((v) => v.step)).toEqual([30, 60]);
    // from ln(V) ≈ 3.2 nats towards the text's low entropy
    expect(r.history[0].loss).toBeGreaterThan(3);
    expect(r.validation[1].loss).toBeLessThan(2.2);
  });

  test('resuming from a checkpoint continues bit-identically (weights, optimizer, data position, dropout RNG)', () => {
    const dir = tmp();
    const a = setup();
    const full = fit(a.model, a.task, { steps: 12, log: 'none', optimizer: { name: 'adam', lr: 5e-3 } });
    const b = setup();
    fit(b.model, b.task, { steps: 5, log: 'none', optimizer: { name: 'adam', lr: 5e-3 }, checkpoint: directoryStore(dir) });
    const c = setup(); // a fresh process would build the same objects, then resume
    const rest = fit(c.model, c.task, { steps: 12, log: 'none', optimizer: { name: 'adam', lr: 5e-3 }, checkpoint: directoryStore(dir), resume: true });
    expect(rest.history.map((h) => h.loss)).toEqual(full.history.map((h) => h.loss));
    const wa = a.model.stateDict();
    const wc = c.model.stateDict();
    for (const k of Object.keys(wa)) expect(Array.from(wc[k].data)).toEqual(Array.from(wa[k].data));
    expect(loadCheckpoint(dir).meta.step).toBe(12);
  });

  test('early stopping restores the best weights', () => {
    const { model, task } = setup();
    // a learning rate far too high makes validation loss get worse after the first checks
    const r = fit(model, task, { steps: 200, valEvery: 2, earlyStopping: { patience: 2 }, log: 'none', optimizer: { name: 'sgd', lr: 40 } });
    expect(r.stoppedEarly).toBe(true);
    expect(r.steps).toBeLessThan(200);
    expect(task.validate()).toBeCloseTo(r.bestValLoss!, 10);
  });

  test('k1 < k2: every position of the stream is trained on exactly once per epoch', () => {
    const { model, task } = setup(1, { k1: 4, seqLen: 10 });
    const seen: number[] = [];
    for (let s = 0; s < 30; s++) {
      const { batch, epoch } = task.next(s);
      if (epoch > 0) break;
      // lane 0's targets that carry loss: the last k1 (or fewer) steps of the window
      for (let t = batch.skip; t < batch.T; t++) seen.push(batch.y[t * 4]);
      expect(batch.T - batch.skip).toBe(4);
      expect(batch.T).toBeLessThanOrEqual(10);
    }
    const lane = Array.from(train.subarray(1, 1 + seen.length));
    expect(seen).toEqual(lane);
    void model;
  });

  test('curriculum grows the window length', () => {
    const { task } = setup(1, { seqLen: 16, curriculum: { start: 4, every: 3 } });
    expect([0, 2, 3, 5, 6, 9, 100].map((s) => task.seqLenAt(s))).toEqual([4, 4, 8, 8, 16, 16, 16]);
    expect(task.next(0).batch.T).toBe(4);
  });

  test('bad options are named; a non-writable checkpoint folder fails before training', () => {
    const { model, task } = setup();
    expect(() => fit(model, task, { steps: 1, lr: 3 } as never)).toThrow('fit: unknown option lr');
    expect(() => fit(model, task, {})).toThrow('fit: give steps, epochs or timeBudgetSec');
    expect(() => fit(model, task, { steps: 1, optimizer: { name: 'adamax' } })).toThrow(/adamax/);
    expect(() => fit(model, task, { steps: 1, optimizer: { name: 'adam', lr: -1 } })).toThrow(/lr/);
    const file = path.join(tmp(), 'a-file');
    fs.writeFileSync(file, 'x');
    expect(() => fit(model, task, { steps: 1, checkpoint: directoryStore(path.join(file, 'ckpt')), log: 'none' })).toThrow(/^directoryStore: checkpoint folder .*a-file\/ckpt is not writable/);
    expect(() => new CharLMTask(model, { train: train.subarray(0, 30), batchSize: 4, seqLen: 10 })).toThrow('CharLMTask: the training text (30 characters) is too short');
  });
});

describe('fit: runs are not lost, history stays bounded', () => {
  test('resume from a crash that left only checkpoint.prev continues the run (not step 1)', () => {
    const dir = path.join(tmp(), 'checkpoint');
    const a = setup();
    const full = fit(a.model, a.task, { steps: 10, log: 'none', optimizer: { name: 'adam', lr: 5e-3 } });
    const b = setup();
    fit(b.model, b.task, { steps: 4, log: 'none', optimizer: { name: 'adam', lr: 5e-3 }, checkpoint: directoryStore(dir) });
    fs.renameSync(dir, `${dir}.prev`); // killed between moving the old checkpoint aside and the commit
    const c = setup();
    const rest = fit(c.model, c.task, { steps: 10, log: 'none', optimizer: { name: 'adam', lr: 5e-3 }, checkpoint: directoryStore(dir), resume: true });
    expect(rest.history[0].step).toBe(1);
    expect(rest.history.map((h) => h.loss)).toEqual(full.history.map((h) => h.loss));
    expect(loadCheckpoint(dir).meta.step).toBe(10);
    expect(fs.existsSync(`${dir}.prev`)).toBe(false);
  });

  test('historyLimit: memory and checkpoint size stay flat; a resumed run keeps the same records', () => {
    const dir = tmp();
    const o = { log: 'none' as const, historyLimit: 16, valEvery: 3, optimizer: { name: 'adam', lr: 5e-3 } };
    const a = setup();
    const sizes: number[] = [];
    const full = fit(a.model, a.task, { ...o, steps: 150, checkpoint: { save: (c) => sizes.push(JSON.stringify(c.meta).length), load: () => null }, checkpointEvery: 10 });
    expect(full.history.length).toBeLessThanOrEqual(16);
    expect(full.history.length).toBeGreaterThanOrEqual(8);
    expect(full.validation.length).toBeLessThanOrEqual(16);
    expect(full.history.every((h) => h.step % 16 === 0)).toBe(true); // stride doubled 1 → 16
    expect(Math.max(...sizes.slice(3))).toBeLessThan(1.3 * Math.min(...sizes.slice(3))); // constant size after the first thinning
    expect(full.bestValLoss).toBeLessThanOrEqual(Math.min(...full.validation.map((v) => v.loss))); // the best is tracked even when its record was thinned out
    const b = setup();
    fit(b.model, b.task, { ...o, steps: 78, checkpoint: directoryStore(dir) }); // 78: a validation step, so the stop adds no extra validation
    const c = setup();
    const rest = fit(c.model, c.task, { ...o, steps: 150, checkpoint: directoryStore(dir), resume: true });
    expect(rest.history).toEqual(full.history);
    expect(rest.validation).toEqual(full.validation);
    expect([rest.bestStep, rest.bestValLoss]).toEqual([full.bestStep, full.bestValLoss]);
  });
});
