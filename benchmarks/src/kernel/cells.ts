// Fused cell kernels (one tape record per step, hand-derived VJP) against the composed
// reference cells (a dozen primitive records per step), forward and forward+backward, float32.
// Run: npx tsc -b && node benchmarks/dist/kernel/cells.js
import { DType, Rng, Tensor, normal } from '@unfold/tensor';
import { Adjoints, Tape, backwardRecords, unroll } from '@unfold/autodiff';
import { CellKind, CellStep, COMPOSED, FUSED, GATES, STATES } from '@unfold/rnn';

export interface Row {
  kind: CellKind;
  B: number;
  H: number;
  dtype: DType;
  /** Median ms of one isolated step, fused / composed (run alternately): forward only (tape recording). */
  fwdFused: number;
  fwdComposed: number;
  /** Median ms of one isolated step, forward + backward (every input's adjoint). */
  stepFused: number;
  stepComposed: number;
  /** ms per step of a T-step unroll, forward + backward (adjoints of W_hh, b_hh accumulate over time). */
  seqFused: number;
  seqComposed: number;
  T: number;
}

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

/**
 * Median ms of `a` and of `b`, run alternately (a, b, a, b, …) so that a busy host slows both
 * alike: warm-up for `warmup` ms (≥ 3 pairs), then as many pairs as fit in `budget` ms,
 * clamped to [minReps, maxReps].
 */
function pairedMedians(a: () => void, b: () => void, warmup: number, budget: number, minReps: number, maxReps: number): [number, number] {
  const t0 = now();
  let last = 0;
  for (let w = 0; w < 3 || now() - t0 < warmup; w++) {
    const t = now();
    a();
    b();
    last = now() - t;
  }
  const reps = Math.max(minReps, Math.min(maxReps, Math.floor(budget / Math.max(last, 1e-3))));
  const ta: number[] = [];
  const tb: number[] = [];
  for (let r = 0; r < reps; r++) {
    let t = now();
    a();
    ta.push(now() - t);
    t = now();
    b();
    tb.push(now() - t);
  }
  const med = (xs: number[]): number => xs.sort((x, y) => x - y)[xs.length >> 1];
  return [med(ta), med(tb)];
}

interface Inputs {
  xs: Tensor[]; // T slices of xp, [B, G·H] each
  state0: Tensor[];
  whh: Tensor;
  bhh: Tensor;
  dys: Tensor[]; // cotangents of h_t (and c_t)
}

function inputs(kind: CellKind, B: number, H: number, T: number, dtype: DType): Inputs {
  const rng = new Rng(1);
  const GH = GATES[kind] * H;
  const xp = normal([T, B, GH], 0, 1, { rng, dtype });
  return {
    xs: Array.from({ length: T }, (_, t) => xp.slice(t)),
    state0: Array.from({ length: STATES[kind] }, () => normal([B, H], 0, 1, { rng, dtype })),
    whh: normal([GH, H], 0, 1 / Math.sqrt(H), { rng, dtype }),
    bhh: normal([GH], 0, 0.1, { rng, dtype }),
    dys: Array.from({ length: STATES[kind] }, () => normal([B, H], 0, 1, { rng, dtype })),
  };
}

/** Records `steps` steps on a fresh tape (xp, state, W_hh, b_hh all tracked, as in training); backward too if asked. */
function runSteps(step: CellStep, inp: Inputs, steps: number, withBackward: boolean): void {
  const tape = new Tape();
  const xs = inp.xs.slice(0, steps);
  tape.watch(...xs, ...inp.state0, inp.whh, inp.bhh);
  const r = unroll((s, x) => step(x, s, inp.whh, inp.bhh), inp.state0, xs, tape);
  if (!withBackward) return;
  const adj = new Adjoints();
  for (const s of r.states) s.forEach((v, k) => adj.add(v.id, inp.dys[k])); // every h_t (and c_t) feeds a loss
  backwardRecords(tape, 0, tape.entries.length, adj);
}

export async function cellsBench(opts: { B?: number; Hs?: number[]; T?: number; dtype?: DType } = {}): Promise<Row[]> {
  const B = opts.B ?? 32;
  const T = opts.T ?? 50;
  const dtype = opts.dtype ?? 'float32';
  const rows: Row[] = [];
  for (const H of opts.Hs ?? [128, 256]) {
    for (const kind of ['lstm', 'gru', 'rnn_tanh'] as CellKind[]) {
      const inp = inputs(kind, B, H, T, dtype);
      // [fused, composed] ms per step
      const m = (steps: number, bwd: boolean): number[] =>
        pairedMedians(() => runSteps(FUSED[kind], inp, steps, bwd), () => runSteps(COMPOSED[kind], inp, steps, bwd), 300, steps > 1 ? 6000 : 2000, 5, 400).map((ms) => ms / steps);
      const [fwdFused, fwdComposed] = m(1, false);
      const [stepFused, stepComposed] = m(1, true);
      const [seqFused, seqComposed] = m(T, true);
      rows.push({ kind, B, H, dtype, T, fwdFused, fwdComposed, stepFused, stepComposed, seqFused, seqComposed });
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return rows;
}

export function formatRows(rows: readonly Row[]): string {
  const head = ['cell', 'B', 'H', 'fwd fused', 'fwd composed', '×', 'fwd+bwd fused', 'composed', '×', 'T-unroll fused/step', 'composed', '×'];
  const f = (x: number): string => x.toFixed(3);
  const x = (a: number, b: number): string => `${(b / a).toFixed(2)}×`;
  const body = rows.map((r) => [
    r.kind, String(r.B), String(r.H),
    f(r.fwdFused), f(r.fwdComposed), x(r.fwdFused, r.fwdComposed),
    f(r.stepFused), f(r.stepComposed), x(r.stepFused, r.stepComposed),
    f(r.seqFused), f(r.seqComposed), x(r.seqFused, r.seqComposed),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string => cells.map((s, i) => (i < 1 ? s.padEnd(widths[i]) : s.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

if (require.main === module) {
  const dtype = (process.argv[2] as DType | undefined) ?? 'float32';
  cellsBench({ dtype }).then(
    (rows) => {
      console.log(`cell steps, ${dtype}, single thread, Node ${process.version}: median ms per step (× = composed / fused).`);
      console.log('fwd = forward with tape recording; fwd+bwd = one isolated step and its backward (adjoints of xp, state, W_hh, b_hh);');
      console.log(`T-unroll = ${rows[0]?.T ?? 50} steps forward + backward (every h_t seeded) divided by T.`);
      console.log(formatRows(rows));
    },
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
