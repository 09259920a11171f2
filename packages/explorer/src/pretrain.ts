#!/usr/bin/env node
// Trains the small LSTM panel 4 ships (`npm run explorer:pretrain`): the same Trainer as panel 3,
// fixed seed, on the embedded Shakespeare; writes its weights as checkpoint bytes to
// packages/explorer/assets/lstm-shakespeare.ckpt (or the path given; committed, ~0.1 MB). Same seed, same bytes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadDefaultCorpus } from '@unfold/cli';
import { Trainer } from './lib/train';

export const PRETRAIN = { cell: 'lstm', hidden: 64, seqLen: 64, lr: 5e-3, batch: 16, seed: 42 } as const;
export const PRETRAIN_STEPS = 3000;
export const MODEL_FILE = path.join(__dirname, '..', 'assets', 'lstm-shakespeare.ckpt');

async function main(out = MODEL_FILE): Promise<void> {
  const t = new Trainer(loadDefaultCorpus().text, { ...PRETRAIN });
  const t0 = Date.now();
  await t.run(PRETRAIN_STEPS, (r) => {
    if (r.step % 100 === 0) console.log(`step ${r.step}  loss ${r.loss.toFixed(4)}  ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  });
  const h = t.history;
  const mean = (a: typeof h) => a.reduce((s, r) => s + r.loss, 0) / a.length;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const bytes = t.weights();
  fs.writeFileSync(out, bytes);
  console.log(`${PRETRAIN_STEPS} steps in ${((Date.now() - t0) / 1000).toFixed(0)} s: mean loss of the last 100 steps ${mean(h.slice(-100)).toFixed(4)} nats/char (unigram ${t.unigram.toFixed(4)}); wrote ${path.relative(process.cwd(), out)} (${bytes.length} bytes)`);
  console.log(`sample: ${JSON.stringify('The ' + t.sample('The ', 200))}`);
}

if (require.main === module) {
  main(process.argv[2]).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  });
}
