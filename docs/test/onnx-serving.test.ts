import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CharLMTask, CharRNN, CharVocab, exportOnnx, fit, sampleIds, splitText } from '@unfold/rnn';

// docs/onnx.md's serving script, run as a user runs it (node, onnxruntime-web), on a model
// trained and exported here: its greedy text must be Unfold's greedy text.
const root = path.join(__dirname, '..', '..');
const script = path.join(root, 'docs', 'serve_onnx.mjs');

test('docs/onnx.md shows serve_onnx.mjs as it is', () => {
  const page = fs.readFileSync(path.join(root, 'docs', 'onnx.md'), 'utf8');
  expect(page).toContain('```js\n' + fs.readFileSync(script, 'utf8') + '```');
});

test.each(['lstm', 'gru'] as const)('serve_onnx.mjs generates what sampleIds generates (%s, greedy)', (cell) => {
  const text = 'to be or not to be, that is the question. '.repeat(40);
  const vocab = CharVocab.fromText(text);
  const { train, val } = splitText(vocab.encode(text), { val: 0.1, test: 0.1 });
  const model = new CharRNN({ cell, vocabSize: vocab.size, hiddenSize: 16, numLayers: 2, seed: 0 });
  fit(model, new CharLMTask(model, { train, val, batchSize: 4, seqLen: 12 }), { steps: 40, optimizer: { name: 'adam', lr: 2e-2 }, log: 'none' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unfold-onnx-'));
  try {
    fs.writeFileSync(path.join(dir, 'model.onnx'), exportOnnx(model));
    fs.writeFileSync(path.join(dir, 'vocab.json'), JSON.stringify(vocab.chars));
    const out = JSON.parse(execFileSync(process.execPath, [script, path.join(dir, 'model.onnx'), path.join(dir, 'vocab.json'), 'to be', '30'], { cwd: root, encoding: 'utf8' }));
    const want = sampleIds(model, vocab.encode('to be'), { length: 30, topK: 1 });
    expect(out.ids).toEqual(want);
    expect(out.text).toBe(vocab.decode(want));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
