// Builds the explorer into a static folder: index.html + one bundled ES module (esbuild,
// everything from npm and this repo, nothing fetched at run time) with the embedded Shakespeare
// inlined as a string module. Node-only: the page itself is src/page/.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Plugin, build } from 'esbuild';
import { loadDefaultCorpus } from '@unfold/cli';

const pkg = path.join(__dirname, '..');
const repo = path.join(pkg, '..', '..');
// The page's sources are TypeScript (src/page), and so are the library's: esbuild reads the
// library from packages/*/src, so a build needs no prior `tsc -b` of the library.
const LIB = { '@unfold/tensor': 'tensor', '@unfold/autodiff': 'autodiff', '@unfold/rnn': 'rnn' };

/** `import corpus from 'explorer:corpus'` → the default corpus text, read here at build time; `explorer:model` → the shipped weights. */
function corpusPlugin(text: string): Plugin {
  return {
    name: 'explorer-corpus',
    setup(b) {
      b.onResolve({ filter: /^explorer:corpus$/ }, () => ({ path: 'corpus', namespace: 'explorer-corpus' }));
      b.onLoad({ filter: /.*/, namespace: 'explorer-corpus' }, () => ({ contents: text, loader: 'text' }));
      // The pre-trained LSTM of panel 4 (written by src/pretrain.ts, committed), as a Uint8Array.
      b.onResolve({ filter: /^explorer:model$/ }, () => ({ path: path.join(pkg, 'assets', 'lstm-shakespeare.ckpt') }));
    },
  };
}

export interface BuildResult {
  dir: string;
  bytes: number;
  corpusChars: number;
  warnings: string[];
}

/** Writes the static explorer into `outDir` (default packages/explorer/dist/site). */
export async function buildExplorer(outDir = path.join(pkg, 'dist', 'site'), opts: { minify?: boolean } = {}): Promise<BuildResult> {
  const corpus = loadDefaultCorpus().text;
  fs.mkdirSync(outDir, { recursive: true });
  const r = await build({
    entryPoints: [path.join(pkg, 'src', 'page', 'main.ts')],
    outfile: path.join(outDir, 'explorer.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: opts.minify ?? true,
    sourcemap: false,
    logLevel: 'silent',
    alias: Object.fromEntries(Object.entries(LIB).map(([name, dir]) => [name, path.join(repo, 'packages', dir, 'src', 'index.ts')])),
    plugins: [corpusPlugin(corpus)],
    loader: { '.ckpt': 'binary' },
  });
  fs.copyFileSync(path.join(pkg, 'src', 'page', 'index.html'), path.join(outDir, 'index.html'));
  return {
    dir: outDir,
    bytes: fs.statSync(path.join(outDir, 'explorer.js')).size,
    corpusChars: corpus.length,
    warnings: r.warnings.map((w) => `${w.location ? `${path.relative(repo, w.location.file)}:${w.location.line}: ` : ''}${w.text}`),
  };
}
