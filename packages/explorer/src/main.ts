#!/usr/bin/env node
// `npm run explorer:build` → `node packages/explorer/dist/main.js build [dir]`: writes the static folder.
// `npm run explorer`       → `node packages/explorer/dist/main.js serve [dir]`: builds, serves on 127.0.0.1 (free port), prints the URL.
import { serveStatic } from '@unfold/browser/dist/serve';
import { buildExplorer } from './build';

async function main(argv: string[]): Promise<void> {
  const [cmd = 'serve', dir] = argv;
  if (cmd !== 'build' && cmd !== 'serve') throw new Error(`explorer: unknown command '${cmd}' (valid: build, serve)`);
  const b = await buildExplorer(dir);
  for (const w of b.warnings) console.warn(`warning: ${w}`);
  console.log(`explorer built in ${b.dir} (explorer.js ${(b.bytes / 1024).toFixed(0)} KiB, corpus ${b.corpusChars.toLocaleString('en')} characters inlined)`);
  if (cmd === 'build') return;
  const port = process.env.PORT ? Number(process.env.PORT) : undefined;
  const s = await serveStatic(b.dir, { port });
  console.log(`Unfold explorer: ${s.url}   (Ctrl-C to stop)`);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
