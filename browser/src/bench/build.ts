// The benchmark page's folder: page.js (page.ts bundled for the browser with esbuild, as a user's
// bundler would: @unfold packages through their ESM builds), index.html, and the tfjs-backend-wasm
// binaries, which tfjs fetches at run time (setWasmPaths points it here).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Plugin, build } from 'esbuild';
import { TFJS_WASM_DIR } from './protocol';

/** benchmarks/src/tfjs/model.ts's `./backend` (Node: path, require.resolve) becomes the page's tfjs-backend.ts. */
function pageBackend(src: string): Plugin {
  return {
    name: 'page-tfjs-backend',
    setup(b) {
      b.onResolve({ filter: /^\.\/backend$/ }, (args) =>
        args.importer.split(path.sep).join('/').endsWith('/benchmarks/src/tfjs/model.ts') ? { path: path.join(src, 'tfjs-backend.ts') } : undefined,
      );
    },
  };
}

/** The .ts source of this folder, also when running from browser/dist/bench (tsc's output). */
function sourceDir(): string {
  const src = path.resolve(__dirname, '..', '..', 'src', 'bench');
  return fs.existsSync(path.join(src, 'page.ts')) ? src : __dirname;
}

export async function buildBenchPage(dir: string): Promise<{ bytes: number }> {
  fs.mkdirSync(dir, { recursive: true });
  const src = sourceDir();
  const r = await build({
    entryPoints: [path.join(src, 'page.ts')],
    outfile: path.join(dir, 'page.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: false,
    sourcemap: false,
    logLevel: 'silent',
    plugins: [pageBackend(src)],
  });
  if (r.errors.length) throw new Error(`bench page bundle: ${r.errors.map((e) => e.text).join('; ')}`);
  const wasmDist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  const to = path.join(dir, TFJS_WASM_DIR);
  fs.mkdirSync(to, { recursive: true });
  for (const f of fs.readdirSync(wasmDist).filter((f) => f.endsWith('.wasm'))) fs.copyFileSync(path.join(wasmDist, f), path.join(to, f));
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>Unfold browser benchmark</title><body><script type="module" src="page.js"></script></body>\n');
  return { bytes: fs.statSync(path.join(dir, 'page.js')).size };
}
