/**
 * How an Unfold training step scales (CharRNN LSTM, one-hot V = 65, B = 32, Adam), three studies:
 *   T  — ms and memory per step versus sequence length T at H = 128;
 *   H  — ms and memory per step versus hidden size H at T = 50;
 *   tbptt — memory of full BPTT (one window of T steps) versus truncated BPTT (the same stream in
 *           windows of k2 = 20 steps, state carried and detached between windows) as T grows.
 * Memory = bytes held by the tape's saved tensors just before backward (its peak: backward only
 * frees them), and the live JS heap + ArrayBuffers at that moment minus the same before the step
 * (both after a full GC, so only what the step keeps alive is counted).
 * Least-squares lines y = a + b·T give the cost and the memory per time step; the memory slope
 * is set against the analytic floor of full BPTT, T·B·(gates + state) floats (LSTM: 4H + 2H).
 * Runs the default path — the whole-sequence `recurrentSequence` op, wasm kernels (when the
 * runtime has SIMD), one thread — set explicitly here, and checks it on the tape.
 *   node --experimental-wasm-relaxed-simd benchmarks/dist/scaling.js [--quick] [--reps N] [--no-write] [--report]
 * (about 1.5 min on 2 shared cores; --report re-renders README + SVGs from results/scaling.json)
 * Writes results/scaling.json, results/scaling-{T,T-time,T-bytes,H,memory}.svg and the README section between
 * the scaling markers.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Tensor, backendInfo, setBackend, setThreads } from '@unfold/tensor';
import { Tape, backward } from '@unfold/autodiff';
import { Adam, CharRNN, CharState, clipGradNorm, detachState, linePlot, setSequenceKernels } from '@unfold/rnn';
import { writeSvg } from '@unfold/rnn/node';
import { collectGarbage } from './harness/memory';
import { median } from './harness/stats';

export const V = 65;
export const B = 32;
export const K2 = 20;
export const T_VALUES = [10, 25, 50, 100, 200, 400];
export const H_VALUES = [32, 64, 128, 256, 512];
export const TBPTT_T_VALUES = [20, 50, 100, 200, 400];
export const SCALING_BEGIN = '<!-- scaling:begin -->';
export const SCALING_END = '<!-- scaling:end -->';

export interface ScalingOptions {
  /** Timed repetitions per configuration after one warm-up step (default 5; fewer for slow configurations). */
  reps?: number;
  /** Two repetitions everywhere (rough figures). */
  quick?: boolean;
  /** Write results/scaling.json, the SVGs and the README section (default true). */
  write?: boolean;
  /** benchmarks/ directory (default: the parent of this file's directory). */
  root?: string;
  log?: (line: string) => void;
}

/** One configuration: median ms and memory of a training step (or of a whole stream for 'truncated'). */
export interface ScalingPoint {
  T: number;
  H: number;
  /** Median wall-clock ms (one step; for truncated BPTT, all T/k2 windows of the stream). */
  ms: number;
  samples: number[];
  /** Peak bytes held by saved tensors on the tape (read before backward). */
  savedBytes: number;
  /** Live heap + ArrayBuffers at that moment minus the same before the step, after a full GC each side. */
  heapBytes: number;
  /** Analytic matmul FLOPs of the training step(s): 3 × forward. */
  flops: number;
  /** Records on the tape of one step, and how many of them are whole-sequence ops (1 per layer and direction on the default path). */
  tapeRecords?: number;
  sequenceOps?: number;
}

/** y = intercept + slope·x by least squares, and R². */
export interface LineFit {
  slope: number;
  intercept: number;
  r2: number;
}

export interface ScalingResult {
  machine: { cpu: string; cores: number; memoryGiB: number; platform: string; node: string; date: string; loadAvg: [number, number] };
  command: string;
  seconds: number;
  settings: { cell: 'lstm'; V: number; B: number; k2: number; optimizer: string; reps: number; backend?: string };
  byT: ScalingPoint[];
  byH: ScalingPoint[];
  tbptt: { full: ScalingPoint[]; truncated: ScalingPoint[] };
  /** Log-log slopes (d log y / d log x) fitted by least squares. */
  slopes: Record<string, number>;
  /** Straight lines against T (H = 128, full BPTT): ms, saved bytes and heap Δ bytes per step. */
  linear?: { ms: LineFit; saved: LineFit; heap: LineFit };
  /** Full BPTT's activation floor per time step, T·B·(gates + state) floats: bytes per time step. */
  floorBytesPerStep?: number;
}

// ---------------------------------------------------------------- pure helpers

/** Training-step FLOPs of a 1-layer LSTM char model: 3 × T·[2·B·(V·4H + H·4H) + 2·B·H·V]. */
export function trainFlops(T: number, H: number, b = B, v = V): number {
  return 3 * T * (2 * b * (v * 4 * H + H * 4 * H) + 2 * b * H * v);
}

/** Least-squares slope of log y against log x (≈ the exponent p of y ∝ x^p); NaN if fewer than 2 usable points. */
export function logLogSlope(xs: readonly number[], ys: readonly number[]): number {
  const pts: [number, number][] = [];
  for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
    if (xs[i] > 0 && ys[i] > 0 && Number.isFinite(xs[i]) && Number.isFinite(ys[i])) pts.push([Math.log(xs[i]), Math.log(ys[i])]);
  }
  if (pts.length < 2) return NaN;
  const mx = pts.reduce((s, p) => s + p[0], 0) / pts.length;
  const my = pts.reduce((s, p) => s + p[1], 0) / pts.length;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of pts) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  return sxx === 0 ? NaN : sxy / sxx;
}

/** Least-squares line through (x, y); NaN fields with fewer than 2 distinct x. */
export function linearFit(xs: readonly number[], ys: readonly number[]): LineFit {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return { slope: NaN, intercept: NaN, r2: NaN };
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i] / n;
    my += ys[i] / n;
  }
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  }
  if (sxx === 0) return { slope: NaN, intercept: NaN, r2: NaN };
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}

/**
 * Bytes per time step full BPTT must keep, at least, for a 1-layer LSTM: per step and row, the
 * four activated gates and the state (h, c) — T·B·(4H + 2H) floats in all (float32: 4 bytes).
 */
export function lstmFloorBytesPerStep(H: number, b = B): number {
  return b * (4 * H + 2 * H) * 4;
}

/** [t0, t1) windows of at most k steps covering [0, T). */
export function windows(T: number, k: number): [number, number][] {
  const out: [number, number][] = [];
  for (let t = 0; t < T; t += k) out.push([t, Math.min(T, t + k)]);
  return out;
}

/** Replaces the text between begin and end (appending heading + markers if absent); the rest is kept. */
export function replaceBetween(text: string, begin: string, end: string, body: string, heading: string): string {
  const block = `${begin}\n${body}\n${end}`;
  const b = text.indexOf(begin);
  const e = text.indexOf(end);
  if (b >= 0 && e > b) return text.slice(0, b) + block + text.slice(e + end.length);
  return `${text.replace(/\s*$/, '')}${text ? '\n\n' : ''}${heading}\n\n${block}\n`;
}

/** Timed repetitions for a configuration whose warm-up took `ms`: fewer for slow ones. */
export function repsFor(ms: number, reps: number): number {
  return ms < 1500 ? reps : ms < 4000 ? Math.min(reps, 3) : Math.min(reps, 2);
}

const mib = (b: number): string => (b / 2 ** 20).toFixed(1);
const fms = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const slope = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '—');

// ---------------------------------------------------------------- measurement

/** Deterministic pseudo-text: ids [T, B] (time-major) and the next-character targets. */
function stream(T: number): { x: Int32Array; y: Int32Array } {
  const ids = new Int32Array((T + 1) * B);
  let s = 12345;
  for (let i = 0; i < ids.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    ids[i] = (s >>> 8) % V;
  }
  return { x: ids.subarray(0, T * B), y: ids.subarray(B, (T + 1) * B) };
}

/** Two full GCs: the second collects what the first's weak callbacks and finalizers released. */
function fullGc(): void {
  collectGarbage();
  collectGarbage();
}

const jsBytes = (): number => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

interface StepOut {
  ms: number;
  saved: number;
  heap: number;
  records: number;
  sequenceOps: number;
  state: CharState;
}

/**
 * One training step as CharRNN.trainStepFull does it (tape watching every parameter, backward,
 * clip (∞: norm only), Adam), with the tape held here so its saved bytes can be read before backward.
 * With `memory`, GCs around the reading (then `ms` is not meaningful).
 */
function step(model: CharRNN, opt: Adam, x: Int32Array, y: Int32Array, T: number, state: CharState | undefined, memory: boolean): StepOut {
  let base = 0;
  if (memory) {
    fullGc();
    base = jsBytes();
  }
  const t0 = performance.now();
  model.train(true);
  const params = model.parameters();
  const tape = new Tape();
  tape.ownsOutputs = true; // as trainStepFull's computeGradients({ releaseIntermediates: true })
  tape.watch(...params.map((p) => p.value));
  const out = tape.run(() => model.loss(x, y, [T, B], state));
  const saved = tape.savedBytes();
  const records = tape.entries.length;
  const sequenceOps = tape.entries.filter((e) => e.op === 'recurrentSequence').length;
  let heap = 0;
  if (memory) {
    fullGc();
    heap = jsBytes() - base;
  }
  const g = backward(tape, out.loss as Tensor);
  for (const p of params) p.grad = g.get(p.value);
  clipGradNorm(params, Infinity);
  opt.step();
  out.loss.item();
  return { ms: performance.now() - t0, saved, heap, records, sequenceOps, state: detachState(out.state) };
}

/** Full BPTT over one window of T steps, or truncated: windows of k2 steps with the state carried. */
function pass(model: CharRNN, opt: Adam, T: number, k2: number | null, memory: boolean): { ms: number; saved: number; heap: number; records?: number; sequenceOps?: number } {
  const { x, y } = stream(T);
  if (k2 === null) return step(model, opt, x, y, T, undefined, memory);
  let state: CharState | undefined;
  let ms = 0;
  let saved = 0;
  let heap = -Infinity;
  for (const [t0, t1] of windows(T, k2)) {
    const r = step(model, opt, x.subarray(t0 * B, t1 * B), y.subarray(t0 * B, t1 * B), t1 - t0, state, memory);
    ms += r.ms;
    saved = Math.max(saved, r.saved);
    heap = Math.max(heap, r.heap);
    state = r.state;
  }
  return { ms, saved, heap };
}

function measure(T: number, H: number, k2: number | null, reps: number): ScalingPoint {
  const model = new CharRNN({ cell: 'lstm', vocabSize: V, hiddenSize: H, input: 'onehot', seed: 0 });
  const opt = new Adam(model.parameters(), { lr: 2e-3 });
  const warm = pass(model, opt, T, k2, false); // also allocates Adam's moments, so they are not in the heap delta
  const n = repsFor(warm.ms, reps);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    collectGarbage(); // outside the timed region: every rep starts from the same heap
    samples.push(pass(model, opt, T, k2, false).ms);
  }
  const mem = pass(model, opt, T, k2, true);
  return { T, H, ms: median(samples), samples: samples.map((s) => +s.toFixed(2)), savedBytes: mem.saved, heapBytes: mem.heap, flops: trainFlops(T, H), tapeRecords: mem.records, sequenceOps: mem.sequenceOps };
}

// ---------------------------------------------------------------- report

function tableStep(points: ScalingPoint[], key: 'T' | 'H'): string {
  const first = points[0];
  const L = [
    `| ${key} | ms/step | reps | GFLOP/s | × time (vs ${key} = ${first[key]}) | × FLOPs | saved MiB | heap Δ MiB |`,
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const p of points) {
    L.push(`| ${p[key]} | ${fms(p.ms)} | ${p.samples.length} | ${(p.flops / p.ms / 1e6).toFixed(2)} | ${(p.ms / first.ms).toFixed(1)} | ${(p.flops / first.flops).toFixed(1)} | ${mib(p.savedBytes)} | ${mib(p.heapBytes)} |`);
  }
  return L.join('\n');
}

const kib = (b: number): string => (b / 1024).toFixed(1);

/** The straight-line fits against T in words: ms and bytes per time step, and the memory slope against its floor. */
function linearNote(r: ScalingResult): string {
  const l = r.linear;
  const f = r.floorBytesPerStep;
  if (!l || f === undefined) return '';
  const plus = (x: number, f: (v: number) => string): string => `${x < 0 ? '−' : '+'} ${f(Math.abs(x))}`;
  return `over T = ${r.byT.map((p) => p.T).join(', ')} (H = 128): time ${l.ms.slope.toFixed(3)} ms per time step ${plus(l.ms.intercept, (v) => v.toFixed(1))} ms (R² ${l.ms.r2.toFixed(4)}); ` +
    `saved tensors ${kib(l.saved.slope)} KiB per time step ${plus(l.saved.intercept, mib)} MiB (R² ${l.saved.r2.toFixed(4)}); heap Δ ${kib(l.heap.slope)} KiB per time step ${plus(l.heap.intercept, mib)} MiB (R² ${l.heap.r2.toFixed(4)}); ` +
    `analytic floor T·B·(4H + 2H) floats = ${kib(f)} KiB per time step: saved slope ÷ floor = ${(l.saved.slope / f).toFixed(2)}`;
}

function tableTbptt(r: ScalingResult['tbptt']): string {
  const L = [
    `| T | full: saved MiB | full: heap Δ MiB | full: ms | truncated k2 = ${K2}: windows | peak saved MiB | peak heap Δ MiB | ms (whole stream) |`,
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  r.full.forEach((f, i) => {
    const t = r.truncated[i];
    L.push(`| ${f.T} | ${mib(f.savedBytes)} | ${mib(f.heapBytes)} | ${fms(f.ms)} | ${windows(t.T, K2).length} | ${mib(t.savedBytes)} | ${mib(t.heapBytes)} | ${fms(t.ms)} |`);
  });
  return L.join('\n');
}

/** How the truncated stream's time compared with one full-BPTT step at the largest T, in words. */
function truncNote(r: ScalingResult): string {
  const f = r.tbptt.full[r.tbptt.full.length - 1];
  const t = r.tbptt.truncated[r.tbptt.truncated.length - 1];
  const q = t.ms / f.ms;
  return q <= 1.05
    ? `at T = ${f.T} it took ${q.toFixed(2)}× the time of the single full step here (not profiled; plausibly its smaller working set and lighter GC)`
    : `at T = ${f.T} it took ${q.toFixed(2)}× the time of the single full step (the extra optimizer steps and per-window set-up)`;
}

export function renderReadme(r: ScalingResult): string {
  const m = r.machine;
  const s = r.slopes;
  return [
    `Measured ${m.date.slice(0, 10)} on ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), ${m.platform}, Node ${m.node}; single thread.`,
    `Command: \`${r.command}\` (${r.seconds.toFixed(0)} s wall clock; 1-min load average ${m.loadAvg[0]} at the start, ${m.loadAvg[1]} at the end — the host is shared with other jobs, so absolute times are noisy; the shapes of the curves are the robust part).`,
    '',
    `Unfold CharRNN, LSTM 1 layer, one-hot V = ${V}, B = ${B}, Adam; median ms per training step (forward + backward + Adam) over the reps after one warm-up step${r.settings.backend ? `; ${r.settings.backend}` : ''}${r.byT[0]?.tapeRecords !== undefined ? ` (checked: a step's tape holds ${r.byT[0].tapeRecords} records, ${r.byT[0].sequenceOps} of them whole-sequence ops)` : ''}.`,
    'Memory: **saved MiB** = bytes held by the tape\'s saved tensors just before backward (`Tape.savedBytes()`, each storage once; this includes the weight matrices the matmuls keep, a constant);',
    '**heap Δ** = live V8 heap + ArrayBuffers at that moment minus the same before the step, each after a full GC (the tape, activations and anything else the step keeps alive).',
    'GFLOP/s from the analytic count 3 × T·[2·B·(V·4H + H·4H) + 2·B·H·V]. Slopes are least-squares fits of log y on log x (1 = linear, 2 = quadratic, 0 = flat).',
    '',
    `### Versus sequence length T (H = 128)`,
    '',
    tableStep(r.byT, 'T'),
    '',
    `Slopes: time ${slope(s.T_time)}, saved bytes ${slope(s.T_saved)}, heap Δ ${slope(s.T_heap)} (FLOPs: 1).`,
    '',
    ...(r.linear ? [
      `Straight lines y = a + b·T by least squares ${linearNote(r)}.`,
      `The floor counts, per time step and batch row, the four activated gates and the state (h, c) of full BPTT. What the tape saves beyond it, also ∝ T, per row, is the output head's softmax adjoint (V floats): B·(6H + V) floats = ${kib(B * (6 * 128 + V) * 4)} KiB per time step in all, against the ${kib(r.linear.saved.slope)} KiB fitted. (The sequence op recomputes tanh(c_t) in backward rather than saving it, and, its outputs owned by the tape, returns h_t as a view of its saved states instead of a copy: before those two, B·(8H + V) floats = ${kib(B * (8 * 128 + V) * 4)} KiB.)`,
      '',
      '![ms per step versus T, linear axes, with the fitted line](results/scaling-T-time.svg) ![saved bytes per step versus T with the fitted line and the analytic floor](results/scaling-T-bytes.svg)',
      '',
    ] : []),
    '![ms and memory per step versus T](results/scaling-T.svg)',
    '',
    `### Versus hidden size H (T = 50)`,
    '',
    tableStep(r.byH, 'H'),
    '',
    `Slopes over H = 128…512: time ${slope(s.H_time_big)}, FLOPs ${slope(s.H_flops_big)}; over all H: time ${slope(s.H_time)}, saved bytes ${slope(s.H_saved)}, heap Δ ${slope(s.H_heap)}.`,
    '',
    '![ms and memory per step versus H](results/scaling-H.svg)',
    '',
    `### Full versus truncated BPTT (H = 128, k2 = ${K2})`,
    '',
    `Full: the stream of T steps is one window (one step, gradient through all T steps). Truncated: the same stream in ⌈T/${K2}⌉ consecutive windows of ${K2} steps, each a training step, the state carried (detached) into the next; its memory is the peak over the windows and its time is the whole stream.`,
    '',
    tableTbptt(r.tbptt),
    '',
    `Slopes of saved bytes against T: full ${slope(s.full_saved)}, truncated ${slope(s.trunc_saved)}; heap Δ: full ${slope(s.full_heap)}, truncated ${slope(s.trunc_heap)}.`,
    '',
    '![memory versus T, full and truncated BPTT](results/scaling-memory.svg)',
    '',
    '**Reading.** A step\'s memory is its activations: every step saves the gates and states of B rows, so saved bytes grow as T (slope ≈ 1)',
    'and as H (the per-step activations are [B, 4H]; the O(H²) weights the matmuls keep are a constant few MiB, which is also why heap Δ is below saved at H = 512:',
    'the weights existed before the step). Time grows a little slower than T because the per-step fixed costs (Adam over the parameters, tape set-up) are amortised,',
    'and much slower than the FLOPs at small H: below H ≈ 128 the per-op overhead and the [T·B, V] output head dominate, so the time only starts to follow H² near 512.',
    `Truncated BPTT holds one window of ${K2} steps whatever the stream length (flat), full BPTT holds all T (linear); the truncated stream costs`,
    `⌈T/${K2}⌉ optimizer steps instead of one; ${truncNote(r)}.`,
    '',
    'Re-render this section and the plots from results/scaling.json without measuring: `node benchmarks/dist/scaling.js --report`.',
  ].join('\n');
}

function plots(r: ScalingResult, dir: string): void {
  const rel = (ps: ScalingPoint[], f: (p: ScalingPoint) => number) => ps.map((p) => f(p) / f(ps[0]));
  const M = (ps: ScalingPoint[], f: (p: ScalingPoint) => number) => ps.map((p) => f(p) / 2 ** 20);
  const Ts = r.byT.map((p) => p.T);
  writeSvg(path.join(dir, 'scaling-T.svg'), linePlot({
    title: `LSTM H = 128, B = ${B}: training step versus T (relative to T = ${Ts[0]})`,
    xLabel: 'sequence length T', yLabel: `ratio to T = ${Ts[0]}`, logX: true, logY: true,
    series: [
      { name: 'time per step', x: Ts, y: rel(r.byT, (p) => p.ms) },
      { name: 'saved tensors', x: Ts, y: rel(r.byT, (p) => p.savedBytes) },
      { name: 'heap Δ', x: Ts, y: rel(r.byT, (p) => p.heapBytes) },
      { name: 'FLOPs (∝ T)', x: Ts, y: rel(r.byT, (p) => p.flops), dashed: true },
    ],
  }));
  if (r.linear && r.floorBytesPerStep !== undefined) {
    const l = r.linear;
    const line = (f: LineFit, scale = 1) => Ts.map((T) => (f.intercept + f.slope * T) / scale);
    writeSvg(path.join(dir, 'scaling-T-time.svg'), linePlot({
      title: `LSTM H = 128, B = ${B}: ms per training step versus T — ${l.ms.slope.toFixed(3)} ms per time step ${l.ms.intercept < 0 ? '−' : '+'} ${Math.abs(l.ms.intercept).toFixed(1)} ms`,
      xLabel: 'sequence length T', yLabel: 'ms per step',
      series: [
        { name: 'measured (median)', x: Ts, y: r.byT.map((p) => p.ms) },
        { name: 'least-squares line', x: Ts, y: line(l.ms), dashed: true },
      ],
    }));
    const floor = r.floorBytesPerStep;
    writeSvg(path.join(dir, 'scaling-T-bytes.svg'), linePlot({
      title: `LSTM H = 128, B = ${B}: memory of a training step versus T — saved ${kib(l.saved.slope)} KiB per time step (floor ${kib(floor)})`,
      xLabel: 'sequence length T', yLabel: 'MiB',
      series: [
        { name: 'saved tensors', x: Ts, y: M(r.byT, (p) => p.savedBytes) },
        { name: 'saved: least-squares line', x: Ts, y: line(l.saved, 2 ** 20), dashed: true },
        { name: 'heap Δ', x: Ts, y: M(r.byT, (p) => p.heapBytes) },
        { name: 'floor T·B·(4H + 2H) floats', x: Ts, y: Ts.map((T) => (T * floor) / 2 ** 20), dashed: true },
      ],
    }));
  }
  const Hs = r.byH.map((p) => p.H);
  writeSvg(path.join(dir, 'scaling-H.svg'), linePlot({
    title: `LSTM T = 50, B = ${B}: training step versus H (relative to H = ${Hs[0]})`,
    xLabel: 'hidden size H', yLabel: `ratio to H = ${Hs[0]}`, logX: true, logY: true,
    series: [
      { name: 'time per step', x: Hs, y: rel(r.byH, (p) => p.ms) },
      { name: 'saved tensors', x: Hs, y: rel(r.byH, (p) => p.savedBytes) },
      { name: 'heap Δ', x: Hs, y: rel(r.byH, (p) => p.heapBytes) },
      { name: 'FLOPs', x: Hs, y: rel(r.byH, (p) => p.flops), dashed: true },
    ],
  }));
  const Tm = r.tbptt.full.map((p) => p.T);
  writeSvg(path.join(dir, 'scaling-memory.svg'), linePlot({
    title: `Full vs truncated BPTT (k2 = ${K2}), LSTM H = 128: memory`,
    xLabel: 'stream length T', yLabel: 'MiB',
    series: [
      { name: 'full: saved tensors', x: Tm, y: M(r.tbptt.full, (p) => p.savedBytes) },
      { name: 'full: heap Δ', x: Tm, y: M(r.tbptt.full, (p) => p.heapBytes), dashed: true },
      { name: `truncated: saved tensors`, x: Tm, y: M(r.tbptt.truncated, (p) => p.savedBytes) },
      { name: `truncated: heap Δ`, x: Tm, y: M(r.tbptt.truncated, (p) => p.heapBytes), dashed: true },
    ],
  }));
}

// ---------------------------------------------------------------- run

/** The default path, explicitly: wasm kernels when the runtime has SIMD, one thread, the whole-sequence op (UNFOLD_SEQUENCE=0: the per-step path). */
function configureBackend(): string {
  try {
    setBackend('wasm');
  } catch {
    setBackend('js');
  }
  setThreads(1);
  const seq = process.env.UNFOLD_SEQUENCE !== '0';
  setSequenceKernels(seq);
  const i = backendInfo();
  return `${i.gemm === 'wasm-simd' ? `wasm SIMD kernels${i.fma ? ' (FMA)' : ''}` : 'JS kernels'}, 1 thread, ${seq ? 'whole-sequence op (the default)' : 'per-step path (UNFOLD_SEQUENCE=0)'}`;
}

export function runScaling(opts: ScalingOptions = {}): ScalingResult {
  const log = opts.log ?? ((l: string) => console.log(l));
  const reps = opts.quick ? 2 : opts.reps ?? 5;
  const root = opts.root ?? path.resolve(__dirname, '..');
  const load0 = os.loadavg()[0];
  const t0 = performance.now();
  const backend = configureBackend();
  log(`scaling: ${backend}`);
  measure(25, 64, null, 2); // JIT warm-up of the whole path before the first timed configuration
  const cache = new Map<string, ScalingPoint>();
  const get = (T: number, H: number, k2: number | null): ScalingPoint => {
    const key = `${T}/${H}/${k2}`;
    let p = cache.get(key);
    if (!p) {
      p = measure(T, H, k2, reps);
      cache.set(key, p);
      const what = k2 === null ? 'full     ' : `trunc k2=${k2}`;
      log(`  ${what} T=${String(T).padStart(3)} H=${String(H).padStart(3)}  ${fms(p.ms).padStart(6)} ms (${p.samples.length} reps)  saved ${mib(p.savedBytes).padStart(6)} MiB  heap Δ ${mib(p.heapBytes).padStart(6)} MiB`);
    }
    return p;
  };
  log('scaling: versus T (H = 128)');
  const byT = T_VALUES.map((T) => get(T, 128, null));
  const p0 = byT[0];
  log(`scaling: the tape of one step holds ${p0.tapeRecords} records, ${p0.sequenceOps} of them whole-sequence ops${p0.sequenceOps ? '' : ' — NOT the whole-sequence path'}`);
  log('scaling: versus H (T = 50)');
  const byH = H_VALUES.map((H) => get(50, H, null));
  log(`scaling: full versus truncated BPTT (k2 = ${K2}, H = 128)`);
  const full = TBPTT_T_VALUES.map((T) => get(T, 128, null));
  const truncated = TBPTT_T_VALUES.map((T) => get(T, 128, K2));
  const cpus = os.cpus();
  const col = <K extends keyof ScalingPoint>(ps: ScalingPoint[], k: K) => ps.map((p) => p[k] as number);
  const big = byH.filter((p) => p.H >= 128);
  const result: ScalingResult = {
    machine: {
      cpu: cpus[0]?.model.trim() ?? 'unknown', cores: cpus.length, memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
      platform: `${os.platform()} ${os.release()} ${os.arch()}`, node: process.version, date: new Date().toISOString(),
      loadAvg: [+load0.toFixed(2), +os.loadavg()[0].toFixed(2)],
    },
    command: `node --experimental-wasm-relaxed-simd benchmarks/dist/scaling.js${opts.quick ? ' --quick' : opts.reps ? ` --reps ${opts.reps}` : ''}`,
    seconds: (performance.now() - t0) / 1000,
    settings: { cell: 'lstm', V, B, k2: K2, optimizer: 'Adam lr 2e-3', reps, backend },
    byT, byH, tbptt: { full, truncated },
    slopes: {
      T_time: logLogSlope(col(byT, 'T'), col(byT, 'ms')),
      T_saved: logLogSlope(col(byT, 'T'), col(byT, 'savedBytes')),
      T_heap: logLogSlope(col(byT, 'T'), col(byT, 'heapBytes')),
      H_time: logLogSlope(col(byH, 'H'), col(byH, 'ms')),
      H_time_big: logLogSlope(col(big, 'H'), col(big, 'ms')),
      H_flops_big: logLogSlope(col(big, 'H'), col(big, 'flops')),
      H_saved: logLogSlope(col(byH, 'H'), col(byH, 'savedBytes')),
      H_heap: logLogSlope(col(byH, 'H'), col(byH, 'heapBytes')),
      full_saved: logLogSlope(col(full, 'T'), col(full, 'savedBytes')),
      trunc_saved: logLogSlope(col(truncated, 'T'), col(truncated, 'savedBytes')),
      full_heap: logLogSlope(col(full, 'T'), col(full, 'heapBytes')),
      trunc_heap: logLogSlope(col(truncated, 'T'), col(truncated, 'heapBytes')),
    },
  };
  for (const k of Object.keys(result.slopes)) result.slopes[k] = +result.slopes[k].toFixed(3);
  const Ts = col(byT, 'T');
  result.linear = { ms: linearFit(Ts, col(byT, 'ms')), saved: linearFit(Ts, col(byT, 'savedBytes')), heap: linearFit(Ts, col(byT, 'heapBytes')) };
  result.floorBytesPerStep = lstmFloorBytesPerStep(128);
  log(`scaling: least squares ${linearNote(result)}`);
  log(`scaling: ${result.seconds.toFixed(0)} s`);
  if (opts.write !== false) {
    const dir = path.join(root, 'results');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'scaling.json'), JSON.stringify(result, null, 2) + '\n');
    writeScalingReport(result, root);
    log('scaling: wrote results/scaling.json, results/scaling-{T,T-time,T-bytes,H,memory}.svg and the README section');
  }
  return result;
}

/** The SVGs and the README section from a result (measured now or read back from results/scaling.json). */
export function writeScalingReport(result: ScalingResult, root = path.resolve(__dirname, '..')): void {
  if (!result.linear) {
    // a results file from before the straight-line fits: derive them from its points
    const Ts = result.byT.map((p) => p.T);
    result.linear = { ms: linearFit(Ts, result.byT.map((p) => p.ms)), saved: linearFit(Ts, result.byT.map((p) => p.savedBytes)), heap: linearFit(Ts, result.byT.map((p) => p.heapBytes)) };
    result.floorBytesPerStep = lstmFloorBytesPerStep(128);
  }
  plots(result, path.join(root, 'results'));
  const readme = path.join(root, 'README.md');
  const old = fs.existsSync(readme) ? fs.readFileSync(readme, 'utf8') : '';
  fs.writeFileSync(readme, replaceBetween(old, SCALING_BEGIN, SCALING_END, renderReadme(result), '## Scaling: Unfold training step versus T, H and BPTT truncation'));
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const i = argv.indexOf('--reps');
  if (argv.includes('--report')) {
    const root = path.resolve(__dirname, '..');
    writeScalingReport(JSON.parse(fs.readFileSync(path.join(root, 'results', 'scaling.json'), 'utf8')) as ScalingResult, root);
    console.log('scaling: README section and SVGs re-rendered from results/scaling.json');
  } else runScaling({ quick: argv.includes('--quick'), reps: i >= 0 ? Number(argv[i + 1]) : undefined, write: !argv.includes('--no-write') });
}
