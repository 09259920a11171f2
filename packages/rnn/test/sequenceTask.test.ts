import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng, TensorError, full, permutation } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { Embedding, Linear, Module, fit, paddingFraction } from '@unfold/rnn';
import { SequenceBatch, SequenceExample, SequenceTask } from '../src/train/sequenceTask';
import { directoryStore } from '@unfold/rnn/node';

function examples(n: number, seed: number, maxLen = 30): SequenceExample[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const len = rng.int(1, maxLen + 1);
    const ids = Array.from({ length: len }, () => rng.int(1, 10));
    return { ids, label: ids[0] % 2, tags: ids.map((v) => v % 3) };
  });
}

const zeroLoss = () => ({ loss: full([], 0) });

/** All batches of epochs [0, epochs), read through next() as fit does. */
function epochsOf(task: SequenceTask, epochs: number): number[][][] {
  const out: number[][][] = [];
  for (let step = 0; ; step++) {
    const { batch, epoch } = task.next(step);
    if (epoch >= epochs) return out;
    (out[epoch] ??= []).push(batch.indices);
  }
}

describe('SequenceTask', () => {
  test('visits every example exactly once per epoch, in a new order each epoch', () => {
    const xs = examples(103, 1);
    const task = new SequenceTask({ examples: xs, batchSize: 8, lossFn: zeroLoss, rng: new Rng(2), bucketWidth: 5 });
    const eps = epochsOf(task, 4);
    expect(eps).toHaveLength(4);
    for (const batches of eps) {
      const seen = batches.flat().sort((a, b) => a - b);
      expect(seen).toEqual(Array.from({ length: 103 }, (_, i) => i));
      expect(batches.length).toBe(task.batchesPerEpoch);
      expect(batches.every((b) => b.length >= 1 && b.length <= 8)).toBe(true);
    }
    expect(eps[1].flat()).not.toEqual(eps[0].flat());
    expect(eps[2].flat()).not.toEqual(eps[1].flat());
  });

  test('buckets: a batch spans < bucketWidth lengths, and pads far less than random batching', () => {
    const xs = examples(400, 3, 40);
    const lengths = xs.map((e) => e.ids.length);
    const task = new SequenceTask({ examples: xs, batchSize: 16, lossFn: zeroLoss, rng: new Rng(4), bucketWidth: 4 });
    const [batches] = epochsOf(task, 1);
    for (const b of batches) {
      const ls = b.map((i) => lengths[i]);
      expect(Math.max(...ls) - Math.min(...ls)).toBeLessThan(4);
    }
    const bucketed = paddingFraction(lengths, batches);
    const rng = new Rng(5);
    let random = 0;
    for (let r = 0; r < 5; r++) {
      const p = permutation(xs.length, rng);
      const rb: number[][] = [];
      for (let s = 0; s < p.length; s += 16) rb.push(p.slice(s, s + 16));
      random += paddingFraction(lengths, rb) / 5;
    }
    // lengths uniform on 1..40: random batches of 16 pad ≈ half their cells, buckets of 4 ≈ 1.5/avg-length
    expect(random).toBeGreaterThan(0.35);
    expect(bucketed).toBeLessThan(0.1);
    expect(bucketed).toBeLessThan(random / 4);
  });

  test('batches are padded time-major with lengths, mask, labels and tags aligned', () => {
    const xs = examples(37, 6, 12);
    const task = new SequenceTask({ examples: xs, batchSize: 5, lossFn: zeroLoss, rng: new Rng(7), bucketWidth: 3, padId: 0 });
    for (let step = 0; step < 20; step++) {
      const b: SequenceBatch = task.next(step).batch;
      const [T, B] = b.shape;
      expect(B).toBe(b.indices.length);
      expect(T).toBe(Math.max(...b.indices.map((i) => xs[i].ids.length)));
      b.indices.forEach((i, col) => {
        const e = xs[i];
        expect(b.lengths[col]).toBe(e.ids.length);
        expect(b.labels![col]).toBe(e.label);
        for (let t = 0; t < T; t++) {
          const real = t < e.ids.length;
          expect(b.ids[t * B + col]).toBe(real ? e.ids[t] : 0);
          expect(b.tags![t * B + col]).toBe(real ? e.tags![t] : 0);
          expect(b.mask.get(t, col)).toBe(real ? 1 : 0);
        }
      });
    }
  });

  test('getState/setState (through JSON) continues with the same batches, mid-epoch and at an epoch boundary', () => {
    const xs = examples(50, 8);
    const make = () => new SequenceTask({ examples: xs, batchSize: 6, lossFn: zeroLoss, rng: new Rng(9), bucketWidth: 4 });
    const perEpoch = make().batchesPerEpoch;
    for (const cut of [0, 3, perEpoch, perEpoch + 2]) {
      const a = make();
      for (let s = 0; s < cut; s++) a.next(s);
      const state = JSON.parse(JSON.stringify(a.getState()));
      const b = make();
      b.next(0); // a different position and rng state, overwritten by setState
      b.next(1);
      b.setState(state);
      for (let s = cut; s < cut + 3 * perEpoch; s++) {
        const ra = a.next(s);
        const rb = b.next(s);
        expect(rb.epoch).toBe(ra.epoch);
        expect(rb.batch.indices).toEqual(ra.batch.indices);
      }
    }
  });

  test('validate() is the item-weighted mean of the batch losses, and restores training mode', () => {
    const xs = examples(60, 10);
    const val = examples(23, 11);
    const model = new Linear(2, 2);
    const modes: boolean[] = [];
    // the loss of a batch = mean label: the validation mean must be the mean label over all of val
    const lossFn = (b: SequenceBatch) => {
      modes.push(model.training);
      return { loss: full([], b.labels!.reduce((s, v) => s + v, 0) / b.labels!.length, 'float64') };
    };
    const task = new SequenceTask({ examples: xs, val, batchSize: 4, lossFn, rng: new Rng(1), model });
    const expected = val.reduce((s, e) => s + e.label!, 0) / val.length;
    expect(task.validate()).toBeCloseTo(expected, 12);
    expect(modes.length).toBeGreaterThan(1);
    expect(modes.every((m) => m === false)).toBe(true);
    expect(model.training).toBe(true);
    // per-token weights: mean tag over all real tokens
    const tokenTask = new SequenceTask({
      examples: xs, val, batchSize: 4, rng: new Rng(1),
      lossFn: (b) => {
        let s = 0;
        let n = 0;
        for (let k = 0; k < b.tags!.length; k++) if (b.mask.data[k] === 1) { s += b.tags![k]; n++; }
        return { loss: full([], s / n, 'float64'), weight: n };
      },
    });
    const tokens = val.flatMap((e) => e.tags!);
    expect(tokenTask.validate()).toBeCloseTo(tokens.reduce((a, b) => a + b, 0) / tokens.length, 12);
  });

  test('fit trains through it, and a run resumed from a checkpoint continues bit-identically', () => {
    class BagOfWords extends Module {
      readonly emb = this.registerModule('emb', new Embedding(10, 4, { rng: new Rng(1) }));
      readonly fc = this.registerModule('fc', new Linear(4, 2, { rng: new Rng(2) }));
      loss(b: SequenceBatch) {
        const [T, B] = b.shape;
        const e = ad.mul(ad.reshape(this.emb.forward(b.ids), [T, B, 4]), ad.reshape(b.mask, [T, B, 1]));
        const logits = this.fc.forward(ad.sum(e, 0)); // [B, 2]
        return { loss: ad.crossEntropy(logits, b.labels!) };
      }
    }
    const xs = examples(40, 12, 10);
    const setup = () => {
      const model = new BagOfWords();
      const task = new SequenceTask({ examples: xs, val: xs.slice(0, 10), batchSize: 6, lossFn: (b) => model.loss(b), rng: new Rng(3), model });
      return { model, task };
    };
    const opts = { log: 'none' as const, optimizer: { name: 'adam', lr: 1e-2 } };
    const a = setup();
    const full = fit(a.model, a.task, { steps: 20, ...opts });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unfold-seqtask-'));
    try {
      const b = setup();
      fit(b.model, b.task, { steps: 9, checkpoint: directoryStore(dir), ...opts }); // stops mid-epoch 1 (7 batches per epoch)
      const c = setup();
      const rest = fit(c.model, c.task, { steps: 20, checkpoint: directoryStore(dir), resume: true, ...opts });
      expect(rest.history.map((h) => h.loss)).toEqual(full.history.map((h) => h.loss));
      expect(c.task.validate()).toBe(a.task.validate());
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    // and `epochs` counts whole passes over the data
    const d = setup();
    const r = fit(d.model, d.task, { epochs: 2, ...opts });
    expect(r.steps).toBe(2 * d.task.batchesPerEpoch);
    expect(r.stopReason).toBe('epochs');
  });

  test('rejects bad options and malformed examples, naming the problem', () => {
    const ok = examples(5, 1);
    expect(() => new SequenceTask({ examples: ok, batchSize: 0, lossFn: zeroLoss })).toThrow(/batchSize must be a positive integer, got 0/);
    expect(() => new SequenceTask({ examples: [], batchSize: 2, lossFn: zeroLoss })).toThrow(/examples must be a non-empty array/);
    expect(() => new SequenceTask({ examples: [{ ids: [1] }, { ids: [] }], batchSize: 2, lossFn: zeroLoss })).toThrow(/examples\[1\] is empty/);
    expect(() => new SequenceTask({ examples: [{ ids: [1, 2], tags: [0] }], batchSize: 2, lossFn: zeroLoss })).toThrow(/has 2 ids but 1 tags/);
    expect(() => new SequenceTask({ examples: [{ ids: [1], label: 0 }, { ids: [2] }], batchSize: 2, lossFn: zeroLoss })).toThrow(/examples\[1\] has no label/);
    expect(() => new SequenceTask({ examples: ok, batchSize: 2, lossFn: zeroLoss, bucketWidth: 0 })).toThrow(TensorError);
    expect(() => new SequenceTask({ examples: ok, batchSize: 2, lossFn: zeroLoss }).validate()).toThrow(/no validation examples/);
  });
});
