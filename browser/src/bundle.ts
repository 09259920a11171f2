import * as fs from 'node:fs';
import * as path from 'node:path';
import { build, Metafile } from 'esbuild';

export interface BundleResult {
  /** Bytes of the minified bundle, and gzipped. */
  bytes: number;
  gzipBytes: number;
  warnings: string[];
  metafile: Metafile;
}

/**
 * Bundles `entry` for the browser the way a user's bundler would: ESM, `platform: 'browser'`
 * (so @unfold packages resolve through their `import` conditions to dist/esm), minified,
 * tree-shaken, no shims for Node built-ins. Warnings are returned (tests require none).
 */
export async function bundleForBrowser(entry: string, outfile: string, opts: { minify?: boolean; define?: Record<string, string> } = {}): Promise<BundleResult> {
  const r = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: opts.minify ?? true,
    sourcemap: false,
    metafile: true,
    logLevel: 'silent',
    define: opts.define,
  });
  const { gzipSync } = await import('node:zlib');
  const code = fs.readFileSync(outfile);
  return {
    bytes: code.length,
    gzipBytes: gzipSync(code, { level: 9 }).length,
    warnings: r.warnings.map((w) => `${w.location ? `${path.basename(w.location.file)}:${w.location.line}: ` : ''}${w.text}`),
    metafile: r.metafile,
  };
}
