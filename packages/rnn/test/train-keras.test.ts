import { Rng, Tensor, tensor } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import {
  DataLoader, Embedding, GRU, LSTM, LastStep, Linear, MetricSums, Sequential, SGD, csvLogger, earlyStopping, evaluate, jsonLogger,
  learningRateScheduler, modelCheckpoint, reduceLROnPlateau, stepLR, stepSchedule,
} from '@unfold/rnn';

// Keras-style training (train/keras.ts): regression, many-to-one classification and tagging.

/** Windows of a noisy sine: x [N, T, 1], y [N, 1] = the next value. */
function sineData(n: number, T: number, seed = 1) {
  const rng = new Rng(seed);
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < n; i++) {
    const phase = rng.next() * 6.28;
    for (let t = 0; t < T; t++) xs.push(Math.sin(phase + 0.5 * t));
    ys.push(Math.sin(phase + 0.5 * T));
  }
  return { x: tensor(xs, [n, T, 1]), y: tensor(ys, [n, 1]) };
}
const regressor = (seed = 1) => new Sequential(new LastStep(new LSTM({ inputSize: 1, hiddenSize: 8, batchFirst: true, seed })), new Linear(8, 1, { rng: new Rng(seed) }));

/** Id sequences of length 2…6 over tokens 1…4; label 1 iff token 3 occurs. */
function idData(n: number, seed = 2) {
  const rng = new Rng(seed);
  const seqs: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = Array.from({ length: rng.int(2, 7) }, () => rng.int(1, 5));
    seqs.push(s);
    labels.push(s.includes(3) ? 1 : 0);
  }
  return { seqs, labels, tags: seqs.map((s) => s.map((v) => v % 2)) };
}

describe('Sequential.fit / evaluate / predict', () => {
  test('regression on a time series: loss falls, history has val_ entries, same seed same run', () => {
    const { x, y } = sineData(64, 8);
    const run = () => {
      const m = regressor();
      m.compile({ optimizer: { name: 'adam', lr: 0.02 }, loss: 'mse', metrics: ['mae'] });
      return { m, h: m.fit(x, y, { epochs: 8, batchSize: 16, validationSplit: 0.25, seed: 3 }) };
    };
    const { m, h } = run();
    expect(Object.keys(h.history)).toEqual(['loss', 'mae', 'val_loss', 'val_mae']);
    expect(h.history.loss[7]).toBeLessThan(h.history.loss[0] / 3);
    expect(run().h).toEqual(h);
    const ev = m.evaluate(ad.slice(x, { start: 48, stop: 64 }), ad.slice(y, { start: 48, stop: 64 }));
    expect(ev.loss).toBeCloseTo(h.history.val_loss[7], 6); // validationSplit = the last 25 %, evaluated after the epoch
    const p = m.predict(x);
    expect(p.shape).toEqual([64, 1]);
    const mse = Array.from(p.toFlatArray()).reduce((a, v, i) => a + (v - y.data[i]) ** 2, 0) / 64;
    expect(m.evaluate(x, y).loss).toBeCloseTo(mse, 6);
  });

  test('many-to-one classification of id sequences of different lengths', () => {
    const { seqs, labels } = idData(120);
    const m = new Sequential(new Embedding(5, 6, { rng: new Rng(1) }), new LastStep(new GRU({ inputSize: 6, hiddenSize: 8, batchFirst: true, seed: 2 })), new Linear(8, 2, { rng: new Rng(3) }));
    m.compile({ optimizer: { name: 'adam', lr: 0.03 }, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy', 'perplexity'] });
    const h = m.fit(seqs.slice(0, 100), labels.slice(0, 100), { epochs: 12, batchSize: 20, validationData: [seqs.slice(100), labels.slice(100)] });
    expect(h.history.accuracy[11]).toBeGreaterThan(0.9);
    expect(h.history.val_accuracy[11]).toBeGreaterThan(0.85);
    expect(h.history.perplexity[11]).toBeCloseTo(Math.exp(h.history.loss[11]), 6);
    // accuracy is what predict's argmax says
    const p = m.predict(seqs.slice(100));
    const acc = labels.slice(100).filter((l, i) => (p.get(i, 1) > p.get(i, 0) ? 1 : 0) === l).length / 20;
    expect(h.history.val_accuracy[11]).toBeCloseTo(acc, 12);
  });

  test('tagging: one class per step, padding masked out of loss and accuracy', () => {
    const { seqs, tags } = idData(80, 5);
    const m = new Sequential(new Embedding(5, 4, { rng: new Rng(1) }), new LSTM({ inputSize: 4, hiddenSize: 6, batchFirst: true, seed: 3 }), new Linear(6, 2, { rng: new Rng(4) }));
    m.compile({ optimizer: { name: 'adam', lr: 0.05 }, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const h = m.fit(seqs, tags, { epochs: 6, batchSize: 16 });
    expect(h.history.accuracy[5]).toBeGreaterThan(0.95);
    const p = m.predict(seqs);
    expect(p.shape).toEqual([80, 6, 2]); // padded to the longest
    let ok = 0, n = 0;
    seqs.forEach((s, i) => s.forEach((_, t) => ((ok += (p.get(i, t, 1) > p.get(i, t, 0) ? 1 : 0) === tags[i][t] ? 1 : 0), n++)));
    expect(evaluate(m, seqs, tags).accuracy).toBeCloseTo(ok / n, 12);
  });

  test('regularizers add to the training loss', () => {
    const { x, y } = sineData(16, 4);
    const losses = [undefined, { l2: 1 }].map((r) => {
      const m = new Sequential(new LastStep(new LSTM({ inputSize: 1, hiddenSize: 4, batchFirst: true, seed: 1, kernelRegularizer: r })), new Linear(4, 1));
      const opt = new SGD(m.parameters(), { lr: 1 });
      opt.lr = 0; // the same weights in both runs
      m.compile({ optimizer: opt, loss: 'mse' });
      return m.fit(x, y, { epochs: 1, batchSize: 16 }).history.loss[0];
    });
    expect(losses[1]).toBeGreaterThan(losses[0] + 0.01);
  });

  test('errors are named', () => {
    const m = regressor();
    const { x, y } = sineData(8, 3);
    expect(() => m.fit(x, y)).toThrow('fit: call compile(model, { optimizer, loss, metrics }) first');
    expect(() => m.compile({ loss: 'mse', metrics: ['acc' as never] })).toThrow("compile: unknown metric 'acc' (valid: accuracy, mae, mse, perplexity)");
    m.compile({ loss: 'mse' });
    expect(() => m.fit(x, y, { epoch: 2 } as never)).toThrow(/fit: unknown option epoch \(valid: batchSize, epochs/);
    expect(() => m.fit(x, tensor([1, 2], [2, 1]))).toThrow('DataLoader: y [2,1] must have N = 8 rows, as x');
    expect(() => m.fit(x, [0, 1, 0, 1, 0, 1, 0, 1])).toThrow('mse: regression needs a float tensor as y, got labels');
    expect(() => m.fit(x, y, { validationSplit: 0.01 })).toThrow('leaves 0 for validation');
  });
});

describe('callbacks', () => {
  const { x, y } = sineData(32, 5);
  test('earlyStopping with restoreBestWeights leaves the best epoch\'s weights', () => {
    const m = regressor();
    m.compile({ optimizer: { name: 'sgd', lr: 3 }, loss: 'mse' }); // far too high: validation gets worse
    const saved: { epoch: number }[] = [];
    const es = earlyStopping({ patience: 1, restoreBestWeights: true });
    const h = m.fit(x, y, { epochs: 30, batchSize: 8, validationSplit: 0.25, callbacks: [es, modelCheckpoint((_, info) => saved.push(info), { saveBestOnly: true })] });
    expect(h.epochs.length).toBeLessThan(30);
    expect(es.stoppedEpoch).toBe(h.epochs.length - 1);
    const best = Math.min(...h.history.val_loss);
    expect(h.history.val_loss[es.bestEpoch!]).toBe(best);
    expect(m.evaluate(ad.slice(x, { start: 24, stop: 32 }), ad.slice(y, { start: 24, stop: 32 })).loss).toBeCloseTo(best, 6);
    expect(saved[saved.length - 1].epoch).toBe(es.bestEpoch);
  });

  test('earlyStopping counts patience as Keras does', () => {
    const run = (patience: number, vals: number[], mode?: 'max') => {
      const es = earlyStopping({ patience, monitor: 'm', mode });
      const ctx = { model: regressor(), optimizer: new SGD([], { lr: 1 }), stopTraining: false, step: 0 };
      es.onTrainBegin!(ctx as never);
      let e = 0;
      for (; e < vals.length && !ctx.stopTraining; e++) es.onEpochEnd!(e, { m: vals[e] }, ctx as never);
      return [es.stoppedEpoch, es.bestEpoch];
    };
    expect(run(2, [3, 2, 2.5, 2.6, 1])).toEqual([3, 1]); // two epochs without improvement: stop at the second
    expect(run(0, [3, 2, 2.5, 1])).toEqual([2, 1]);
    expect(run(1, [3, 2, 1, 0])).toEqual([null, 3]); // improving every epoch never stops
    expect(run(1, [0.5, 0.4, 0.9], 'max')).toEqual([1, 0]);
  });

  test('CSV and JSON loggers write to injected writers', () => {
    const m = regressor();
    m.compile({ loss: 'mse', metrics: ['mse'] });
    let csv = '';
    const json: string[] = [];
    const h = m.fit(x, y, { epochs: 3, validationSplit: 0.25, callbacks: [csvLogger((t) => (csv += t)), jsonLogger((t) => json.push(t))] });
    const lines = csv.trim().split('\n');
    expect(lines[0]).toBe('epoch,loss,mse,val_loss,val_mse');
    expect(lines[2].split(',').map(Number)).toEqual([1, h.history.loss[1], h.history.mse[1], h.history.val_loss[1], h.history.val_mse[1]]);
    expect(JSON.parse(json[2])).toEqual({ epoch: 2, loss: h.history.loss[2], mse: h.history.mse[2], val_loss: h.history.val_loss[2], val_mse: h.history.val_mse[2] });
  });

  test('learning-rate callbacks: per epoch, per step (PyTorch schedules), on plateau', () => {
    const seen: number[] = [];
    const m = regressor();
    const c = m.compile({ optimizer: { name: 'sgd', lr: 0.1 }, loss: 'mse' });
    m.fit(x, y, { epochs: 3, batchSize: 16, callbacks: [learningRateScheduler((e, lr) => (e === 0 ? lr : lr / 2)), { onEpochEnd: () => void seen.push(c.optimizer.lr) }] });
    expect(seen).toEqual([0.1, 0.05, 0.025]);
    const steps: number[] = [];
    m.fit(x, y, { epochs: 2, batchSize: 8, callbacks: [stepSchedule(stepLR(0.1, { stepSize: 3, gamma: 0.5 })), { onBatchEnd: () => void steps.push(c.optimizer.lr) }] });
    expect(steps).toEqual([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025]);
    const plateau = regressor();
    const p = plateau.compile({ optimizer: { name: 'sgd', lr: 1 }, loss: 'mse', metrics: ['mae'] });
    const lrs: number[] = [];
    // lr 1e-9: the loss stays flat, so after patience 1 the plateau rule halves the lr (once, at epoch 2)
    plateau.fit(x, y, { epochs: 4, shuffle: false, callbacks: [{ onTrainBegin: () => void (p.optimizer.lr = 1e-9) }, reduceLROnPlateau({ monitor: 'loss', patience: 1, factor: 0.5, eps: 0 }), { onEpochEnd: () => void lrs.push(p.optimizer.lr) }] });
    expect(lrs).toEqual([1e-9, 1e-9, 5e-10, 5e-10]);
  });
});

describe('DataLoader', () => {
  test('float sequences of different lengths: padded batches with lengths; shuffling visits every example once', () => {
    const seqs = [[[1, 2]], [[3, 4], [5, 6]], [[7, 8], [9, 10], [11, 12]]];
    const dl = new DataLoader(seqs, [0, 1, 2], { batchSize: 2, shuffle: true, rng: new Rng(4) });
    const batches = [...dl.batches()];
    expect(batches.map((b) => b.x.shape)).toEqual([[2, 3, 2], [1, 3, 2]]);
    const seen = batches.flatMap((b) => b.indices).sort();
    expect(seen).toEqual([0, 1, 2]);
    for (const b of batches) b.indices.forEach((i, k) => expect(b.lengths![k]).toBe(i + 1));
    const b2 = batches.find((b) => b.indices.includes(2))!;
    const k = b2.indices.indexOf(2);
    expect(b2.x.get(k, 2, 1)).toBe(12);
    expect(dl.numBatches).toBe(2);
  });
  test('MetricSums: accuracy, mae, mse, perplexity as defined', () => {
    const s = new MetricSums();
    const logits = tensor([2, 0, 0, 1, 3, 0], [3, 2]);
    s.addBatch(['accuracy', 'perplexity'], logits, { kind: 'labels', ids: Int32Array.from([0, 1, 1]) });
    const ce = [Math.log(1 + Math.exp(-2)), Math.log(1 + Math.exp(-1)), Math.log(1 + Math.exp(3))];
    const r = s.result();
    expect(r.accuracy).toBeCloseTo(2 / 3, 12);
    expect(r.perplexity).toBeCloseTo(Math.exp((ce[0] + ce[1] + ce[2]) / 3), 6);
    const d = new MetricSums();
    d.addBatch(['mae', 'mse'], tensor([1, 2], [2, 1]), { kind: 'dense', t: tensor([0, 4], [2, 1]) });
    expect(d.result()).toEqual({ mae: 1.5, mse: 2.5 });
  });
  test('bad input is named', () => {
    expect(() => new DataLoader([[1, 2]], [[0]])).toThrow('DataLoader: y[0] must hold one tag per step (2), got 1');
    expect(() => new DataLoader(tensor([1, 2], [2, 1]), null, { batch: 2 } as never)).toThrow(/unknown option batch/);
    expect(() => new DataLoader([[1]], [-1])).toThrow('y[0]: -1 is not a class index');
  });
});
void Tensor;

describe('node fileWriter', () => {
  test('csvLogger through a file', () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const fs = require('node:fs') as typeof import('node:fs');
    const os = require('node:os') as typeof import('node:os');
    const path = require('node:path') as typeof import('node:path');
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { fileWriter } = require('@unfold/rnn/node') as typeof import('../src/node');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'unfold-log-')), 'log.csv');
    const m = regressor();
    m.compile({ loss: 'mse' });
    m.fit(sineData(8, 3).x, sineData(8, 3).y, { epochs: 2, callbacks: [csvLogger(fileWriter(file))] });
    expect(fs.readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(3);
  });
});
