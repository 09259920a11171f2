import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { buildBenchPage } from '../src/bench/build';
import { BenchApi, PrepareResult } from '../src/bench/protocol';
import { chromiumPath, launchChromium } from '../src/chromium';
import { StaticServer, serveStatic } from '../src/serve';
import { referenceLoss } from '../../benchmarks/src/harness/reference';
import { relDiff } from '../../benchmarks/src/harness/stats';
import { unfoldContender } from '../../benchmarks/src/unfold';
import { Workload, makeBatch, sharedWeights } from '../../benchmarks/src/workloads';

/**
 * The browser benchmark page (npm run bench:browser) on a tiny workload: its same-weights proof
 * passes for Unfold and tfjs-wasm in Chromium, agrees with Unfold in Node, and fails — naming
 * the contender and the check — when one contender is given other weights. No timing assertions.
 */
const have = chromiumPath() !== null;
if (!have && process.env.UNFOLD_REQUIRE_BROWSER === '1') throw new Error('UNFOLD_REQUIRE_BROWSER=1 but no Chromium (apt-get install -y chromium)');
const describeB = have ? describe : describe.skip;

const TINY: Workload = { id: 'T1', label: 'LSTM 1×8', cell: 'lstm', hidden: 8, layers: 1, vocab: 11, batch: 4, seq: 5, lr: 2e-3 };
const TINY_GRU: Workload = { ...TINY, id: 'T2', label: 'GRU 1×8', cell: 'gru' };
const opts = { tol: 1e-4, warmup: {} };

let dir: string;
let server: StaticServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!have) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unfold-bench-test-'));
  await buildBenchPage(dir);
  server = await serveStatic(dir, { isolated: true });
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(server.url);
  await page.waitForFunction(() => (globalThis as unknown as { unfoldBench?: unknown }).unfoldBench !== undefined, { timeout: 60000 });
}, 90000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function call<K extends keyof BenchApi>(fn: K, ...args: Parameters<BenchApi[K]>): Promise<Awaited<ReturnType<BenchApi[K]>>> {
  return page.evaluate(
    async (name, a) => (globalThis as unknown as { unfoldBench: Record<string, (...x: unknown[]) => unknown> }).unfoldBench[name as string](...(a as unknown[])),
    fn as string,
    args as unknown[],
  ) as Promise<Awaited<ReturnType<BenchApi[K]>>>;
}

const byName = (r: PrepareResult, n: string) => {
  const c = r.contenders.find((x) => x.name === n);
  if (!c) throw new Error(`no ${n} in the proof`);
  return c;
};

describeB('the browser benchmark page', () => {
  test('the same-weights proof passes in Chromium (Unfold wasm and js, tfjs-wasm) and matches Unfold in Node', async () => {
    const info = await call('info');
    expect(info.crossOriginIsolated).toBe(true);
    expect(info.unfold.gemm).toBe('wasm-simd');
    const r = await call('prepare', TINY, ['unfold-wasm-1t', 'unfold-js', 'tfjs-wasm'], opts);
    expect(r.contenders.map((c) => c.failure)).toEqual(['', '', '']);
    const ref = referenceLoss(TINY, sharedWeights(TINY), makeBatch(TINY));
    expect(relDiff(r.reference.pytorch as number, ref)).toBeLessThan(1e-12); // the page's float64 reference is the Node suite's
    for (const c of r.contenders) expect(c.refRelDiff).toBeLessThanOrEqual(1e-4);
    expect(byName(r, 'unfold-js').gradVs).toBe('unfold-wasm-1t');
    expect(byName(r, 'tfjs-wasm').gradRelDiff).toBeLessThanOrEqual(1e-4);
    expect(byName(r, 'tfjs-wasm').description).toMatch(/wasm \(XNNPACK; SIMD on, threads off\)/);
    // Node: the suite's Unfold contender on the same weights and batch.
    const inst = await unfoldContender('unfold-wasm-1t').build(TINY, sharedWeights(TINY), makeBatch(TINY));
    const page0 = byName(r, 'unfold-wasm-1t');
    expect(relDiff(inst.evaluate(), page0.loss0)).toBeLessThan(1e-6);
    inst.trainStep();
    expect(relDiff(inst.evaluate(), page0.loss1)).toBeLessThan(1e-6);
    // time() runs the repetitions asked for (durations only; no assertion on speed)
    const ms = await call('time', 'tfjs-wasm', 'train', 2);
    expect(ms).toHaveLength(2);
    expect(ms.every((x) => x >= 0)).toBe(true);
  }, 60000);

  test('negative control: a contender given other weights fails the proof, by name, and is not timed', async () => {
    for (const bad of ['tfjs-wasm', 'unfold-wasm-1t'] as const) {
      const r = await call('prepare', TINY, ['unfold-wasm-1t', 'tfjs-wasm'], { ...opts, corrupt: bad });
      const failed = r.contenders.filter((c) => c.failure !== '').map((c) => c.name);
      expect(failed).toEqual([bad]);
      expect(byName(r, bad).failure).toMatch(/differs from the float64 pytorch reference .* not timed/);
      await expect(call('time', bad, 'infer', 1)).rejects.toThrow(/not prepared \(or failed its proof\)/);
    }
  }, 60000);

  test("the GRU's formulations: Unfold against PyTorch's, tfjs against the reset-before GRU", async () => {
    const r = await call('prepare', TINY_GRU, ['unfold-wasm-1t', 'tfjs-wasm'], opts);
    expect(r.contenders.map((c) => [c.name, c.formulation, c.failure])).toEqual([
      ['unfold-wasm-1t', 'pytorch', ''],
      ['tfjs-wasm', 'gru-reset-before', ''],
    ]);
    expect(byName(r, 'tfjs-wasm').refRelDiff).toBeLessThanOrEqual(1e-4);
    await call('release');
  }, 60000);
});
