// BPTT on a tiny RNN (what `unfold explain` prints and the explorer steps through), one tape record per line — forward in execution order,
// then the same records walked backwards with the adjoints flowing into each one.
import { Rng, Tensor, normal, uniform, zeros } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { Tape, TapeRecord, backward, bptt, formatRecord, unroll } from '@unfold/autodiff';
import { CellKind, GATES, STATES, cellStep } from './cells';

export interface ExplainOptions {
  cell?: 'rnn' | 'lstm' | 'gru';
  steps?: number;
  seed?: number;
  /** One record per cell step (fused kernel) instead of the composed matmul/add/tanh records. */
  fused?: boolean;
}

/** The tiny model: h_t = cell(x_t W_ihᵀ + b_ih, h_{t−1}; W_hh, b_hh), logits_t = h_t W_hyᵀ + b_y, L = Σ_t CE(logits_t, y_t). */
export interface ExplainModel {
  kind: CellKind;
  H: number;
  I: number;
  V: number;
  T: number;
  params: { W_ih: Tensor; W_hh: Tensor; b_ih: Tensor; b_hh: Tensor; W_hy: Tensor; b_y: Tensor };
  xs: Tensor[]; // x_t [1, I], t = 1 … T
  ys: number[]; // y_t ∈ [0, V)
}

const H = 3, I = 2, V = 3;
const KIND: Record<string, CellKind> = { rnn: 'rnn_tanh', lstm: 'lstm', gru: 'gru' };

/** Seeded float64 weights U(±1/√H) (as PyTorch), inputs x_t ~ N(0, 1), targets uniform in [0, V). */
export function buildExplainModel(o: ExplainOptions = {}): ExplainModel {
  const kind = KIND[o.cell ?? 'rnn'];
  const T = o.steps ?? 3;
  const rng = new Rng(o.seed ?? 0);
  const G = GATES[kind];
  const k = 1 / Math.sqrt(H);
  const u = (shape: number[]) => uniform(shape, -k, k, { rng, dtype: 'float64' });
  const params = { W_ih: u([G * H, I]), W_hh: u([G * H, H]), b_ih: u([G * H]), b_hh: u([G * H]), W_hy: u([V, H]), b_y: u([V]) };
  const xs = Array.from({ length: T }, () => normal([1, I], 0, 1, { rng, dtype: 'float64' }));
  const ys = Array.from({ length: T }, () => rng.int(0, V));
  return { kind, H, I, V, T, params, xs, ys };
}

/** One step of the tiny model: the next state and this step's loss L_t (exported for the explorer, which builds the same tape record by record). */
export function explainStep(m: ExplainModel, fused: boolean) {
  const cell = cellStep(m.kind, fused);
  const p = m.params;
  return (state: Tensor[], x: Tensor, t: number) => {
    const xp = ad.add(ad.matmul(x, p.W_ih, { transB: true }), p.b_ih); // [1,I]·[G·H,I]ᵀ → [1,G·H]
    const next = cell(xp, state, p.W_hh, p.b_hh);
    const logits = ad.add(ad.matmul(next[0], p.W_hy, { transB: true }), p.b_y); // [1,H]·[V,H]ᵀ → [1,V]
    return { state: next, loss: ad.crossEntropy(logits, [m.ys[t - 1]]) };
  };
}

const num = (v: number) => v.toPrecision(6);
const vec = (t: Tensor) => `[${t.toFlatArray().map((v) => v.toFixed(4)).join(', ')}]`;
function norm(t: Tensor): number {
  return Math.sqrt(t.toFlatArray().reduce((a, v) => a + v * v, 0));
}

/** ‖∂L/∂h_t‖ (and ‖∂L/∂c_t‖ for LSTM) for t = 1 … T, by autodiff's bptt(): the cross-check column. */
export function explainStateGradNorms(m: ExplainModel, fused = false): { h: number[]; c?: number[] } {
  const h = new Array<number>(m.T).fill(NaN);
  const c = STATES[m.kind] === 2 ? new Array<number>(m.T).fill(NaN) : undefined;
  bptt({
    params: Object.values(m.params),
    step: explainStep(m, fused),
    state0: Array.from({ length: STATES[m.kind] }, () => zeros([1, m.H], 'float64')),
    xs: m.xs,
    onStateGrad: (t, dh) => {
      h[t - 1] = norm(dh[0]);
      if (c) c[t - 1] = norm(dh[1]);
    },
  });
  return { h, c };
}

/**
 * The forward pass explain() prints, recorded: the tape, a name for every tensor it shows
 * (parameters, x_t, h_0 … h_T, c_t), the states and the per-step losses with L = Σ L_t. The
 * explorer steps through the same recording.
 */
export function recordExplainTape(m: ExplainModel, fused = false): { tape: Tape; names: Map<number, string>; state0: Tensor[]; states: Tensor[][]; losses: Tensor[]; L: Tensor } {
  const lstm = m.kind === 'lstm';
  const names = new Map<number, string>();
  for (const [k, v] of Object.entries(m.params)) names.set(v.id, k);
  m.xs.forEach((x, i) => names.set(x.id, `x_${i + 1}`));
  const tape = new Tape();
  tape.watch(...Object.values(m.params));
  const state0 = Array.from({ length: STATES[m.kind] }, () => zeros([1, m.H], 'float64'));
  const { states, losses, L } = tape.run(() => {
    const r = unroll(explainStep(m, fused), state0, m.xs, tape);
    const ls = r.losses as Tensor[];
    return { states: r.states as Tensor[][], losses: ls, L: ls.slice(1).reduce((a, b) => ad.add(a, b), ls[0]) }; // L = L_1 + … + L_T
  });
  names.set(state0[0].id, 'h_0');
  if (lstm) names.set(state0[1].id, 'c_0');
  states.forEach((st, i) => {
    names.set(st[0].id, `h_${i + 1}`);
    if (lstm) names.set(st[1].id, `c_${i + 1}`);
  });
  return { tape, names, state0, states, losses, L };
}

/** The whole walkthrough as text. */
export function explain(o: ExplainOptions = {}): string {
  const m = buildExplainModel(o);
  const fused = o.fused ?? false;
  const lines: string[] = [];
  const say = (s = '') => lines.push(s);
  const lstm = m.kind === 'lstm';
  const { tape, names, state0, states, losses, L } = recordExplainTape(m, fused);
  losses.forEach((l, i) => names.set(l.id, `L_${i + 1}`));
  names.set(L.id, 'L');
  const label = (r: TapeRecord) => {
    const outs = r.outputs.map((v) => names.get(v.id)).filter((n) => n);
    return outs.length ? `   → ${outs.join(', ')}` : '';
  };

  const cellName = { rnn_tanh: 'vanilla RNN (tanh)', rnn_relu: 'RNN (relu)', lstm: 'LSTM', gru: 'GRU' }[m.kind];
  say(`unfold explain — backpropagation through time on a tiny ${cellName}`);
  say(`  H = ${m.H} hidden, I = ${m.I} inputs, V = ${m.V} classes, T = ${m.T} steps, batch 1, seed ${o.seed ?? 0}, float64, ${fused ? 'fused cell (one record per step)' : 'composed cell (one record per primitive op)'}`);
  say(`  step t:  xp_t = x_t W_ihᵀ + b_ih;  state_t = cell(xp_t, state_{t−1});  logits_t = h_t W_hyᵀ + b_y;  L_t = cross-entropy(logits_t, y_t)`);
  say(`  loss:    L = L_1 + … + L_T, one loss per step`);
  say();
  say('values (%id[shape] as the tape prints them):');
  for (const [k, v] of Object.entries(m.params)) say(`  %${v.id}${`[${v.shape.join(',')}]`.padEnd(8)} ${k}`);
  m.xs.forEach((x, i) => say(`  %${x.id}[1,${m.I}]   x_${i + 1} = ${vec(x)},  y_${i + 1} = ${m.ys[i]}`));
  state0.forEach((s, k) => say(`  %${s.id}[1,${m.H}]   ${k === 0 ? 'h' : 'c'}_0 = 0 (initial state, not watched: constant)`));
  say();
  say(`== forward: the tape in execution order, ${tape.entries.length} records (t = time step; 'saved' = tensors kept for backward) ==`);
  tape.entries.forEach((r, i) => say(formatRecord(r, i) + label(r)));
  say(`L = ${num(L.item())}   (${losses.map((l, i) => `L_${i + 1} = ${num(l.item())}`).join(', ')})`);
  say();
  say('== backward: the same records in reverse; ‖dy‖ = norm of the adjoint ∂L/∂(output) flowing into each record ==');
  say('   ∂L/∂h_t = ∂L_t/∂h_t (direct, via W_hy) + (∂h_{t+1}/∂h_t)ᵀ ∂L/∂h_{t+1} (carried from step t+1, via W_hh);');
  say('   it is complete when the walk reaches the record that produced h_t.');
  const hNorm = new Map<number, number>();
  const cNorm = new Map<number, number>();
  const stepOf = new Map<number, number>();
  states.forEach((s, i) => {
    stepOf.set(s[0].id, i + 1);
    if (lstm) stepOf.set(s[1].id, i + 1);
  });
  const pending: string[] = [];
  let shownStep: number | undefined | null = null;
  backward(tape, L, {
    adjointsOf: states.flat(),
    onAdjoint: (v, dy) => {
      const t = stepOf.get(v.id)!;
      const isC = lstm && v === states[t - 1][1];
      (isC ? cNorm : hNorm).set(t, norm(dy));
      pending.push(`      ⇒ ∂L/∂${isC ? 'c' : 'h'}_${t} = ${vec(dy)}   ‖∂L/∂${isC ? 'c' : 'h'}_${t}‖ = ${num(norm(dy))}`);
    },
    onRecord: (r, i, dys) => {
      if (r.step !== shownStep) {
        say(r.step === undefined ? '-- outside the loop: L = L_1 + … + L_T --' : `-- time step t = ${r.step} (going backwards) --`);
        shownStep = r.step;
      }
      say(`${formatRecord(r, i)}${label(r)}   ‖dy‖ = ${dys.map((d) => num(norm(d))).join(', ')}`);
      lines.push(...pending.splice(0));
    },
  });
  say();
  const check = explainStateGradNorms(m, fused);
  say('== ∂L/∂h_t over time (the backward recurrence above, collected) ==');
  if (lstm && fused) say('   (fused LSTM: h_t and c_t leave one record, so ∂L/∂c_t here is only what step t+1 carries back; the path c_t → h_t is inside the cell)');
  say(`   t   ${'‖∂L/∂h_t‖'.padEnd(14)}${lstm ? '‖∂L/∂c_t‖'.padEnd(14) : ''}via bptt() (cross-check)`);
  for (let t = m.T; t >= 1; t--) {
    say(`   ${String(t).padEnd(3)} ${num(hNorm.get(t) ?? NaN).padEnd(14)}${lstm ? num(cNorm.get(t) ?? NaN).padEnd(14) : ''}${num(check.h[t - 1])}`);
  }
  say();
  say('Within each time step the backward walk meets L_t first (the direct part), then the cell, then the');
  say('recurrent matmul h_{t−1} W_hhᵀ, whose adjoint for h_{t−1} is what step t−1 receives as dhNext.');
  say('W_hh, W_ih and the biases appear in every step: their gradients are sums of one contribution per step.');
  return lines.join('\n') + '\n';
}

