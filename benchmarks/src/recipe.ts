/**
 * Wall time of the char-LM recipe in Unfold and in PyTorch, one thread each (`npm run bench:recipe`):
 * 1-layer LSTM, H = 128, one-hot input, B = 32, T = 50, Adam lr 2e-3, 2,000 steps on
 * tinyshakespeare (../shared/data/tinyshakespeare.txt), both started from the same weights
 * (char-rnn's uniform ±0.08, the benchmark's shared weights) and fed the same windows: the first
 * 90 % of the corpus cut into B contiguous streams read in consecutive windows of T characters,
 * the state carried (detached) into the next window and reset when the streams wrap (truncated
 * BPTT, k1 = k2 = T, as char-rnn); no clipping. Validation: the next 5 % the same way, from a zero state.
 * The PyTorch side is benchmarks/python/recipe.py, run after Unfold (not alternated: each run is
 * minutes long; the load average before and after each is printed).
 *
 *   node --experimental-wasm-relaxed-simd benchmarks/dist/recipe.js [--steps 2000] [--corpus FILE] [--only unfold|pytorch] [--no-write] [--report]
 * A run of the full 2,000 steps with both writes results/recipe.json and the README section between the recipe markers.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Adam, CharRNN, CharState, CharVocab } from '@unfold/rnn';
import { loadTextFile } from '@unfold/rnn/node';
import { backendInfo, setBackend, setThreads } from '@unfold/tensor';
import { writeBetweenMarkers } from './harness/report';
import { pythonPath } from './torch/child';
import { encodeStateDict } from './torch/protocol';
import { Workload, sharedWeights } from './workloads';

export const RECIPE = { hidden: 128, batch: 32, seq: 50, lr: 2e-3, steps: 2000 };
export const RECIPE_BEGIN = '<!-- recipe:begin -->';
export const RECIPE_END = '<!-- recipe:end -->';

export interface RecipeRun {
  framework: string;
  threads: number;
  /** Wall-clock seconds of the training loop (steps only; no start-up, no validation). */
  trainSeconds: number;
  valSeconds: number;
  steps: number;
  firstLoss: number;
  /** Mean training loss over the last 100 steps (nats/char). */
  lastLosses: number;
  valLoss: number;
  loadBefore: number;
  loadAfter: number;
}

/** B contiguous streams of ids [B, L] (stream b = a[b·L …]) and the number of whole windows of T (+1 for targets). */
export function streams(n: number, B: number, T: number): { L: number; windows: number } {
  const L = Math.floor(n / B);
  return { L, windows: Math.floor((L - 1) / T) };
}

/** Window k of the streams, time-major: x[t·B + b] = a[b·L + k·T + t], y the next character. */
export function windowAt(a: Int32Array, L: number, B: number, T: number, k: number): { x: Int32Array; y: Int32Array } {
  const x = new Int32Array(T * B);
  const y = new Int32Array(T * B);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const i = b * L + k * T + t;
      x[t * B + b] = a[i];
      y[t * B + b] = a[i + 1];
    }
  }
  return { x, y };
}

/** The corpus split as recipe.py splits it: train = first 90 %, validation = the next 5 %. */
export function split(ids: Int32Array): { train: Int32Array; val: Int32Array } {
  const n = ids.length;
  return { train: ids.subarray(0, Math.floor(n * 0.9)), val: ids.subarray(Math.floor(n * 0.9), Math.floor(n * 0.95)) };
}

const load1 = (): number => +os.loadavg()[0].toFixed(2);

function runUnfold(ids: Int32Array, V: number, steps: number, w: Workload): RecipeRun {
  setBackend('wasm');
  setThreads(1);
  const { hidden: H, batch: B, seq: T, lr } = RECIPE;
  const model = new CharRNN({ cell: 'lstm', vocabSize: V, hiddenSize: H, numLayers: 1, input: 'onehot', seed: 0 });
  model.loadStateDict(sharedWeights(w));
  const opt = new Adam(model.parameters(), { lr });
  const { train, val } = split(ids);
  const S = streams(train.length, B, T);
  const loadBefore = load1();
  const losses: number[] = [];
  let state: CharState | undefined;
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) {
    const k = s % S.windows;
    if (k === 0) state = undefined; // the streams wrapped: start again from a zero state
    const { x, y } = windowAt(train, S.L, B, T, k);
    const r = model.trainStepFull(x, y, [T, B], opt, { state });
    state = r.state;
    losses.push(r.loss);
  }
  const trainSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const VS = streams(val.length, B, T);
  let tot = 0;
  let vstate: CharState | undefined;
  for (let k = 0; k < VS.windows; k++) {
    const { x, y } = windowAt(val, VS.L, B, T, k);
    const r = model.evaluateFull(x, y, [T, B], vstate);
    tot += r.loss;
    vstate = r.state;
  }
  const last = losses.slice(-100);
  const i = backendInfo();
  return {
    framework: `Unfold (wasm SIMD${i.fma ? ', FMA' : ''}, ${i.threads} thread)`, threads: i.threads, trainSeconds, valSeconds: (performance.now() - t1) / 1000, steps,
    firstLoss: losses[0], lastLosses: last.reduce((a, b) => a + b, 0) / last.length, valLoss: tot / VS.windows, loadBefore, loadAfter: load1(),
  };
}

function runTorch(corpus: string, vocab: string, steps: number, w: Workload): RecipeRun | string {
  const spec = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'unfold-recipe-')), 'spec.json');
  fs.writeFileSync(spec, JSON.stringify({ corpus, vocab, ...RECIPE, steps, threads: 1, weights: encodeStateDict(sharedWeights(w)) }));
  const loadBefore = load1();
  const py = pythonPath();
  const r = spawnSync(py, [path.resolve(__dirname, '..', 'python', 'recipe.py'), spec], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' }, maxBuffer: 64 << 20 });
  fs.rmSync(path.dirname(spec), { recursive: true, force: true });
  if (r.status !== 0) return `${py} recipe.py failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`}): ${(r.stderr || '').trim().split('\n').slice(-1)[0]}`;
  const out = JSON.parse(r.stdout.trim().split('\n').slice(-1)[0]) as Omit<RecipeRun, 'loadBefore' | 'loadAfter'>;
  return { ...out, loadBefore, loadAfter: load1() };
}

function line(r: RecipeRun): string {
  return `${r.framework.padEnd(34)} ${r.trainSeconds.toFixed(1).padStart(6)} s for ${r.steps} steps (${((1000 * r.trainSeconds) / r.steps).toFixed(1)} ms/step)  loss: first ${r.firstLoss.toFixed(4)}, last 100 ${r.lastLosses.toFixed(4)}, validation ${r.valLoss.toFixed(4)} nats/char  (load ${r.loadBefore} → ${r.loadAfter})`;
}

export function renderRecipe(runs: RecipeRun[], date: string, cpu: string): string {
  const L = [
    `Measured ${date.slice(0, 10)} on ${cpu}, one thread each, run one after the other (load average before → after each run in the table). Command: \`npm run bench:recipe\`.`,
    '',
    '| framework | training wall time s | ms / step | first loss | mean loss, last 100 steps | validation loss (nats/char) | load before → after |',
    '|---|---:|---:|---:|---:|---:|---|',
    ...runs.map((r) => `| ${r.framework} | ${r.trainSeconds.toFixed(1)} | ${((1000 * r.trainSeconds) / r.steps).toFixed(1)} | ${r.firstLoss.toFixed(4)} | ${r.lastLosses.toFixed(4)} | ${r.valLoss.toFixed(4)} | ${r.loadBefore} → ${r.loadAfter} |`),
  ];
  if (runs.length === 2) L.push('', `Unfold ÷ PyTorch training wall time: ${(runs[0].trainSeconds / runs[1].trainSeconds).toFixed(2)}× (below 1× Unfold is faster).`);
  const load = Math.max(...runs.flatMap((r) => [r.loadBefore, r.loadAfter]));
  if (load > 1.5) L.push(`The host was shared (1-min load average up to ${load} on ${os.cpus().length} cores): both times are inflated, and not by the same factor — the runs were not alternated.`);
  return L.join('\n');
}

function main(): void {
  const argv = process.argv.slice(2);
  const opt = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const root = path.resolve(__dirname, '..');
  if (argv.includes('--report')) {
    const j = JSON.parse(fs.readFileSync(path.join(root, 'results', 'recipe.json'), 'utf8')) as { date: string; cpu: string; runs: RecipeRun[] };
    writeBetweenMarkers(path.join(root, 'README.md'), renderRecipe(j.runs, j.date, j.cpu), '## Char-LM recipe: wall time, Unfold vs PyTorch', RECIPE_BEGIN, RECIPE_END);
    console.log('README recipe section re-rendered from results/recipe.json');
    return;
  }
  const steps = Number(opt('--steps') ?? RECIPE.steps);
  const only = opt('--only');
  const corpus = path.resolve(opt('--corpus') ?? path.join(__dirname, '..', '..', '..', 'shared', 'data', 'tinyshakespeare.txt'));
  if (!fs.existsSync(corpus)) {
    console.log(`bench:recipe skipped: ${corpus} not found (tinyshakespeare lives in ../shared/data beside the repository; --corpus FILE)`);
    return;
  }
  const text = loadTextFile(corpus).text;
  const vocab = CharVocab.fromText(text);
  const ids = vocab.encode(text);
  const V = vocab.size;
  const w: Workload = { id: 'recipe', label: 'LSTM 1×128', cell: 'lstm', hidden: RECIPE.hidden, layers: 1, vocab: V, batch: RECIPE.batch, seq: RECIPE.seq, lr: RECIPE.lr };
  console.log(`char-LM recipe: LSTM 1×${RECIPE.hidden}, one-hot V = ${V}, B = ${RECIPE.batch}, T = ${RECIPE.seq}, Adam lr ${RECIPE.lr}, ${steps} steps, ${ids.length} characters; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const runs: RecipeRun[] = [];
  if (only !== 'pytorch') {
    runs.push(runUnfold(ids, V, steps, w));
    console.log(line(runs[runs.length - 1]));
  }
  if (only !== 'unfold') {
    const r = runTorch(corpus, vocab.chars.join(''), steps, w);
    if (typeof r === 'string') console.log(`PyTorch skipped: ${r}`);
    else {
      runs.push(r);
      console.log(line(r));
    }
  }
  if (runs.length === 2) {
    const [u, t] = runs;
    const d = Math.abs(u.firstLoss - t.firstLoss) / Math.max(u.firstLoss, t.firstLoss);
    console.log(`same start: first-step losses differ by ${d.toExponential(1)} (relative)${d > 1e-4 ? ' — NOT the same weights and data' : ''}; Unfold ÷ PyTorch training wall time ${(u.trainSeconds / t.trainSeconds).toFixed(2)}×`);
    if (steps === RECIPE.steps && !argv.includes('--no-write')) {
      const date = new Date().toISOString();
      const cpu = `${os.cpus()[0]?.model.trim() ?? 'unknown'} (${os.cpus().length} cores), Node ${process.version}`;
      fs.writeFileSync(path.join(root, 'results', 'recipe.json'), JSON.stringify({ date, cpu, recipe: RECIPE, runs }, null, 1) + '\n');
      writeBetweenMarkers(path.join(root, 'README.md'), renderRecipe(runs, date, cpu), '## Char-LM recipe: wall time, Unfold vs PyTorch', RECIPE_BEGIN, RECIPE_END);
      console.log('wrote results/recipe.json and the README section');
    }
  }
}

if (require.main === module) main();
