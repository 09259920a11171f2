// `unfold gradflow`: ‖∂L_T/∂h_t‖ for t = T … 1, several cells on one log plot, and how the
// profile changes while a small model trains (heatmap: training step × time step).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng, TensorError, normal } from '@unfold/tensor';
import { FlagSpec, FlagValues, UsageError } from './args';
import { loadRun, loadRunCorpus } from './run';
import { ensureDir } from './folders';
import { CharVocab, GRU, LSTM, RecurrentLayer, SimpleRNN, CharRNN, CharRNNOptions, Adam, gradientFlow, flowAt, CharFlowInput, heatmap, linePlot } from '@unfold/rnn';
import { writeSvg } from '@unfold/rnn/node';
import { loadDefaultCorpus } from './corpus';

const CELLS = ['rnn', 'lstm', 'gru'] as const;
type Cell = (typeof CELLS)[number];
const LABEL: Record<Cell, string> = { rnn: 'vanilla RNN (tanh)', lstm: 'LSTM', gru: 'GRU' };
const BACK = [0, 1, 5, 10, 25, 50, 99]; // table columns: steps back from T

export const GRADFLOW_FLAGS: Record<string, FlagSpec> = {
  cells: { kind: 'string', help: 'comma-separated cells to compare (rnn, lstm, gru)', default: 'rnn,lstm,gru' },
  T: { kind: 'int', help: 'sequence length: the loss is taken at step T only', default: 100 },
  hidden: { kind: 'int', help: 'hidden units', default: 64 },
  input: { kind: 'int', help: 'input features (random N(0,1) inputs) for the random-init cells', default: 8 },
  batch: { kind: 'int', help: 'sequences averaged over (RMS of per-example norms)', default: 8 },
  'forget-bias': { kind: 'number', help: "LSTM forget-gate bias at init (0 = PyTorch's U(±1/√H) default)", default: 1 },
  'train-steps': { kind: 'int', help: 'heatmap: steps of character-LM training on the default corpus (0 = no heatmap)', default: 60 },
  every: { kind: 'int', help: 'heatmap: measure the flow every N training steps', default: 5 },
  'train-seq': { kind: 'int', help: 'heatmap: training window length (BPTT length while training)', default: 50 },
  run: { kind: 'string', help: 'a run folder from unfold train: measure its trained model (on its own corpus) instead of random cells' },
  out: { kind: 'string', help: 'folder for the SVG plots and flow.json', default: 'gradflow' },
  seed: { kind: 'int', help: 'random seed', default: 0 },
  help: { kind: 'bool', help: 'show this help' },
};

function parseCells(s: string): Cell[] {
  const list = s.split(',').map((c) => c.trim()).filter((c) => c !== '');
  const bad = list.filter((c) => !(CELLS as readonly string[]).includes(c));
  if (bad.length || list.length === 0) throw new UsageError(`--cells takes a comma-separated list of ${CELLS.join(', ')}, got '${s}'`);
  return list.filter((c, i) => list.indexOf(c) === i) as Cell[];
}

function makeLayer(cell: Cell, I: number, H: number, seed: number, forgetBias: number): RecurrentLayer {
  const o = { inputSize: I, hiddenSize: H, seed, dtype: 'float64' as const };
  if (cell === 'lstm') return new LSTM(forgetBias !== 0 ? { ...o, init: { forgetBias } } : o);
  return cell === 'gru' ? new GRU(o) : new SimpleRNN(o);
}

/** T+1 characters per lane from `ids` starting at `starts[b]`: inputs [T, B] and the next character [B]. */
function charWindow(ids: Int32Array, starts: number[], T: number): CharFlowInput {
  const B = starts.length;
  const x = new Int32Array(T * B);
  const next = new Int32Array(B);
  starts.forEach((s, b) => {
    for (let t = 0; t < T; t++) x[t * B + b] = ids[s + t];
    next[b] = ids[s + T];
  });
  return { ids: x, shape: [T, B], next };
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toExponential(2) : '—');

export function gradflowCommand(f: FlagValues): number {
  const T = f.T as number;
  const H = f.hidden as number;
  const B = f.batch as number;
  for (const [k, min] of [['T', 2], ['hidden', 1], ['input', 1], ['batch', 1], ['train-steps', 0], ['every', 1], ['train-seq', 1]] as const) {
    if ((f[k] as number) < min) throw new UsageError(`--${k} must be ≥ ${min}, got ${f[k]}`);
  }
  const cells = parseCells(f.cells as string);
  const seed = f.seed as number;
  const out = f.out as string;
  ensureDir(out, 'unfold gradflow');
  const say = (s: string) => process.stdout.write(`${s}\n`);
  const curves: { name: string; norms: Float64Array }[] = [];

  if (f.run) {
    // A trained model, measured in float64 (a float32 copy's tiny adjoints would underflow to 0).
    const { model: m32, vocab, config } = loadRun(f.run as string);
    const model = new CharRNN({ ...config.model, dtype: 'float64' } as CharRNNOptions);
    model.loadStateDict(m32.stateDict());
    const text = loadRunCorpus(config, 'unfold gradflow', 'gradflow --run measures on the text the run was trained on').corpus.text;
    const ids = vocab.encode(text, { unknownId: 0 }); // a different corpus may hold characters the run never saw
    if (ids.length < T + 2) throw new TensorError('unfold gradflow', `the corpus has ${ids.length} characters; need more than T + 1 = ${T + 1}`);
    const rng = new Rng(seed);
    const win = charWindow(ids, Array.from({ length: B }, () => rng.int(0, ids.length - T - 1)), T);
    const r = gradientFlow(model, win);
    curves.push({ name: `${config.model.cell} (trained run ${path.basename(path.resolve(f.run as string))})`, norms: r.norms });
  } else {
    const x = normal([T, B, f.input as number], 0, 1, { rng: new Rng(seed), dtype: 'float64' });
    for (const cell of cells) {
      const layer = makeLayer(cell, f.input as number, H, seed + 1, f['forget-bias'] as number);
      const r = gradientFlow(layer, x, { seed });
      const fb = cell === 'lstm' && (f['forget-bias'] as number) !== 0 ? `, forget bias ${f['forget-bias']}` : '';
      curves.push({ name: `${LABEL[cell]}${fb}`, norms: r.norms });
    }
  }

  const svgFile = path.join(out, 'gradflow.svg');
  writeSvg(svgFile, linePlot({
    title: `‖∂L_T/∂h_t‖, loss at t = T = ${T} (H = ${H}${f.run ? '' : ', random init'})`,
    xLabel: 'time step t', yLabel: '‖∂L_T/∂h_t‖ (RMS over the batch)', logY: true,
    series: curves.map((c) => ({ name: c.name, x: Array.from({ length: T }, (_, i) => i + 1), y: c.norms })),
  }));
  const back = BACK.filter((k) => k < T);
  say(`unfold gradflow: ‖∂L_T/∂h_t‖ with the loss at t = T = ${T} only (hidden ${H}, batch ${B}, seed ${seed}, float64)`);
  say(`  ${'cell'.padEnd(36)} ${back.map((k) => (k === 0 ? 't=T' : `T−${k}`).padStart(9)).join(' ')}`);
  for (const c of curves) say(`  ${c.name.padEnd(36)} ${flowAt(c.norms, back).map((v) => fmt(v).padStart(9)).join(' ')}`);
  say(`  plot: ${path.resolve(svgFile)}`);

  const heat: Record<string, { steps: number[]; norms: number[][]; losses: number[] }> = {};
  if (!f.run && (f['train-steps'] as number) > 0) {
    const corpus = loadDefaultCorpus();
    const vocab = CharVocab.fromText(corpus.text);
    const ids = vocab.encode(corpus.text);
    for (const cell of cells) {
      const h = trainAndRecord(cell, ids, vocab.size, f, seed);
      heat[cell] = h;
      const file = path.join(out, `gradflow-heatmap-${cell}.svg`);
      writeSvg(file, heatmap({
        title: `${LABEL[cell]}: ‖∂L_T/∂h_t‖ while training a char LM (T = ${T})`,
        xLabel: 'time step t (loss at t = T)', yLabel: 'training step', logColor: true,
        values: h.norms, rowLabels: h.steps.map(String), colLabels: Array.from({ length: T }, (_, i) => String(i + 1)),
      }));
      const first = h.norms[0];
      const last = h.norms[h.norms.length - 1];
      const k = Math.min(50, T - 1);
      say(`  ${LABEL[cell]}: ‖∂L_T/∂h_{T−${k}}‖ ${fmt(first[T - 1 - k])} at step 0 → ${fmt(last[T - 1 - k])} at step ${h.steps[h.steps.length - 1]} (train loss ${h.losses[0]?.toFixed(3)} → ${h.losses[h.losses.length - 1]?.toFixed(3)} nats/char); heatmap: ${path.resolve(file)}`);
    }
  }
  const json = { T, hidden: H, batch: B, seed, run: f.run ?? null, curves: curves.map((c) => ({ name: c.name, norms: Array.from(c.norms) })), heatmaps: heat };
  fs.writeFileSync(path.join(out, 'flow.json'), JSON.stringify(json));
  return 0;
}

/**
 * Trains a small char LM (Adam 2e-3, clip 5, batch 16, windows of --train-seq) and measures the
 * flow over T on one fixed held-out window every --every steps.
 */
function trainAndRecord(cell: Cell, ids: Int32Array, V: number, f: FlagValues, seed: number) {
  const T = f.T as number;
  const steps = f['train-steps'] as number;
  const every = f.every as number;
  const seq = f['train-seq'] as number;
  const fb = f['forget-bias'] as number;
  const model = new CharRNN({ cell, vocabSize: V, hiddenSize: f.hidden as number, seed, dtype: 'float64', ...(cell === 'lstm' && fb !== 0 ? { init: { forgetBias: fb } } : {}) });
  const opt = new Adam(model.parameters(), { lr: 2e-3 });
  const rng = new Rng(seed + 7);
  const held = ids.length - T - 2; // the last T+1 characters: never trained on
  const probe = charWindow(ids, Array.from({ length: 8 }, (_, b) => held - b * 97 - 1), T);
  const lanes = 16;
  const out = { steps: [] as number[], norms: [] as number[][], losses: [] as number[] };
  for (let s = 0; s <= steps; s++) {
    if (s % every === 0 || s === steps) {
      out.steps.push(s);
      out.norms.push(Array.from(gradientFlow(model, probe).norms));
    }
    if (s === steps) break;
    const starts = Array.from({ length: lanes }, () => rng.int(0, held - 2 * T - seq - 2));
    const x = new Int32Array(seq * lanes);
    const y = new Int32Array(seq * lanes);
    starts.forEach((st, b) => {
      for (let t = 0; t < seq; t++) {
        x[t * lanes + b] = ids[st + t];
        y[t * lanes + b] = ids[st + t + 1];
      }
    });
    out.losses.push(model.trainStepFull(x, y, [seq, lanes], opt, { clip: 5 }).loss);
  }
  return out;
}

/** For cli/main.ts's COMMANDS table. */
export const GRADFLOW_COMMAND = {
  summary: 'plot ‖∂L_T/∂h_t‖ over t for RNN/LSTM/GRU (vanishing gradients, made visible)',
  flags: GRADFLOW_FLAGS,
  run: gradflowCommand,
};
