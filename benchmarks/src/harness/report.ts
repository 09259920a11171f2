// The results file (benchmarks/results/models.json) and the markdown rendered from it — the
// table printed at the end of a run and kept in benchmarks/README.md between markers.
import * as fs from 'fs';
import * as os from 'os';
import { CONTENDER_LABELS, ContenderName, TORCH_NAMES, UNFOLD_NAMES } from './contender';
import type { AllocFigure } from '../alloc';
import { Mode, WorkloadResult } from './suite';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  platform: string;
  node: string;
  tfjs: string;
  date: string;
  /** 1-minute load average at the start and the end of the run: above ~1 another process shared the 2 cores. */
  loadAvg: [number, number];
}

/** The sgemm kernel's measured peak (GFLOP/s, operands resident, best of several runs) by thread count. */
export interface KernelPeak {
  shape: string;
  gflops: Record<string, number>;
}

export interface ModelsReport {
  machine: Machine;
  peak?: KernelPeak;
  /** The PyTorch side when it ran: version, interpreter, the BLAS line (see torch/protocol.ts describeBlas). */
  torch?: { version: string; python: string; blas: string; mapped: string[] };
  /** One line per contender that could not be loaded (e.g. no torch). */
  skipped?: string[];
  /** Allocation probes that failed. */
  allocNotes?: string[];
  command: string;
  /** Wall-clock seconds of the whole run. */
  seconds: number;
  settings: Record<string, unknown>;
  workloads: WorkloadResult[];
}

export function machineInfo(tfjsVersion: string, loadAtStart: number): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    tfjs: tfjsVersion,
    date: new Date().toISOString(),
    loadAvg: [+loadAtStart.toFixed(2), +os.loadavg()[0].toFixed(2)],
  };
}

const ms = (x: number | undefined): string => (x === undefined ? '—' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
const gf = (x: number | undefined): string => (x === undefined ? '—' : x.toFixed(2));
const mib = (b: number | undefined): string => (b === undefined ? '—' : (b / 2 ** 20).toFixed(1));
const kib = (b: number): string => (b / 1024).toFixed(1);
/** "heap + ArrayBuffer" KiB per time step; ~ = sampled, ≥ = lower bound (see alloc.ts). */
const alloc = (f: AllocFigure | undefined): string =>
  f === undefined ? '—' : `${f.sampled ? '~' : ''}${kib(f.heapPerStep)} + ${f.lowerBound ? '≥' : ''}${kib(f.arrayBufferPerStep)}`;

/** a ÷ b as "0.52×" (time ratio: below 1 means the first is faster). */
function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined ? '—' : `${(a / b).toFixed(2)}×`;
}

function medianOf(w: WorkloadResult, c: ContenderName, m: Mode): number | undefined {
  return w.results.find((r) => r.contender === c)?.[m]?.median;
}

export function renderMarkdown(rep: ModelsReport): string {
  const m = rep.machine;
  const L: string[] = [];
  L.push(`Measured ${m.date.slice(0, 10)} on ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), ${m.platform}, Node ${m.node}, TensorFlow.js ${m.tfjs}${rep.torch ? `, PyTorch ${rep.torch.version} (${rep.torch.python})` : ''}; single-threaded except the 2-thread columns.`);
  if (rep.torch) L.push(`PyTorch's BLAS: ${rep.torch.blas}. PyTorch runs in a Python child process and times each repetition itself (time.perf_counter around the step): the JSON round trip is not in its figures.`);
  for (const s of rep.skipped ?? []) L.push(`Skipped: ${s}.`);
  L.push(`Command: \`${rep.command}\` (${(rep.seconds / 60).toFixed(1)} min wall clock; 1-min load average ${m.loadAvg[0]} at the start, ${m.loadAvg[1]} at the end${Math.max(...m.loadAvg) > 1.5 ? ' — the host was shared, so absolute times are inflated; the interleaved ratios are the robust figures' : ''}).`);
  L.push('');
  L.push('Median milliseconds per training step (forward + backward + Adam) and per inference pass (forward + loss, no gradients), one-hot input, V = 65, B = 32, T = 50.');
  L.push('GFLOP/s from the analytic matmul count: forward = T·[Σ_layers 2·B·(I·G·H + H·G·H) + 2·B·H·V], training step = 3 × forward.');
  L.push('Memory: rss Δ and JS Δ (V8 heap + ArrayBuffers) from before the model was built to the largest value sampled between steps (PyTorch: rss Δ of its own process); tfjs peak = `tf.profile` peakBytes of one training step; wasm = the wasm backend\'s linear memory (shared by all wasm models, only grows).');
  L.push('Alloc/step: KiB allocated per time step by a training step / an inference pass, JS heap + ArrayBuffer backing stores, counted between two GCs in a separate process (`src/alloc.ts`; ~ = sampled heap profile, ≥ = lower bound: a GC ran inside every pass).');
  L.push('');
  L.push('| workload | contender | train ms | reps | train GFLOP/s | infer ms | reps | infer GFLOP/s | loss check | rss Δ MiB | JS Δ MiB | tfjs peak MiB | wasm MiB | alloc/step train KiB | alloc/step infer KiB |');
  L.push('|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|');
  for (const w of rep.workloads) {
    const id = `${w.workload.id} ${w.workload.label}`;
    if (w.aborted) {
      L.push(`| ${id} | — | aborted: ${w.aborted.replace(/\|/g, '/')} |||||||||||||`);
      continue;
    }
    for (const r of w.results) {
      const check = r.formulation === 'pytorch' ? `±${r.refRelDiff.toExponential(0)}` : `±${r.refRelDiff.toExponential(0)} vs reset-before GRU†`;
      const red = (x: { reduced: boolean } | undefined): string => (x?.reduced ? '*' : '');
      L.push(
        `| ${id} | ${CONTENDER_LABELS[r.contender]} | ${ms(r.train?.median)} | ${r.train?.reps ?? '—'}${red(r.train)} | ${gf(r.train?.gflops)} | ${ms(r.infer?.median)} | ${r.infer?.reps ?? '—'}${red(r.infer)} | ${gf(r.infer?.gflops)} | ${check} | ${mib(r.memory.rssDelta)} | ${mib(r.memory.jsDelta)} | ${mib(r.memory.tfPeakBytes)} | ${mib(r.memory.wasmMemoryBytes)} | ${alloc(r.alloc?.train)} | ${alloc(r.alloc?.infer)} |`,
      );
    }
  }
  L.push('');
  L.push('\\* repetitions reduced: the tfjs cpu backend takes seconds per step, so it gets fewer timed runs (and one warm-up); past 7 minutes of a run every contender gets one timed run per mode.');
  if (rep.workloads.some((w) => w.notes.length)) {
    L.push('† tfjs-layers 4.22 implements only the Keras GRU with the reset gate applied before the recurrent product (`resetAfter: true` throws), which is not PyTorch\'s GRU. ' +
      'Its loss is checked to 1e-4 against a float64 reference of that formulation (fed PyTorch\'s weights with b_h = b_in + b_hn), but the same-loss assertion against Unfold is skipped for it: same weights and FLOPs, a slightly different function.');
  }
  L.push('');
  L.push('Summary, median ms (train / infer):');
  L.push('');
  const present = (c: ContenderName): boolean => rep.workloads.some((w) => w.results.some((r) => r.contender === c));
  const cols = ([...UNFOLD_NAMES, 'tfjs-wasm', 'tfjs-cpu', ...TORCH_NAMES] as ContenderName[]).filter(present);
  L.push(`| workload | ${cols.map((c) => CONTENDER_LABELS[c]).join(' | ')} |`);
  L.push(`|---|${cols.map(() => '---:').join('|')}|`);
  for (const w of rep.workloads) {
    if (w.aborted) continue;
    L.push(`| ${w.workload.id} ${w.workload.label} | ${cols.map((c) => `${ms(medianOf(w, c, 'train'))} / ${ms(medianOf(w, c, 'infer'))}`).join(' | ')} |`);
  }
  const mine = UNFOLD_NAMES.filter(present);
  /** One table of time ratios a ÷ b (train / infer) for the given pairs that both ran. */
  const ratioTable = (title: string, pairs: [ContenderName, ContenderName][]): void => {
    const heads = pairs.filter(([u, t]) => present(u) && present(t));
    if (heads.length === 0) return;
    L.push('');
    L.push(title);
    L.push('');
    L.push(`| workload | ${heads.map(([u, t]) => `${CONTENDER_LABELS[u]} train / infer vs ${CONTENDER_LABELS[t]}`).join(' | ')} |`);
    L.push(`|---|${heads.map(() => '---:').join('|')}|`);
    for (const w of rep.workloads) {
      if (w.aborted) continue;
      const cells = heads.map(([u, t]) => `${ratio(medianOf(w, u, 'train'), medianOf(w, t, 'train'))} / ${ratio(medianOf(w, u, 'infer'), medianOf(w, t, 'infer'))}`);
      L.push(`| ${w.workload.id} ${w.workload.label} | ${cells.join(' | ')} |`);
    }
  };
  ratioTable('Time ratios (Unfold ÷ tfjs; below 1× Unfold is faster):', mine.flatMap((u) => (['tfjs-wasm', 'tfjs-cpu'] as const).map((t): [ContenderName, ContenderName] => [u, t])));
  ratioTable('Time ratios (Unfold ÷ PyTorch, same thread count; below 1× Unfold is faster):', [['unfold-wasm-1t', 'pytorch-1t'], ['unfold-wasm-2t', 'pytorch-2t'], ['unfold-js', 'pytorch-1t']]);
  if (rep.peak) {
    L.push('');
    const pk = rep.peak;
    const line = (name: ContenderName, threads: string): string | null => {
      const peak = pk.gflops[threads];
      if (peak === undefined || !present(name)) return null;
      const parts = rep.workloads.filter((w) => !w.aborted).map((w) => {
        const g = w.results.find((r) => r.contender === name)?.train?.gflops;
        return g === undefined ? null : `${w.workload.id} ${g.toFixed(1)} (${((100 * g) / peak).toFixed(0)}%)`;
      }).filter((x) => x !== null);
      return `${CONTENDER_LABELS[name]}: kernel peak ${peak.toFixed(1)} GFLOP/s; training steps achieve ${parts.join(', ')}`;
    };
    const lines = [line('unfold-wasm-1t', '1'), line('unfold-wasm-2t', '2')].filter((x): x is string => x !== null);
    L.push(`Roofline: achieved GFLOP/s of a whole training step (analytic matmul FLOPs ÷ time) against the measured peak of the sgemm kernel on ${pk.shape} (operands resident in wasm memory, best of several runs):`);
    L.push('');
    for (const l of lines) L.push(`- ${l}`);
  }
  return L.join('\n');
}

export const BEGIN = '<!-- models:begin -->';
export const END = '<!-- models:end -->';

/** Replaces the text between the markers (appending a section with them if absent); other sections are kept. */
export function writeBetweenMarkers(file: string, body: string, heading = '## Model benchmarks: Unfold vs TensorFlow.js', begin = BEGIN, end = END): void {
  const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const block = `${begin}\n${body}\n${end}`;
  const b = old.indexOf(begin);
  const e = old.indexOf(end);
  let text: string;
  if (b >= 0 && e > b) text = old.slice(0, b) + block + old.slice(e + end.length);
  else text = `${old.replace(/\s*$/, '')}${old ? '\n\n' : ''}${heading}\n\n${block}\n`;
  fs.writeFileSync(file, text);
}
