// `npm run bench`: Unfold against TensorFlow.js (cpu and wasm backends) and, when Debian's
// python3-torch is importable by /usr/bin/python3 (UNFOLD_PYTHON overrides), PyTorch on one and
// two threads in a Python child, on four character-model workloads, side by side in one run.
//
//   node benchmarks/dist/run.js [--quick] [--only W1,W3] [--contenders unfold-wasm-1t,tfjs-wasm] [--report] [--no-scaling]
// A full run also runs the scaling study (scaling.ts) in its quick form and rewrites its README section.
//
// A full run writes benchmarks/results/models.json and the table in benchmarks/README.md; a run
// narrowed by any flag writes benchmarks/results/models-partial.json and leaves the README alone.
// --report re-renders the README table from models.json without measuring.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import * as tf from '@tensorflow/tfjs';
import { measureAllocations } from './alloc';
import { AnyContender, CONTENDER_NAMES, ContenderName, TORCH_NAMES, TorchName, UNFOLD_NAMES, UnfoldName } from './harness/contender';
import { ModelsReport, machineInfo, renderMarkdown, writeBetweenMarkers } from './harness/report';
import { Mode, SuiteConfig, WorkloadResult, runWorkload } from './harness/suite';
import { RepPolicy } from './harness/timing';
import { kernelPeak } from './kernel/peak';
import { runScaling } from './scaling';
import { tfjsContender } from './tfjs/model';
import { describeBlas } from './torch/protocol';
import { torchContender } from './torch/model';
import { WORKLOADS } from './workloads';

interface Args {
  quick: boolean;
  scaling: boolean;
  only: string[] | null;
  contenders: ContenderName[];
  report: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, scaling: true, only: null, contenders: [...CONTENDER_NAMES], report: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`bench: ${flag} needs a value`);
      return v;
    };
    if (flag === '--quick') a.quick = true;
    else if (flag === '--no-scaling') a.scaling = false;
    else if (flag === '--report') a.report = true;
    else if (flag === '--only') {
      a.only = value().split(',').map((s) => s.trim().toUpperCase());
      const bad = a.only.filter((id) => !WORKLOADS.some((w) => w.id === id));
      if (bad.length) throw new Error(`bench: --only ${bad.join(',')}: unknown workload (valid: ${WORKLOADS.map((w) => w.id).join(', ')})`);
    } else if (flag === '--contenders') {
      const names = value().split(',').map((s) => s.trim());
      const bad = names.filter((n) => !CONTENDER_NAMES.includes(n as ContenderName));
      if (bad.length) throw new Error(`bench: --contenders ${bad.join(',')}: unknown contender (valid: ${CONTENDER_NAMES.join(', ')})`);
      a.contenders = names as ContenderName[];
    } else throw new Error(`bench: unknown flag '${flag}' (valid: --quick, --only W1,W3, --contenders ${CONTENDER_NAMES.join(',')}, --report, --no-scaling)`);
  }
  return a;
}

/** Repetitions: tfjs-cpu takes seconds per step, so it gets one warm-up and few timed runs. */
function policyFor(quick: boolean) {
  return (c: ContenderName, mode: Mode): RepPolicy => {
    const slow = c === 'tfjs-cpu';
    if (quick) return { warmup: 1, budgetS: mode === 'train' ? 1 : 0.3, minReps: slow ? 1 : 2, maxReps: slow ? 2 : 5, reduced: slow };
    if (slow) return { warmup: 1, budgetS: mode === 'train' ? 5 : 2, minReps: 2, maxReps: mode === 'train' ? 5 : 8, reduced: true };
    // seven contenders share the run's time: 4 s of training steps and 1.5 s of inference passes each, per workload
    return { warmup: 2, budgetS: mode === 'train' ? 4 : 1.5, minReps: 5, maxReps: mode === 'train' ? 20 : 40, reduced: false };
  };
}

async function loadContender(name: ContenderName): Promise<AnyContender> {
  if (name === 'tfjs-wasm') return tfjsContender('wasm');
  if (name === 'tfjs-cpu') return tfjsContender('cpu');
  // loaded lazily: a broken @unfold/rnn build must not take the tfjs figures down with it
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return (require('./unfold') as typeof import('./unfold')).unfoldContender(name as UnfoldName);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const here = path.resolve(__dirname, '..');
  const readme = path.join(here, 'README.md');
  const resultsDir = path.join(here, 'results');
  const full = !args.quick && args.only === null && args.contenders.length === CONTENDER_NAMES.length;

  if (args.report) {
    const rep = JSON.parse(fs.readFileSync(path.join(resultsDir, 'models.json'), 'utf8')) as ModelsReport;
    writeBetweenMarkers(readme, renderMarkdown(rep));
    console.log(`benchmarks/README.md table re-rendered from results/models.json (${rep.machine.date})`);
    return;
  }

  const t0 = performance.now();
  const load0 = os.loadavg()[0];
  if (load0 > 1) console.log(`!!! host busy: 1-min load average ${load0.toFixed(1)} on ${os.cpus().length} cores before starting — absolute times will be inflated`);
  const contenders: AnyContender[] = [];
  let torch: ModelsReport['torch'];
  const skipped: string[] = [];
  const wantedTorch = args.contenders.filter((n) => TORCH_NAMES.includes(n as TorchName));
  let torchFailed = false;
  for (const n of args.contenders) {
    if (torchFailed && wantedTorch.includes(n)) continue; // said once for all of them
    try {
      if (TORCH_NAMES.includes(n as TorchName)) {
        const c = await torchContender(n as TorchName);
        contenders.push(c);
        torch ??= { version: c.hello.torch, python: c.hello.executable, blas: describeBlas(c.hello), mapped: c.hello.blas.mapped };
      } else contenders.push(await loadContender(n));
    } catch (e) {
      const first = (e as Error).message.split('\n')[0];
      const line = TORCH_NAMES.includes(n as TorchName) && !torch
        ? `PyTorch column skipped (${wantedTorch.join(', ')}): ${first}`
        : `contender ${n} unavailable, skipped: ${first}`;
      torchFailed ||= TORCH_NAMES.includes(n as TorchName) && !torch;
      console.log(`!!! ${line}`);
      skipped.push(line);
    }
  }
  const closeAll = (): void => contenders.forEach((c) => 'close' in c && c.close());
  process.on('exit', closeAll);
  for (const c of contenders) await c.activate();
  // timing after 7 minutes is cut to one run per contender and mode (seven contenders: three Unfold backends,
  // two tfjs, two PyTorch); the allocation probes (≈ 1 min) and the quick scaling study (≈ 1.5 min) follow,
  // so a quiet host finishes in under 10 minutes and a busy one not far above
  const cfg: SuiteConfig = { tol: 1e-4, rounds: 3, policy: policyFor(args.quick), deadlineMs: t0 + 7 * 60_000, log: (s) => console.log(s) };
  console.log(`Unfold vs TensorFlow.js${torch ? ' and PyTorch' : ''}${args.quick ? ' (--quick: few repetitions, figures are rough)' : ''}`);
  for (const c of contenders) console.log(`  ${c.name.padEnd(9)} ${c.describe()}`);
  if (torch) console.log(`  PyTorch's BLAS: ${torch.blas}\n  PyTorch timings are taken inside Python (time.perf_counter around each step): the JSON round trip is not in them`);
  if (contenders.some((c) => c.name === 'tfjs-cpu')) console.log('  note: tfjs-cpu takes seconds per training step: it gets 1 warm-up and 2–5 timed runs (marked *)');

  const peak = contenders.some((c) => c.name.startsWith('unfold-wasm')) ? kernelPeak() : undefined;
  if (peak) console.log(`sgemm kernel peak on ${peak.shape}: ${Object.entries(peak.gflops).map(([t, g]) => `${g.toFixed(1)} GFLOP/s on ${t} thread${t === '1' ? '' : 's'}`).join(', ')}`);
  const results: WorkloadResult[] = [];
  const chosen = WORKLOADS.filter((w) => args.only === null || args.only.includes(w.id));
  for (const w of chosen) {
    results.push(await runWorkload(w, contenders, cfg));
  }
  closeAll();

  // allocation per time step of the Unfold contenders, each in its own probe process (alloc.ts)
  const allocNotes: string[] = [];
  for (const c of contenders.filter((c) => UNFOLD_NAMES.includes(c.name as UnfoldName))) {
    const t1 = performance.now();
    const { figures, note } = measureAllocations(c.name as UnfoldName, chosen.map((w) => w.id));
    if (!figures) {
      allocNotes.push(note);
      console.log(`!!! ${note}`);
      continue;
    }
    for (const r of results) {
      const cr = r.results.find((x) => x.contender === c.name);
      const f = figures[r.workload.id];
      if (cr && f) cr.alloc = f;
      if (f) console.log(`  alloc ${r.workload.id} ${c.name.padEnd(14)} per time step: train ${kb(f.train.heapPerStep)}${f.train.sampled ? ' (sampled)' : ''} heap + ${kb(f.train.arrayBufferPerStep)}${f.train.lowerBound ? ' (≥)' : ''} ArrayBuffer, infer ${kb(f.infer.heapPerStep)} heap + ${kb(f.infer.arrayBufferPerStep)} ArrayBuffer`);
    }
    console.log(`  (allocation probe for ${c.name}: ${((performance.now() - t1) / 1000).toFixed(0)} s)`);
  }

  const rep: ModelsReport = {
    machine: machineInfo(tf.version.tfjs, load0),
    peak,
    torch,
    skipped,
    allocNotes,
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    seconds: +((performance.now() - t0) / 1000).toFixed(1),
    settings: { tolerance: cfg.tol, rounds: cfg.rounds, quick: args.quick, contenders: contenders.map((c) => ({ name: c.name, description: c.describe() })) },
    workloads: results,
  };
  fs.mkdirSync(resultsDir, { recursive: true });
  const json = path.join(resultsDir, full ? 'models.json' : 'models-partial.json');
  fs.writeFileSync(json, JSON.stringify(rep, null, 1) + '\n');
  const md = renderMarkdown(rep);
  console.log(`\n${md}\n`);
  if (full) writeBetweenMarkers(readme, md);
  console.log(`results: ${path.relative(process.cwd(), json)}${full ? ', table in benchmarks/README.md' : ' (narrowed run: README left as it is)'}; ${(rep.seconds / 60).toFixed(1)} min`);
  if (full && args.scaling) {
    console.log('\nScaling study (quick: 2 repetitions per point; `node benchmarks/dist/scaling.js` for the full one)');
    runScaling({ quick: true });
  }
  if (results.some((r) => r.aborted)) process.exitCode = 1;
}

function kb(b: number): string {
  return `${(b / 1024).toFixed(1)} KiB`;
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
