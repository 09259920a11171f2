#!/usr/bin/env node
// The `unfold` command line. Until the training loop lands this runs a small kernel demo.
import { arange, normal, seed } from '@unfold/tensor';

function main(argv: string[]): number {
  const cmd = argv[0] ?? 'train';
  if (cmd !== 'train') {
    process.stderr.write(`unfold: unknown command '${cmd}' (available: train)\n`);
    return 2;
  }
  seed(0);
  const x = arange(12).reshape([3, 4]);
  console.log('x =', x.toString());
  console.log('x.T =', x.transpose().toString());
  console.log('normal(seed 0) =', normal([2, 3]).toString());
  return 0;
}

process.exitCode = main(process.argv.slice(2));
