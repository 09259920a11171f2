// The browser benchmark's results file (benchmarks/results/browser.json) and the markdown rendered
// from it, kept in benchmarks/README.md between the browser markers (section "In the browser").
import * as fs from 'node:fs';
import type { Summary } from '../../../benchmarks/src/harness/stats';
import type { Formulation } from '../../../benchmarks/src/harness/reference';
import type { Workload } from '../../../benchmarks/src/workloads';
import { LABELS, Mode, PageContender, PageInfo, ProofResult } from './protocol';

/** Unfold in the runner's Node process, timed between the page's shares. */
export const NODE = 'node-unfold-wasm-1t';
export type RunName = PageContender | typeof NODE;

export interface ModeRun extends Summary {
  samplesMs: number[];
  reduced: boolean;
}

export interface ContenderRun extends Omit<ProofResult, 'name'> {
  name: RunName;
  /** Node only: relative difference of its loss before / after one Adam step from the page's Unfold (wasm, 1 thread); 0 = bit-identical. */
  vsPage?: { loss0: number; loss1: number };
  train?: ModeRun;
  infer?: ModeRun;
}

export interface WorkloadRun {
  workload: Workload;
  reference: Partial<Record<Formulation, number>>;
  runs: ContenderRun[];
}

export interface BrowserReport {
  date: string;
  command: string;
  seconds: number;
  machine: { cpu: string; cores: number; platform: string; node: string; browser: string; loadAvg: number[] };
  page: PageInfo;
  pageConsole: string[];
  tolerance: number;
  quick: boolean;
  workloads: WorkloadRun[];
}

const BEGIN = '<!-- browser:begin -->';
const END = '<!-- browser:end -->';

const ms = (x: number | undefined): string => (x === undefined ? '—' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
const sci = (x: number): string => x.toExponential(0);
type Stat = 'median' | 'min';
const stat = (w: WorkloadRun, c: RunName, m: Mode, s: Stat = 'median'): number | undefined => w.runs.find((r) => r.name === c && !r.failure)?.[m]?.[s];

/** a ÷ b as "12.3×". */
function times(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined) return '—';
  const r = a / b;
  return `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`;
}
const pair = (w: WorkloadRun, a: RunName, b: RunName, s: Stat = 'median'): string => `${times(stat(w, a, 'train', s), stat(w, b, 'train', s))} / ${times(stat(w, a, 'infer', s), stat(w, b, 'infer', s))}`;

function check(r: ContenderRun): string {
  if (r.failure) return `✗ ${r.failure}`;
  let s = `±${sci(r.refRelDiff)}${r.formulation === 'gru-reset-before' ? ' vs reset-before GRU†' : ''}`;
  if (r.gradRelDiff !== undefined && r.gradVs !== r.name) s += `, ∇ ±${sci(r.gradRelDiff)}`;
  if (r.vsPage) s += r.vsPage.loss0 === 0 && r.vsPage.loss1 === 0 ? ', = page bit for bit' : `, vs page ±${sci(Math.max(r.vsPage.loss0, r.vsPage.loss1))}`;
  return s;
}

export function renderBrowserMarkdown(rep: BrowserReport): string {
  const m = rep.machine;
  const L: string[] = [];
  const loads = m.loadAvg;
  L.push(`Measured ${rep.date.slice(0, 10)} in ${m.browser} (headless, Debian's; ${rep.page.hardwareConcurrency} logical cores; page cross-origin isolated: ${rep.page.crossOriginIsolated ? 'yes' : 'no'}) and Node ${m.node}, on ${m.cpu} (${m.cores} cores), ${m.platform}.`);
  L.push(`Command: \`${rep.command}\` (${(rep.seconds / 60).toFixed(1)} min wall clock; 1-min load average ${loads[0]} at the start, ${loads.slice(1).join(', ')} after each workload${loads[0] > 1.5 ? ' — a busy shared host: absolute times are inflated, the interleaved ratios are the figures to read' : ''}).`);
  const w1 = rep.workloads.find((w) => w.workload.id === 'W1');
  if (w1) {
    const t = (a: RunName, b: RunName, st: Stat): string => times(stat(w1, a, 'train', st), stat(w1, b, 'train', st));
    L.push('');
    L.push(
      `**W1 training step, Unfold (wasm, 1 thread):** Chromium ÷ Node ${t('unfold-wasm-1t', NODE, 'median')} by medians (${t('unfold-wasm-1t', NODE, 'min')} by fastest runs); ` +
        `tfjs-wasm in the same page takes ${t('tfjs-wasm', 'unfold-wasm-1t', 'median')} Unfold's time (${t('tfjs-wasm', 'unfold-wasm-1t', 'min')} by fastest runs).`,
    );
  }
  const desc = new Map<string, string>();
  for (const w of rep.workloads) for (const r of w.runs) if (r.description && !desc.has(r.name)) desc.set(r.name, r.description);
  L.push('');
  for (const [n, d] of desc) L.push(`- ${LABELS[n as RunName]}: ${d}`);
  if (!rep.page.webgl) L.push('- tfjs-webgl: not run — this headless Chromium offers no WebGL');
  L.push('');
  L.push('Median milliseconds per training step (forward + backward + Adam) and per inference pass (forward + loss), same weights and batch for every contender; loss check = relative difference from the float64 reference (∇: gradients vs the first contender of the same formulation).');
  L.push('');
  L.push('| workload | contender | train ms | reps | infer ms | reps | loss check |');
  L.push('|---|---|---:|---:|---:|---:|---|');
  let starred = false;
  for (const w of rep.workloads) {
    for (const r of w.runs) {
      const star = (x: ModeRun | undefined): string => (x?.reduced ? ((starred = true), '*') : '');
      L.push(`| ${w.workload.id} ${w.workload.label} | ${LABELS[r.name]} | ${ms(r.train?.median)} | ${r.train ? r.train.reps + star(r.train) : '—'} | ${ms(r.infer?.median)} | ${r.infer ? r.infer.reps + star(r.infer) : '—'} | ${check(r)} |`);
    }
  }
  L.push('');
  if (starred) L.push('\\* repetitions reduced: seconds per step (Unfold\'s JS kernels on W2, tfjs on a software WebGL), so fewer timed runs after one warm-up.');
  if (rep.workloads.some((w) => w.runs.some((r) => r.formulation === 'gru-reset-before'))) {
    L.push('† tfjs-layers 4.22 has only the reset-before Keras GRU: checked against a float64 reference of that formulation, not against Unfold (as in the Node table).');
  }
  L.push('');
  for (const s of ['median', 'min'] as const) {
    L.push(
      s === 'median'
        ? "Ratios of median times, from the same run (speed-up = the other contender's time ÷ Unfold's; train / infer):"
        : "The same ratios from each contender's fastest repetition (min): a neighbour process only ever adds time, so on a shared host these show what the code does when it has a core:",
    );
    L.push('');
    L.push('| workload | Unfold (wasm, 1 thread): Chromium ÷ Node | speed-up over tfjs-wasm | speed-up over tfjs-webgl | Unfold 2 threads ÷ 1 thread | Unfold js ÷ wasm |');
    L.push('|---|---:|---:|---:|---:|---:|');
    for (const w of rep.workloads) {
      L.push(`| ${w.workload.id} ${w.workload.label} | ${pair(w, 'unfold-wasm-1t', NODE, s)} | ${pair(w, 'tfjs-wasm', 'unfold-wasm-1t', s)} | ${pair(w, 'tfjs-webgl', 'unfold-wasm-1t', s)} | ${pair(w, 'unfold-wasm-2t', 'unfold-wasm-1t', s)} | ${pair(w, 'unfold-js', 'unfold-wasm-1t', s)} |`);
    }
    L.push('');
  }
  if (rep.pageConsole.length) {
    L.push(`The page logged: ${rep.pageConsole.map((s) => `\`${s.replace(/`/g, "'").slice(0, 200)}\``).join('; ')}`);
  }
  return L.join('\n');
}

/** Replaces the text between the browser markers of `file` (appends the section when they are missing). */
export function writeBrowserSection(file: string, body: string): void {
  const old = fs.readFileSync(file, 'utf8');
  const block = `${BEGIN}\n${body}\n${END}`;
  const b = old.indexOf(BEGIN);
  const e = old.indexOf(END);
  const text = b >= 0 && e > b ? old.slice(0, b) + block + old.slice(e + END.length) : `${old.replace(/\s*$/, '')}\n\n## In the browser\n\n${block}\n`;
  fs.writeFileSync(file, text);
}
