// Panel 1's data: the tiny model of `unfold explain`, its tape built by the same library calls
// (buildExplainModel, recordExplainTape, autodiff's backward), kept as records the page can
// step through one at a time. Every line is the one explain() prints (the explorer test compares
// them, so this file cannot drift from the CLI's text without a failing test).
import { Tensor, ones, zeros } from '@unfold/tensor';
import { Adjoints, TapeRecord, backward, backwardRecords, bptt, formatRecord } from '@unfold/autodiff';
import { ExplainOptions, buildExplainModel, explainStateGradNorms, explainStep, recordExplainTape } from '@unfold/rnn';

export interface ForwardRow {
  /** The record as explain() prints it (`#4   t=2   %7[1,3] = tanh(%6[1,3])  saved 1 (24 B)   → h_2`). */
  line: string;
  step: number | undefined;
  /** Named values this record produced (h_t, c_t, L_t, L) and their numbers. */
  values: { name: string; data: number[] }[];
}

export interface BackwardRow {
  line: string;
  step: number | undefined;
  /** `-- time step t = 2 (going backwards) --` when this record opens a new step. */
  heading?: string;
  /** ‖dy‖ per output: the adjoint ∂L/∂(output) flowing into this record. */
  dyNorms: number[];
  /** The state adjoints completed by this record: `⇒ ∂L/∂h_2 = [...]   ‖∂L/∂h_2‖ = …`. */
  adjoints: { name: string; t: number; data: number[]; norm: number; line: string }[];
}

export interface Walk {
  cell: 'rnn' | 'lstm' | 'gru';
  T: number;
  seed: number;
  header: string[];
  /** The `values` block: parameters, inputs, initial state. */
  values: string[];
  forward: ForwardRow[];
  /** `L = … (L_1 = …, …)` after the forward pass. */
  lossLine: string;
  L: number;
  backward: BackwardRow[];
  /** ‖∂L/∂h_t‖ (and ‖∂L/∂c_t‖) for t = 1 … T from the reverse walk, and from bptt() as a cross-check. */
  hNorms: number[];
  cNorms?: number[];
  check: number[];
  /** The table lines of explain()'s last section. */
  table: string[];
  /** Truncated BPTT (k1 < T or k2 < T): the update windows of bptt({ k1, k2 }) and the one walked. */
  truncation?: Truncation;
}

/**
 * One backward window of autodiff's bptt({ k1, k2 }): after step tEnd it backpropagates the
 * losses L_lossFrom … L_tEnd (the steps since the previous update) through steps tStart … tEnd,
 * tStart = max(1, lossFrom − (k2 − k1)); the adjoint reaching h_{tStart−1} is dropped.
 */
export interface BpttWindow { index: number; tStart: number; lossFrom: number; tEnd: number }

export interface Truncation {
  k1: number;
  k2: number;
  windows: BpttWindow[];
  /** The window whose walk `backward` holds. */
  window: BpttWindow;
  /** ‖∂L_w/∂h_t‖ per window w (index order) and t = 1 … T, as bptt's onStateGrad reports it (NaN where w does not reach t). */
  bpttNorms: number[][];
  /** The same for c_t (LSTM). */
  bpttCNorms?: number[][];
  /** ∂L_w/∂h_t of the walked window, per t (null outside it): from bptt, to compare with the walk's. */
  bpttDh: (number[] | null)[];
}

/** Panel 1's settings, as its URL holds them (`#unroll?cell=lstm&T=6&k1=2&k2=3&window=2`). */
export interface UnrollSettings {
  cell: 'rnn' | 'lstm' | 'gru';
  T: number;
  seed: number;
  /** Truncated BPTT as autodiff's bptt({ k1, k2 }): an update every k1 steps (and at T), each backpropagating through the last k2 steps. Default k1 = k2 = T: full BPTT. */
  k1: number;
  k2: number;
  /** Which update window's walk to show (1-based; default the last). */
  window?: number;
}

export function parseUnrollSettings(q: URLSearchParams): UnrollSettings {
  const cell = q.get('cell') ?? 'rnn';
  if (cell !== 'rnn' && cell !== 'lstm' && cell !== 'gru') throw new Error(`unroll: cell=${cell} (valid: rnn, lstm, gru)`);
  const T = Number(q.get('T') ?? 3);
  if (!Number.isInteger(T) || T < 1 || T > 8) throw new Error(`unroll: T=${q.get('T')} must be an integer in [1, 8]`);
  const seed = Number(q.get('seed') ?? 0);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`unroll: seed=${q.get('seed')} must be a non-negative integer`);
  const k2 = Number(q.get('k2') ?? T);
  if (!Number.isInteger(k2) || k2 < 1 || k2 > T) throw new Error(`unroll: k2=${q.get('k2')} must be an integer in [1, T = ${T}]`);
  const k1 = Number(q.get('k1') ?? k2); // k1 = k2 (char-rnn's choice) unless given
  if (!Number.isInteger(k1) || k1 < 1 || k1 > k2) throw new Error(`unroll: k1=${q.get('k1')} must be an integer in [1, k2 = ${k2}] (bptt needs k1 ≤ k2)`);
  const window = q.get('window') === null ? undefined : Number(q.get('window'));
  return { cell, T, seed, k1, k2, window };
}

const num = (v: number) => v.toPrecision(6);
const vec = (t: Tensor) => `[${t.toFlatArray().map((v) => v.toFixed(4)).join(', ')}]`;
const norm = (t: Tensor) => Math.sqrt(t.toFlatArray().reduce((a, v) => a + v * v, 0));

/**
 * The windows bptt({ k1, k2 }) walks over T steps: an update after every k1-th step and after
 * step T (autodiff/src/bptt.ts; a test checks them against the steps its onStateGrad reports).
 */
export function bpttWindows(T: number, k1: number, k2: number): BpttWindow[] {
  if (!Number.isInteger(k2) || k2 < 1 || k2 > T) throw new Error(`unroll: k2=${k2} must be an integer in [1, T = ${T}]`);
  if (!Number.isInteger(k1) || k1 < 1 || k1 > k2) throw new Error(`unroll: k1=${k1} must be an integer in [1, k2 = ${k2}] (bptt needs k1 ≤ k2)`);
  const out: BpttWindow[] = [];
  let last = 0;
  for (let t = 1; t <= T; t++) {
    if (t % k1 !== 0 && t !== T) continue;
    out.push({ index: out.length, tStart: Math.max(1, last + 1 - (k2 - k1)), lossFrom: last + 1, tEnd: t });
    last = t;
  }
  return out;
}

/** bptt({ k1, k2 }) on explain's model: every window's ∂L_w/∂h_t (and ∂L_w/∂c_t) as onStateGrad reports them. */
export function bpttStateGrads(o: { cell: 'rnn' | 'lstm' | 'gru'; steps: number; seed: number; k1: number; k2: number }): { h: (number[] | null)[]; c?: (number[] | null)[] }[] {
  const m = buildExplainModel({ cell: o.cell, steps: o.steps, seed: o.seed, fused: false });
  const lstm = m.kind === 'lstm';
  const out: { h: (number[] | null)[]; c?: (number[] | null)[] }[] = [];
  let prev = Infinity;
  bptt({
    params: Object.values(m.params), step: explainStep(m, false), xs: m.xs, k1: o.k1, k2: o.k2,
    state0: Array.from({ length: lstm ? 2 : 1 }, () => zeros([1, m.H], 'float64')),
    onStateGrad: (t, dh) => {
      if (t >= prev || out.length === 0) out.push({ h: new Array<number[] | null>(m.T).fill(null), c: lstm ? new Array<number[] | null>(m.T).fill(null) : undefined }); // a new window starts at its last step
      prev = t;
      const w = out[out.length - 1];
      w.h[t - 1] = dh[0].toFlatArray();
      if (w.c) w.c[t - 1] = dh[1].toFlatArray();
    },
  });
  return out;
}

/** The forward tape and the backward walk for these settings (composed cell, as explain's default); with k1/k2 below T, the walk of one bptt window. */
export function buildWalk(o: { cell: 'rnn' | 'lstm' | 'gru'; steps: number; seed: number; k1?: number; k2?: number; window?: number }): Walk {
  const opts: ExplainOptions = { cell: o.cell, steps: o.steps, seed: o.seed, fused: false };
  const m = buildExplainModel(opts);
  const lstm = m.kind === 'lstm';
  const { tape, names, state0, states, losses, L } = recordExplainTape(m, false);
  const named = new Map<number, Tensor>();
  const nameOf = (t: Tensor, n: string) => {
    names.set(t.id, n);
    named.set(t.id, t);
  };
  states.forEach((s, i) => {
    nameOf(s[0], `h_${i + 1}`);
    if (lstm) nameOf(s[1], `c_${i + 1}`);
  });
  losses.forEach((l, i) => nameOf(l, `L_${i + 1}`));
  nameOf(L, 'L');
  const label = (r: TapeRecord) => {
    const outs = r.outputs.map((v) => names.get(v.id)).filter((n) => n);
    return outs.length ? `   → ${outs.join(', ')}` : '';
  };

  const cellName = { rnn_tanh: 'vanilla RNN (tanh)', rnn_relu: 'RNN (relu)', lstm: 'LSTM', gru: 'GRU' }[m.kind];
  const header = [
    `unfold explain — backpropagation through time on a tiny ${cellName}`,
    `  H = ${m.H} hidden, I = ${m.I} inputs, V = ${m.V} classes, T = ${m.T} steps, batch 1, seed ${o.seed}, float64, composed cell (one record per primitive op)`,
  ];
  const values: string[] = [];
  for (const [k, v] of Object.entries(m.params)) values.push(`  %${v.id}${`[${v.shape.join(',')}]`.padEnd(8)} ${k}`);
  m.xs.forEach((x, i) => values.push(`  %${x.id}[1,${m.I}]   x_${i + 1} = ${vec(x)},  y_${i + 1} = ${m.ys[i]}`));
  state0.forEach((s, k) => values.push(`  %${s.id}[1,${m.H}]   ${k === 0 ? 'h' : 'c'}_0 = 0 (initial state, not watched: constant)`));

  const forward: ForwardRow[] = tape.entries.map((r, i) => ({
    line: formatRecord(r, i) + label(r),
    step: r.step,
    values: r.outputs.filter((v) => named.has(v.id)).map((v) => ({ name: names.get(v.id)!, data: named.get(v.id)!.toFlatArray() })),
  }));
  const lossLine = `L = ${num(L.item())}   (${losses.map((l, i) => `L_${i + 1} = ${num(l.item())}`).join(', ')})`;

  const k2 = o.k2 ?? m.T, k1 = o.k1 ?? k2;
  const windows = bpttWindows(m.T, k1, k2);
  if (windows.length > 1 || windows[0].tStart > 1) {
    const wi = o.window ?? windows.length;
    if (!Number.isInteger(wi) || wi < 1 || wi > windows.length) throw new Error(`unroll: window=${o.window} must be an integer in [1, ${windows.length}] (bptt with k1 = ${k1}, k2 = ${k2} updates ${windows.length} times over T = ${m.T})`);
    const win = windows[wi - 1];
    const walk = windowWalk(tape, win, state0, states, losses, label, lstm);
    const grads = bpttStateGrads({ cell: o.cell, steps: o.steps, seed: o.seed, k1, k2 });
    const normOf = (v: number[] | null) => (v === null ? NaN : Math.hypot(...v));
    const truncation: Truncation = {
      k1, k2, windows, window: win,
      bpttNorms: grads.map((g) => g.h.map(normOf)), bpttCNorms: lstm ? grads.map((g) => g.c!.map(normOf)) : undefined,
      bpttDh: grads[wi - 1].h,
    };
    const check = truncation.bpttNorms[wi - 1];
    const table = [`   t   ${'‖∂L_w/∂h_t‖'.padEnd(14)}${lstm ? '‖∂L_w/∂c_t‖'.padEnd(14) : ''}via bptt({ k1: ${k1}, k2: ${k2} }) (cross-check)`];
    for (let t = win.tEnd; t >= win.tStart; t--) table.push(`   ${String(t).padEnd(3)} ${num(walk.hNorms[t - 1]).padEnd(14)}${lstm ? num(walk.cNorms![t - 1]).padEnd(14) : ''}${num(check[t - 1])}`);
    return { cell: o.cell, T: m.T, seed: o.seed, header, values, forward, lossLine, L: L.item(), backward: walk.rows, hNorms: walk.hNorms, cNorms: walk.cNorms, check, table, truncation };
  }

  const hNorms = new Array<number>(m.T).fill(NaN);
  const cNorms = lstm ? new Array<number>(m.T).fill(NaN) : undefined;
  const stepOf = new Map<number, number>();
  states.forEach((s, i) => s.forEach((v) => stepOf.set(v.id, i + 1)));
  const rows: BackwardRow[] = [];
  let pending: BackwardRow['adjoints'] = [];
  let shownStep: number | undefined | null = null;
  backward(tape, L, {
    adjointsOf: states.flat(),
    onAdjoint: (v, dy) => {
      const t = stepOf.get(v.id)!;
      const isC = lstm && v === states[t - 1][1];
      const n = norm(dy);
      (isC ? cNorms! : hNorms)[t - 1] = n;
      const name = `${isC ? 'c' : 'h'}_${t}`;
      pending.push({ name, t, data: dy.toFlatArray(), norm: n, line: `      ⇒ ∂L/∂${name} = ${vec(dy)}   ‖∂L/∂${name}‖ = ${num(n)}` });
    },
    onRecord: (r, i, dys) => {
      let heading: string | undefined;
      if (r.step !== shownStep) {
        heading = r.step === undefined ? '-- outside the loop: L = L_1 + … + L_T --' : `-- time step t = ${r.step} (going backwards) --`;
        shownStep = r.step;
      }
      const dyNorms = dys.map(norm);
      rows.push({ line: `${formatRecord(r, i)}${label(r)}   ‖dy‖ = ${dyNorms.map(num).join(', ')}`, step: r.step, heading, dyNorms, adjoints: pending });
      pending = [];
    },
  });
  // explain() prints an adjoint after the record that completed it: the walk calls onAdjoint
  // before onRecord for that record, so `pending` is attached to the same row.
  const check = explainStateGradNorms(m, false).h;
  const table = [`   t   ${'‖∂L/∂h_t‖'.padEnd(14)}${lstm ? '‖∂L/∂c_t‖'.padEnd(14) : ''}via bptt() (cross-check)`];
  for (let t = m.T; t >= 1; t--) table.push(`   ${String(t).padEnd(3)} ${num(hNorms[t - 1]).padEnd(14)}${lstm ? num(cNorms![t - 1]).padEnd(14) : ''}${num(check[t - 1])}`);
  return { cell: o.cell, T: m.T, seed: o.seed, header, values, forward, lossLine, L: L.item(), backward: rows, hNorms, cNorms, check, table };
}

/**
 * The reverse walk of one bptt window on the recorded tape, record by record, as bptt runs it:
 * from step tEnd down to tStart, carrying dhNext; the losses L_lossFrom … L_tEnd are seeded
 * with ∂L_w/∂L_s = 1; what reaches h_{tStart−1} is dropped. The adjoint of h_s (c_s) is
 * complete at the record that produced it (its dy), printed there as explain() does.
 */
function windowWalk(
  tape: ReturnType<typeof recordExplainTape>['tape'], w: BpttWindow, state0: Tensor[], states: Tensor[][], losses: Tensor[],
  label: (r: TapeRecord) => string, lstm: boolean,
): { rows: BackwardRow[]; hNorms: number[]; cNorms?: number[] } {
  const T = states.length;
  const hNorms = new Array<number>(T).fill(NaN);
  const cNorms = lstm ? new Array<number>(T).fill(NaN) : undefined;
  const rows: BackwardRow[] = [];
  const adj = new Adjoints();
  let dhNext: Tensor[] | null = null;
  for (let s = w.tEnd; s >= w.tStart; s--) {
    const hOut = states[s - 1], hIn = s === 1 ? state0 : states[s - 2];
    const start = tape.entries.findIndex((r) => r.step === s);
    let end = start;
    while (end < tape.entries.length && tape.entries[end].step === s) end++;
    if (dhNext) hOut.forEach((h, k) => adj.add(h.id, dhNext![k])); // carried: (∂h_{s+1}/∂h_s)ᵀ ∂L_w/∂h_{s+1}
    if (s >= w.lossFrom) adj.add(losses[s - 1].id, ones(losses[s - 1].shape, 'float64')); // direct: this window's own loss
    let heading: string | undefined = `-- time step t = ${s} (going backwards)${s < w.lossFrom ? `: L_${s} belongs to an earlier window, only the carried adjoint flows` : ''} --`;
    backwardRecords(tape, start, end, adj, {
      onRecord: (r, i, dys) => {
        const dyNorms = dys.map(norm);
        const adjoints: BackwardRow['adjoints'] = [];
        r.outputs.forEach((v, k) => {
          const j = hOut.findIndex((h) => h.id === v.id);
          if (j < 0) return;
          const name = `${j === 1 ? 'c' : 'h'}_${s}`;
          (j === 1 ? cNorms! : hNorms)[s - 1] = dyNorms[k];
          adjoints.push({ name, t: s, data: dys[k].toFlatArray(), norm: dyNorms[k], line: `      ⇒ ∂L_w/∂${name} = ${vec(dys[k])}   ‖∂L_w/∂${name}‖ = ${num(dyNorms[k])}` });
        });
        rows.push({ line: `${formatRecord(r, i)}${label(r)}   ‖dy‖ = ${dyNorms.map(num).join(', ')}`, step: s, heading, dyNorms, adjoints });
        heading = undefined;
      },
    });
    dhNext = hIn.map((h) => adj.take(h.id) ?? zeros(h.shape, 'float64'));
  }
  return { rows, hNorms, cNorms };
}

/**
 * Tensor ids are global counters, so two runs print different %ids for the same values.
 * Renumbers %N by first appearance in the text: the page shows %0, %1, … and a test can compare
 * the page's lines with explain()'s exactly.
 */
export function localIds(lines: readonly string[]): string[] {
  const map = new Map<string, number>();
  return lines.map((l) => l.replace(/%(\d+)/g, (_, id: string) => {
    if (!map.has(id)) map.set(id, map.size);
    return `%${map.get(id)}`;
  }));
}

/** All lines of the walk in explain()'s order (values, forward, loss, backward with adjoints, table), for comparisons. */
export function walkLines(w: Walk): { values: string[]; forward: string[]; loss: string; backward: string[]; table: string[] } {
  const back: string[] = [];
  for (const r of w.backward) {
    if (r.heading) back.push(r.heading);
    back.push(r.line, ...r.adjoints.map((a) => a.line));
  }
  return { values: w.values, forward: w.forward.map((r) => r.line), loss: w.lossLine, backward: back, table: w.table };
}
