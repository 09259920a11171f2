// `npm run bench:browser`: the model benchmarks W1–W4 in headless Chromium — Unfold next to
// TensorFlow.js (wasm, and webgl where the browser offers WebGL) in the same page — and Unfold in
// this Node process beside them, so the browser ÷ Node ratio is measured in one run.
//
//   node --experimental-wasm-relaxed-simd browser/dist/bench/run.js [--quick] [--only W1,W3] [--contenders unfold-wasm-1t,tfjs-wasm] [--no-node] [--report]
// (--report re-renders the README section from benchmarks/results/browser.json without measuring)
//
// Steps: bundle the page (build.ts), serve it with COOP/COEP (cross-origin isolated, so Unfold's
// thread pool can run on Web Workers), prove each workload in the page (same weights → same loss,
// gradients and post-Adam loss, as the Node suite), then time, interleaved: per mode, 5 rounds in
// which every contender (page and Node) takes its share of repetitions, the order rotating.
// A full run writes benchmarks/results/browser.json and the table between the browser markers of
// benchmarks/README.md; a narrowed run writes browser-partial.json and leaves the README alone.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Browser, Page } from 'puppeteer-core';
import { backendInfo } from '@unfold/tensor';
import { launchChromium } from '../chromium';
import { serveStatic } from '../serve';
import { buildBenchPage } from './build';
import { BenchApi, Mode, MODES, PAGE_CONTENDERS, PageContender, PageInfo, PrepareResult } from './protocol';
import { BrowserReport, ContenderRun, NODE, RunName, WorkloadRun, renderBrowserMarkdown, writeBrowserSection } from './report';
// Node side: the Node suite's own built modules (benchmarks/dist), the same code the page bundles from benchmarks/src.
import { RepPolicy, planReps, splitReps } from '../../../benchmarks/dist/harness/timing';
import { relDiff, summarize } from '../../../benchmarks/dist/harness/stats';
import { unfoldContender } from '../../../benchmarks/dist/unfold';
import { WORKLOADS, Workload, makeBatch, sharedWeights } from '../../../benchmarks/dist/workloads';

interface Args {
  quick: boolean;
  only: string[] | null;
  contenders: PageContender[];
  node: boolean;
  report: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, only: null, contenders: [...PAGE_CONTENDERS], node: true, report: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`bench:browser: ${flag} needs a value`);
      return v;
    };
    if (flag === '--quick') a.quick = true;
    else if (flag === '--no-node') a.node = false;
    else if (flag === '--report') a.report = true;
    else if (flag === '--only') {
      a.only = value().split(',').map((s) => s.trim().toUpperCase());
      const bad = a.only.filter((id) => !WORKLOADS.some((w) => w.id === id));
      if (bad.length) throw new Error(`bench:browser: --only ${bad.join(',')}: unknown workload (valid: ${WORKLOADS.map((w) => w.id).join(', ')})`);
    } else if (flag === '--contenders') {
      const names = value().split(',').map((s) => s.trim());
      const bad = names.filter((n) => !(PAGE_CONTENDERS as readonly string[]).includes(n));
      if (bad.length) throw new Error(`bench:browser: --contenders ${bad.join(',')}: unknown contender (valid: ${PAGE_CONTENDERS.join(', ')})`);
      a.contenders = names as PageContender[];
    } else throw new Error(`bench:browser: unknown flag '${flag}' (valid: --quick, --only W1,W3, --contenders ${PAGE_CONTENDERS.join(',')}, --no-node, --report)`);
  }
  return a;
}

/** Timed repetitions are split into this many rounds, each contender taking its share in every round, the order rotating. */
const ROUNDS = 5;

/** Seconds-per-step contenders (Unfold's JS kernels on W2, tfjs on SwiftShader's software WebGL) get few repetitions. */
const SLOW: ReadonlySet<RunName> = new Set<RunName>(['unfold-js', 'tfjs-webgl']);

function policyFor(quick: boolean) {
  return (c: RunName, mode: Mode): RepPolicy => {
    const slow = SLOW.has(c);
    const train = mode === 'train';
    if (quick) return { warmup: 1, budgetS: train ? 1 : 0.3, minReps: slow ? 1 : 2, maxReps: slow ? 2 : 5, reduced: slow };
    if (slow) return { warmup: 1, budgetS: train ? 4 : 1.5, minReps: 3, maxReps: train ? 5 : 8, reduced: true };
    if (c === 'tfjs-wasm') return { warmup: 2, budgetS: train ? 6 : 2, minReps: 5, maxReps: train ? 15 : 40, reduced: false };
    return { warmup: 2, budgetS: train ? 4 : 2, minReps: 10, maxReps: train ? 30 : 60, reduced: false };
  };
}

/**
 * Headless Chromium as launchChromium() starts it, with a protocol timeout long enough for a slow
 * contender's share. There is no GPU here: Chromium's WebGL is SwiftShader, a software renderer on
 * the CPU, opted into explicitly (the automatic fallback to it is deprecated and warns).
 */
function launch(): Promise<Browser> {
  return launchChromium({ protocolTimeoutMs: 15 * 60_000, extraArgs: ['--enable-unsafe-swiftshader'] });
}

/** Distinct lines, each with its count. */
function tally(lines: string[]): string[] {
  const n = new Map<string, number>();
  for (const l of lines) n.set(l, (n.get(l) ?? 0) + 1);
  return [...n].map(([l, k]) => (k > 1 ? `${l} (×${k})` : l));
}

/** Calls the page's unfoldBench[fn](...args). */
function call<K extends keyof BenchApi>(page: Page, fn: K, ...args: Parameters<BenchApi[K]>): Promise<Awaited<ReturnType<BenchApi[K]>>> {
  return page.evaluate(
    async (name, a) => {
      const api = (globalThis as unknown as { unfoldBench: Record<string, (...x: unknown[]) => unknown> }).unfoldBench;
      return api[name as string](...(a as unknown[]));
    },
    fn as string,
    args as unknown[],
  ) as Promise<Awaited<ReturnType<BenchApi[K]>>>;
}

const timeMs = (fn: () => void): number => {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
};
const fmt = (x: number): string => x.toFixed(6);
const sci = (x: number): string => x.toExponential(1);
const load1 = (): number => +os.loadavg()[0].toFixed(2);

/** Unfold (wasm SIMD, 1 thread) in this process: the Node suite's contender on the same weights and batch. */
async function nodeUnfold(w: Workload, proof: PrepareResult, tol: number) {
  const c = unfoldContender('unfold-wasm-1t');
  await c.activate();
  const inst = await c.build(w, sharedWeights(w), makeBatch(w));
  const loss0 = inst.evaluate();
  const ref = proof.reference.pytorch as number;
  const refRelDiff = relDiff(loss0, ref);
  let failure = '';
  if (!(refRelDiff <= tol)) failure = `loss ${fmt(loss0)} differs from the float64 reference ${fmt(ref)} by ${sci(refRelDiff)}`;
  const stepLoss = inst.trainStep();
  if (!failure && !(relDiff(stepLoss, loss0) <= tol)) failure = `trainStep returned ${fmt(stepLoss)} but evaluate gave ${fmt(loss0)}`;
  let warmInferMs = NaN;
  let loss1 = NaN;
  warmInferMs = timeMs(() => (loss1 = inst.evaluate()));
  let warmTrainMs = timeMs(() => inst.trainStep());
  warmInferMs = timeMs(() => inst.evaluate());
  warmTrainMs = Math.min(warmTrainMs, timeMs(() => inst.trainStep()));
  const page = proof.contenders.find((r) => r.name === 'unfold-wasm-1t' && !r.failure);
  const vsPage = page ? { loss0: Object.is(loss0, page.loss0) ? 0 : relDiff(loss0, page.loss0), loss1: Object.is(loss1, page.loss1) ? 0 : relDiff(loss1, page.loss1) } : undefined;
  if (!failure && page && !(vsPage!.loss1 <= tol)) failure = `loss after one Adam step ${fmt(loss1)} differs from the page's ${fmt(page.loss1)}`;
  return { inst, description: `${c.describe()}, Node ${process.version}`, loss0, refRelDiff, loss1, warmTrainMs, warmInferMs, failure, vsPage };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const here = path.resolve(__dirname, '..', '..', '..', 'benchmarks');
  if (args.report) {
    const rep = JSON.parse(fs.readFileSync(path.join(here, 'results', 'browser.json'), 'utf8')) as BrowserReport;
    writeBrowserSection(path.join(here, 'README.md'), renderBrowserMarkdown(rep));
    console.log(`benchmarks/README.md (## In the browser) re-rendered from results/browser.json (${rep.date})`);
    return;
  }
  const t0 = performance.now();
  const loadStart = load1();
  const loads: number[] = [loadStart];
  if (loadStart > 1) console.log(`!!! host busy: 1-min load average ${loadStart} on ${os.cpus().length} cores before starting — absolute times will be inflated (ratios are what to read)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unfold-bench-'));
  const tol = 1e-4;
  const policy = policyFor(args.quick);
  const deadlineMs = t0 + 15 * 60_000;
  const full = !args.quick && args.only === null && args.contenders.length === PAGE_CONTENDERS.length && args.node;
  let browser: Browser | undefined;
  const server = await (async () => {
    const { bytes } = await buildBenchPage(dir);
    console.log(`benchmark page bundled: ${(bytes / 2 ** 20).toFixed(1)} MiB unminified (Unfold + tfjs + the suite's definitions)`);
    return serveStatic(dir, { isolated: true });
  })();
  try {
    browser = await launch();
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warn') pageErrors.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => pageErrors.push(`page error: ${String(e)}`));
    await page.goto(server.url);
    await page.waitForFunction(() => (globalThis as unknown as { document: { body: { dataset: Record<string, string> } } }).document.body.dataset.ready === '1', { timeout: 60_000 });
    const info: PageInfo = await call(page, 'info');
    const browserVersion = await browser.version();
    let contenders = args.contenders;
    if (!info.webgl && contenders.includes('tfjs-webgl')) {
      console.log('!!! tfjs-webgl skipped: this headless Chromium offers no WebGL');
      contenders = contenders.filter((c) => c !== 'tfjs-webgl');
    }
    if (!info.crossOriginIsolated && contenders.includes('unfold-wasm-2t')) {
      console.log('!!! unfold-wasm-2t skipped: the page is not cross-origin isolated');
      contenders = contenders.filter((c) => c !== 'unfold-wasm-2t');
    }
    console.log(`Unfold vs TensorFlow.js in ${browserVersion} (headless, ${info.hardwareConcurrency} logical cores, cross-origin isolated: ${info.crossOriginIsolated}), and Unfold in Node ${process.version}${args.quick ? ' (--quick: few repetitions, figures are rough)' : ''}`);
    console.log(`  page: Unfold kernels ${info.unfold.gemm}${info.unfold.fma ? ' (relaxed-SIMD FMA)' : ''}${info.unfold.fallback ? `, fallback: ${info.unfold.fallback}` : ''}; WebGL: ${info.webgl || 'none'}`);
    console.log(`  node: Unfold kernels ${backendInfo().gemm}${backendInfo().fma ? ' (relaxed-SIMD FMA)' : ''}`);

    const workloads: WorkloadRun[] = [];
    for (const w of WORKLOADS.filter((x) => args.only === null || args.only.includes(x.id))) {
      console.log(`${w.id} ${w.label}: V=${w.vocab} B=${w.batch} T=${w.seq}`);
      const warmup: Partial<Record<PageContender, [number, number]>> = {};
      for (const c of contenders) warmup[c] = [policy(c, 'train').warmup, policy(c, 'infer').warmup + 1];
      const proof = await call(page, 'prepare', w, contenders, { tol, warmup });
      console.log(`  float64 reference loss: ${Object.entries(proof.reference).map(([f, v]) => `${f} ${fmt(v as number)}`).join(', ')}`);
      const runs: ContenderRun[] = proof.contenders.map((r) => ({ ...r }));
      let node: Awaited<ReturnType<typeof nodeUnfold>> | undefined;
      if (args.node) {
        node = await nodeUnfold(w, proof, tol);
        runs.push({ name: NODE, description: node.description, formulation: 'pytorch', parameters: 'pytorch', loss0: node.loss0, refRelDiff: node.refRelDiff, pytorchRelDiff: node.refRelDiff, loss1: node.loss1, warmTrainMs: node.warmTrainMs, warmInferMs: node.warmInferMs, failure: node.failure, vsPage: node.vsPage });
      }
      for (const r of runs) {
        if (r.failure) console.log(`  ✗ ${r.name}: ${r.failure}`);
        else {
          const g = r.gradRelDiff === undefined ? '' : r.gradVs === r.name ? '   gradients: the yardstick' : `   gradients vs ${r.gradVs}: ${sci(r.gradRelDiff)}`;
          const np = r.vsPage ? `   vs the page's Unfold: loss ${r.vsPage.loss0 === 0 ? 'identical' : sci(r.vsPage.loss0)}, after Adam ${r.vsPage.loss1 === 0 ? 'identical' : sci(r.vsPage.loss1)}` : '';
          console.log(`  ${r.name.padEnd(20)} loss ${fmt(r.loss0)} (${r.formulation} reference ±${sci(r.refRelDiff)}) ✓${g}   after one Adam step ${fmt(r.loss1)}${np}`);
        }
      }
      // ---- interleaved timing
      const timed = runs.filter((r) => !r.failure);
      for (const mode of MODES) {
        const late = performance.now() > deadlineMs;
        if (late) console.log(`  !!! past the run's time budget: one timed ${mode} run per contender (figures marked *)`);
        const plans = timed.map((r) => splitReps(late ? 1 : planReps(policy(r.name, mode), mode === 'train' ? r.warmTrainMs : r.warmInferMs), ROUNDS));
        const samples: number[][] = timed.map(() => []);
        const rounds = Math.max(...plans.map((p) => p.length));
        for (let round = 0; round < rounds; round++) {
          for (let k = 0; k < timed.length; k++) {
            const i = (k + round) % timed.length;
            const n = plans[i][round] ?? 0;
            if (n === 0) continue;
            const r = timed[i];
            if (r.name === NODE) {
              const inst = (node as NonNullable<typeof node>).inst;
              await unfoldContender('unfold-wasm-1t').activate();
              for (let j = 0; j < n; j++) samples[i].push(timeMs(() => (mode === 'train' ? inst.trainStep() : inst.evaluate())));
            } else samples[i].push(...(await call(page, 'time', r.name, mode, n)));
          }
        }
        timed.forEach((r, i) => {
          const s = summarize(samples[i]);
          r[mode] = { ...s, samplesMs: samples[i].map((x) => +x.toFixed(3)), reduced: late || policy(r.name, mode).reduced };
          console.log(`  ${mode.padEnd(5)} ${r.name.padEnd(20)} median ${s.median.toFixed(1).padStart(8)} ms  (${s.reps} reps, min ${s.min.toFixed(1)}, max ${s.max.toFixed(1)})`);
        });
      }
      node?.inst.dispose();
      await call(page, 'release');
      loads.push(load1());
      console.log(`  1-min load average now ${load1()}`);
      workloads.push({ workload: w, reference: proof.reference, runs });
    }
    const pageConsole = tally(pageErrors);
    if (pageConsole.length) console.log(`page console (warnings and errors):\n  ${pageConsole.join('\n  ')}`);
    const rep: BrowserReport = {
      date: new Date().toISOString(),
      command: `npm run bench:browser${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
      seconds: +((performance.now() - t0) / 1000).toFixed(1),
      machine: { cpu: os.cpus()[0]?.model.trim() ?? 'unknown', cores: os.cpus().length, platform: `${os.platform()} ${os.release()} ${os.arch()}`, node: process.version, browser: browserVersion, loadAvg: loads },
      page: info,
      pageConsole,
      tolerance: tol,
      quick: args.quick,
      workloads,
    };
    const resultsDir = path.join(here, 'results');
    fs.mkdirSync(resultsDir, { recursive: true });
    const json = path.join(resultsDir, full ? 'browser.json' : 'browser-partial.json');
    fs.writeFileSync(json, JSON.stringify(rep, null, 1) + '\n');
    const md = renderBrowserMarkdown(rep);
    console.log(`\n${md}\n`);
    if (full) writeBrowserSection(path.join(here, 'README.md'), md);
    console.log(`results: ${path.relative(process.cwd(), json)}${full ? ', table in benchmarks/README.md (## In the browser)' : ' (narrowed run: README left as it is)'}; ${(rep.seconds / 60).toFixed(1)} min`);
    if (workloads.some((w) => w.runs.some((r) => r.failure))) process.exitCode = 1;
  } finally {
    await browser?.close();
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
