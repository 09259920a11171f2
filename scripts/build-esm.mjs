// ESM builds of the library packages, beside tsc's CommonJS + .d.ts in dist/: each entry is
// bundled by esbuild into one ES module (dist/esm/*.mjs) with the other @unfold packages,
// ndarray and node: built-ins left as imports. One file per entry keeps Node's native ESM
// happy (no extensionless relative imports) and lets a bundler tree-shake it (sideEffects: false).
import { build } from 'esbuild';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The node entry's imports of the rest of its own package (../checkpoint, ../data) become
 * imports of '@unfold/rnn' itself, so both entries share one copy of every class
 * (CheckpointError, …), as the CommonJS build does.
 */
const ownPackage = {
  name: 'own-package',
  setup(b) {
    b.onResolve({ filter: /^\.\.\// }, (args) => {
      const from = args.importer.split(path.sep).join('/');
      if (!from.includes('/packages/rnn/src/node/')) return undefined;
      return { path: '@unfold/rnn', external: true };
    });
  },
};

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const entries = [
  ['tensor', 'src/index.ts', 'dist/esm/index.mjs'],
  ['autodiff', 'src/index.ts', 'dist/esm/index.mjs'],
  ['rnn', 'src/index.ts', 'dist/esm/index.mjs'],
  ['rnn', 'src/node/index.ts', 'dist/esm/node.mjs'],
];
await Promise.all(
  entries.map(([pkg, src, out]) =>
    build({
      entryPoints: [path.join(root, 'packages', pkg, src)],
      outfile: path.join(root, 'packages', pkg, out),
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      target: 'es2022',
      sourcemap: true,
      external: ['@unfold/*', 'ndarray', 'node:*'],
      logLevel: 'warning',
      plugins: [ownPackage],
    }),
  ),
);
