// Every single-byte corruption of a checkpoint directory is a named error: each byte position of
// manifest.json and of tensors.bin of a real (small) training checkpoint, one at a time (the XOR
// mask cycles through the low bit, bit 5 — case and digit/letter —, the high bit and all bits),
// then load. No load may succeed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CharLMTask, CharRNN, CharVocab, CheckpointError, JsonObject, fit } from '@unfold/rnn';
import { directoryStore, loadCheckpoint } from '@unfold/rnn/node';

const MASKS = [0x01, 0x20, 0x80, 0xff];

test('flipping any byte of manifest.json or tensors.bin never loads', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'unfold-flip-'));
  const dir = path.join(root, 'checkpoint');
  const text = 'abcab acbca '.repeat(20);
  const vocab = CharVocab.fromText(text);
  const model = new CharRNN({ cell: 'gru', vocabSize: vocab.size, hiddenSize: 2, seed: 3 });
  const task = new CharLMTask(model, { train: vocab.encode(text), val: vocab.encode(text.slice(0, 40)), batchSize: 2, seqLen: 4, maxValWindows: 1 });
  fit(model, task, { steps: 3, valEvery: 2, log: 'none', checkpoint: directoryStore(dir), config: { vocab: vocab.toJSON() as unknown as JsonObject, note: 'flip test 1e-7' } });
  loadCheckpoint(dir); // the intact checkpoint loads
  const counts = { positions: 0, loads: 0, named: 0 };
  const silent: string[] = [];
  for (const file of ['manifest.json', 'tensors.bin']) {
    const p = path.join(dir, file);
    const good = fs.readFileSync(p);
    for (let i = 0; i < good.length; i++) {
      counts.positions++;
      {
        const mask = MASKS[i % MASKS.length];
        const bad = Buffer.from(good);
        bad[i] ^= mask;
        fs.writeFileSync(p, bad);
        counts.loads++;
        try {
          loadCheckpoint(dir);
          silent.push(`${file}[${i}] ^ 0x${mask.toString(16)}`);
        } catch (e) {
          if (!(e instanceof CheckpointError)) throw e;
          counts.named++;
        }
      }
    }
    fs.writeFileSync(p, good);
  }
  fs.rmSync(root, { recursive: true, force: true });
  expect(silent).toEqual([]);
  expect(counts.named).toBe(counts.loads);
  expect(counts.positions).toBeGreaterThan(1000);
  process.stdout.write(`checkpoint-flip: ${counts.positions} byte positions flipped, ${counts.named} named errors, ${silent.length} silent loads\n`);
});
