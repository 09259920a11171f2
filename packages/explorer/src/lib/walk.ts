// Panel 1's data: the tiny model of `unfold explain`, its tape built by the same library calls
// (buildExplainModel, recordExplainTape, autodiff's backward), kept as records the page can
// step through one at a time. Every line is the one explain() prints (the explorer test compares
// them, so this file cannot drift from the CLI's text without a failing test).
import { Tensor } from '@unfold/tensor';
import { Tape, TapeRecord, backward, formatRecord } from '@unfold/autodiff';
import { ExplainOptions, buildExplainModel, explainStateGradNorms, recordExplainTape } from '@unfold/rnn';

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
}

const num = (v: number) => v.toPrecision(6);
const vec = (t: Tensor) => `[${t.toFlatArray().map((v) => v.toFixed(4)).join(', ')}]`;
const norm = (t: Tensor) => Math.sqrt(t.toFlatArray().reduce((a, v) => a + v * v, 0));

/** The forward tape and the backward walk for these settings (composed cell, as explain's default). */
export function buildWalk(o: { cell: 'rnn' | 'lstm' | 'gru'; steps: number; seed: number }): Walk {
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
