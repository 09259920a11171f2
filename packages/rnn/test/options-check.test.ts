import { Rng, Tensor } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import {
  CharLMTask, CharRNN, CharVocab, Embedding, GRU, LSTM, Linear, SequenceTask, StreamBatcher, bucketByLength, computeGradients, drawFrom, fit,
  makeWindows, padFeatureSequences, padSequences, sampleIds, syntheticSeries, heatmap, linePlot, splitText, gradientFlow, makeSentimentDataset,
  makeTaggingDataset, makeReverseDataset, makeAdditionDataset, CharTransformer, loadPytorchJson, stateDictToJson,
} from '@unfold/rnn';

const model = () => new CharRNN({ cell: 'lstm', vocabSize: 5, hiddenSize: 4 });
const ids = new Int32Array([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 1, 2]);

// [what, call with a typo, the unknown name, one valid name the message must list]
const typos: [string, () => unknown, string, string][] = [
  ['Linear({ bais })', () => new Linear(3, 2, { bais: false } as never), 'bais', 'bias'],
  ['Embedding', () => new Embedding(5, 2, { dtyp: 'float64' } as never), 'dtyp', 'dtype'],
  ['sampleIds({ temp })', () => sampleIds(model(), [0], { length: 2, temp: 0.5 } as never), 'temp', 'temperature'],
  ['padSequences', () => padSequences([[1, 2]], { maxlen: 3 } as never), 'maxlen', 'maxLen'],
  ['padFeatureSequences', () => padFeatureSequences([[[1]]], { padding: 'pre' } as never), 'padding', 'truncating'],
  ['CharLMTask({ seqlen })', () => new CharLMTask(model(), { train: ids, batchSize: 2, seqLen: 3, seqlen: 4 } as never), 'seqlen', 'seqLen'],
  ['CharLMTask curriculum', () => new CharLMTask(model(), { train: ids, batchSize: 2, seqLen: 3, curriculum: { start: 2, evry: 3 } } as never), 'evry', 'every'],
  ['SequenceTask', () => new SequenceTask({ examples: [{ ids: [1] }], batchSize: 1, lossFn: () => ({ loss: ad.mse(Tensor.fromArray(new Float64Array([0]), []), Tensor.fromArray(new Float64Array([0]), [])) }), shuffle: true } as never), 'shuffle', 'bucketWidth'],
  ['makeWindows', () => makeWindows([1, 2, 3, 4, 5], { inputLen: 2, horizon: 1, step: 1 } as never), 'step', 'stride'],
  ['syntheticSeries', () => syntheticSeries(10, new Rng(0), { noize: 0 } as never), 'noize', 'noise'],
  ['StreamBatcher', () => new StreamBatcher(ids, { batchSize: 2, seqLen: 3, shuffle: true } as never), 'shuffle', 'randomOffset'],
  ['bucketByLength', () => bucketByLength([1, 2], { batchSize: 1, width: 2 } as never), 'width', 'bucketWidth'],
  ['CharVocab.encode', () => CharVocab.fromText('ab').encode('ab', { unk: 0 } as never), 'unk', 'unknownId'],
  ['CharVocab.fromText', () => CharVocab.fromText('ab', { extra: 'c' } as never), 'extra', 'extraChars'],
  ['splitText', () => splitText('abcdefghij', { valid: 0.1 } as never), 'valid', 'val'],
  ['makeSentimentDataset', () => makeSentimentDataset(2, new Rng(0), { maxlen: 3 } as never), 'maxlen', 'maxLen'],
  ['makeTaggingDataset', () => makeTaggingDataset(2, new Rng(0), { clauses: 3 } as never), 'clauses', 'maxClauses'],
  ['makeReverseDataset', () => makeReverseDataset(2, new Rng(0), { len: 3 } as never), 'len', 'minLen'],
  ['makeAdditionDataset', () => makeAdditionDataset(2, new Rng(0), { digits: 3 } as never), 'digits', 'maxDigits'],
  ['heatmap', () => heatmap({ values: [[1]], colour: true } as never), 'colour', 'logColor'],
  ['linePlot', () => linePlot({ series: [{ name: 'a', x: [0, 1], y: [0, 1] }], logy: true } as never), 'logy', 'logY'],
  ['gradientFlow', () => gradientFlow(model(), { ids: [0, 1], shape: [2, 1] } as never, { sed: 1 } as never), 'sed', 'seed'],
  ['CharTransformer', () => new CharTransformer({ vocabSize: 5, dModel: 4, nHeads: 1, nLayers: 1, blockSize: 4, heads: 2 } as never), 'heads', 'nHeads'],
  ['loadPytorchJson', () => loadPytorchJson({}, { dtpye: 'float32' } as never), 'dtpye', 'dtype'],
  ['stateDictToJson', () => stateDictToJson({}, { indent: 2 } as never), 'indent', 'space'],
  ['computeGradients', () => computeGradients(model(), () => ({ loss: Tensor.fromArray(new Float64Array([0]), []) }), { check: true } as never), 'check', 'checkNumerics'],
  ['fit earlyStopping', () => fit(model(), new CharLMTask(model(), { train: ids, val: ids, batchSize: 2, seqLen: 3 }), { steps: 1, valEvery: 1, log: 'none', earlyStopping: { patience: 1, restore: true } as never }), 'restore', 'restoreBest'],
];

describe('one options checker everywhere', () => {
  test.each(typos)('%s rejects an unknown name and lists the valid ones', (_, call, bad, good) => {
    let msg = '';
    try {
      call();
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(new RegExp(`unknown \\w*\\s?option ${bad} \\(valid: .*\\b${good}\\b`));
  });

  test('options that are not an object are named', () => {
    expect(() => new Linear(3, 2, null as never)).toThrow('Linear: options must be an object, got null');
    expect(() => padSequences([[1]], [] as never)).toThrow('padSequences: options must be an object, got an array');
  });

  test('the valid spellings still work (the checker is not rejecting everything)', () => {
    expect(new Linear(3, 2, { bias: false }).bias).toBeNull();
    expect(padSequences([[1, 2]], { maxLen: 3 }).shape).toEqual([3, 1]);
    expect(sampleIds(model(), [0], { length: 3, temperature: 0.5 })).toHaveLength(3);
  });
});

describe('drawFrom', () => {
  test.each([NaN, Infinity])('a %p logit is a named error, not the last index', (v) => {
    expect(() => drawFrom([0.1, v, 0.3], 1, 0, new Rng(0))).toThrow(`sample: logit 1 is ${v} (of 3)`);
  });
  test('-Infinity masks an entry (never drawn); all masked is a named error', () => {
    for (let s = 0; s < 50; s++) expect(drawFrom([-Infinity, 0, -Infinity, 0], 1, 0, new Rng(s))).not.toBe(0);
    expect(drawFrom([0, -Infinity, -Infinity], 1, 2, new Rng(0))).toBe(0); // top-k over masked entries too
    expect(() => drawFrom([-Infinity, -Infinity], 1, 0, new Rng(0))).toThrow('sample: all 2 logits are -Infinity');
  });
  test('finite logits still sample', () => {
    expect(drawFrom([0, 50, 0], 1, 0, new Rng(0))).toBe(1);
  });
});

describe('fit', () => {
  test('earlyStopping without valEvery is an error, not a no-op', () => {
    const m = model();
    const task = new CharLMTask(m, { train: ids, val: ids, batchSize: 2, seqLen: 3 });
    expect(() => fit(m, task, { steps: 3, log: 'none', earlyStopping: { patience: 1 } })).toThrow('fit: earlyStopping needs valEvery');
  });
});

describe('dropout with one layer', () => {
  test('warns once, as PyTorch does; not for two layers or no dropout', () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      new LSTM({ inputSize: 2, hiddenSize: 3, dropout: 0.2 });
      new LSTM({ inputSize: 2, hiddenSize: 3, dropout: 0.2 });
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0][0]).toMatch(/^LSTM: dropout 0.2 with numLayers 1 has no effect/);
      new GRU({ inputSize: 2, hiddenSize: 3, dropout: 0.2, numLayers: 2 });
      new GRU({ inputSize: 2, hiddenSize: 3 });
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
    }
  });
});

describe('computeGradients', () => {
  test('a parameter used in fn but not owned by the model is an error naming it', () => {
    const a = new Linear(3, 2, { dtype: 'float64' });
    const b = new Linear(2, 1, { dtype: 'float64', rng: new Rng(5) });
    b.parameters(); // gives b's records their qualified names
    const x = Tensor.fromArray(new Float64Array([1, 2, 3]), [1, 3]);
    expect(() => computeGradients(a, () => ({ loss: ad.sum(b.forward(a.forward(x))) }))).toThrow(
      /computeGradients: fn uses parameters 'weight' \(Linear, \[1,2\]\), 'bias' \(Linear, \[1\]\) that Linear does not own/,
    );
    // a foreign parameter that meets only constants is caught too (no tracked input at that op)
    expect(() => computeGradients(a, () => ({ loss: ad.add(ad.sum(a.forward(x)), ad.sum(b.forward(Tensor.fromArray(new Float64Array([1, 1]), [1, 2])))) }))).toThrow(/fn uses parameters 'weight'/);
    // the model's own parameters are fine, and get gradients
    computeGradients(a, () => ({ loss: ad.sum(a.forward(x)) }));
    expect(a.param('weight').grad).not.toBeNull();
    // inside noGrad nothing is recorded, so a foreign parameter there is allowed (a frozen readout)
    computeGradients(a, () => ({ loss: ad.add(ad.sum(a.forward(x)), ad.noGrad(() => ad.sum(b.forward(Tensor.fromArray(new Float64Array([1, 1]), [1, 2]))))) }));
  });
});
