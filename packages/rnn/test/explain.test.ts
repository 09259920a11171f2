import { buildExplainModel, explain, explainStateGradNorms, ExplainModel } from '../src/explain';

/** Hand-derived BPTT for the tiny vanilla RNN (min-char-rnn style, plain float64 loops): ‖∂L/∂h_t‖, t = 1 … T. */
function handBptt(m: ExplainModel): number[] {
  const { H, I, V, T } = m;
  const P = Object.fromEntries(Object.entries(m.params).map(([k, v]) => [k, v.toFlatArray()])) as Record<keyof ExplainModel['params'], number[]>;
  const hs: number[][] = [new Array(H).fill(0)];
  const ps: number[][] = [];
  for (let t = 1; t <= T; t++) {
    const x = m.xs[t - 1].toFlatArray();
    const h = new Array(H).fill(0);
    for (let i = 0; i < H; i++) {
      let a = P.b_ih[i] + P.b_hh[i];
      for (let j = 0; j < I; j++) a += P.W_ih[i * I + j] * x[j];
      for (let j = 0; j < H; j++) a += P.W_hh[i * H + j] * hs[t - 1][j];
      h[i] = Math.tanh(a); // h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)
    }
    hs.push(h);
    const z = Array.from({ length: V }, (_, k) => P.b_y[k] + h.reduce((s, hj, j) => s + P.W_hy[k * H + j] * hj, 0));
    const mx = Math.max(...z);
    const e = z.map((v) => Math.exp(v - mx));
    const se = e.reduce((a, b) => a + b, 0);
    ps.push(e.map((v) => v / se)); // softmax
  }
  const norms = new Array(T).fill(0);
  let dhNext = new Array(H).fill(0);
  for (let t = T; t >= 1; t--) {
    const dz = ps[t - 1].map((p, k) => p - (k === m.ys[t - 1] ? 1 : 0)); // ∂L_t/∂z_t = p − onehot(y)
    const dh = Array.from({ length: H }, (_, j) => dhNext[j] + dz.reduce((s, d, k) => s + P.W_hy[k * H + j] * d, 0)); // W_hyᵀ dz + dhNext
    norms[t - 1] = Math.hypot(...dh);
    const da = dh.map((d, i) => d * (1 - hs[t][i] ** 2)); // through tanh
    dhNext = Array.from({ length: H }, (_, j) => da.reduce((s, d, i) => s + P.W_hh[i * H + j] * d, 0)); // W_hhᵀ da
  }
  return norms;
}

function sections(out: string) {
  const fwd = out.split('== forward')[1].split('== backward')[0];
  const bwd = out.split('== backward')[1].split('== ∂L/∂h_t over time')[0];
  const summary = out.split('== ∂L/∂h_t over time')[1];
  const recs = (s: string) => s.split('\n').filter((l) => /^#\d+/.test(l));
  return { fwd: recs(fwd), bwd: recs(bwd), bwdText: bwd, summary };
}

/** Rows of the summary table: t → [numbers…]. */
function summaryRows(summary: string): Map<number, number[]> {
  const rows = new Map<number, number[]>();
  for (const l of summary.split('\n')) {
    const m = /^\s+(\d+)\s+([-\d.e+]+(?:\s+[-\d.e+]+)*)\s*$/.exec(l);
    if (m) rows.set(Number(m[1]), m[2].trim().split(/\s+/).map(Number));
  }
  return rows;
}

describe('unfold explain', () => {
  test.each([
    [3, 0],
    [5, 7],
  ])('vanilla RNN, T = %i, seed %i: every record, forwards then backwards, and ∂L/∂h_t equal to hand-derived BPTT', (T, seed) => {
    const out = explain({ cell: 'rnn', steps: T, seed });
    const { fwd, bwd, summary } = sections(out);
    // composed cell: per step matmul, add (x W_ihᵀ + b_ih), matmul, add (h W_hhᵀ + b_hh), add, tanh, matmul, add, crossEntropy; then T − 1 adds for L
    expect(fwd).toHaveLength(9 * T + T - 1);
    expect(fwd.map((l) => /^#(\d+)/.exec(l)![1])).toEqual(fwd.map((_, i) => String(i)));
    expect(fwd.filter((l) => / = tanh\(/.test(l))).toHaveLength(T);
    // backward: the same records, every one of them, in reverse order
    expect(bwd.map((l) => Number(/^#(\d+)/.exec(l)![1]))).toEqual(fwd.map((_, i) => fwd.length - 1 - i));
    bwd.forEach((l, i) => expect(l.startsWith(fwd[fwd.length - 1 - i])).toBe(true));
    // time steps descend through the backward part
    const steps = bwd.map((l) => /t=(\d+)/.exec(l)).filter((m) => m).map((m) => Number(m![1]));
    expect(steps[0]).toBe(T);
    for (let i = 1; i < steps.length; i++) expect(steps[i]).toBeLessThanOrEqual(steps[i - 1]);
    expect(new Set(steps).size).toBe(T);

    const ref = handBptt(buildExplainModel({ cell: 'rnn', steps: T, seed }));
    const rows = summaryRows(summary);
    expect(rows.size).toBe(T);
    for (let t = 1; t <= T; t++) {
      const [tapeNorm, bpttNorm] = rows.get(t)!;
      expect(Math.abs(tapeNorm - ref[t - 1])).toBeLessThan(1e-5 * Math.max(1, ref[t - 1]));
      expect(Math.abs(bpttNorm - ref[t - 1])).toBeLessThan(1e-5 * Math.max(1, ref[t - 1]));
      // the ⇒ line printed where h_t's adjoint completes carries the same number
      const line = new RegExp(`‖∂L/∂h_${t}‖ = ([-\\d.e+]+)`).exec(out)!;
      expect(Number(line[1])).toBeCloseTo(ref[t - 1], 5);
    }
  });

  test('a wrong reference is caught: the hand BPTT without the carried term disagrees', () => {
    const m = buildExplainModel({ cell: 'rnn', steps: 3, seed: 0 });
    const rows = summaryRows(sections(explain({ cell: 'rnn', steps: 3, seed: 0 })).summary);
    const noCarry = handBptt({ ...m, T: 1, xs: [m.xs[0]], ys: [m.ys[0]] })[0]; // ∂L_1/∂h_1 only
    expect(Math.abs(rows.get(1)![0] - noCarry)).toBeGreaterThan(1e-3);
  });

  test.each(['lstm', 'gru'] as const)('%s: tape walk and bptt() agree; LSTM also reports ∂L/∂c_t', (cell) => {
    const out = explain({ cell, steps: 4, seed: 3 });
    const rows = summaryRows(sections(out).summary);
    const ref = explainStateGradNorms(buildExplainModel({ cell, steps: 4, seed: 3 }));
    expect(rows.size).toBe(4);
    for (let t = 1; t <= 4; t++) {
      const r = rows.get(t)!;
      expect(r).toHaveLength(cell === 'lstm' ? 3 : 2);
      expect(r[0]).toBeCloseTo(ref.h[t - 1], 5);
      expect(r[r.length - 1]).toBeCloseTo(ref.h[t - 1], 5);
      if (cell === 'lstm') expect(r[1]).toBeCloseTo(ref.c![t - 1], 5);
    }
  });

  test('fused cells: one record per step for the recurrence, same gradients', () => {
    const composed = summaryRows(sections(explain({ cell: 'rnn', steps: 3, seed: 1 })).summary);
    const out = explain({ cell: 'rnn', steps: 3, seed: 1, fused: true });
    const { fwd } = sections(out);
    expect(fwd.filter((l) => /rnnTanhCell\(/.test(l))).toHaveLength(3);
    const fused = summaryRows(sections(out).summary);
    for (let t = 1; t <= 3; t++) expect(fused.get(t)![0]).toBeCloseTo(composed.get(t)![0], 8);
  });
});
