/**
 * A vanilla RNN's loss and gradients derived by hand, min-char-rnn style: plain float64
 * loops, no tape. Kept as an oracle for the tape-built BPTT.
 *
 *   a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh        (PyTorch layout: W_ih [H,I], W_hh [H,H])
 *   h_t = tanh(a_t)
 *   z_t = W_hy h_t + b_y,  p_t = softmax(z_t),  L = Σ_t w_t Σ_b −log p_t[b, y_t[b]]
 * backward, t = T … 1:
 *   dz      = w_t (p_t − onehot(y_t))
 *   dW_hy  += dzᵀ h_t,   db_y += Σ_b dz
 *   dh      = dz W_hy + dhNext                         ← ∂L/∂h_t
 *   da      = (1 − h_t²) ⊙ dh
 *   dW_ih  += daᵀ x_t,  dW_hh += daᵀ h_{t−1},  db_ih = db_hh += Σ_b da
 *   dhNext  = da W_hh
 */
export interface RnnParams {
  Wih: number[][]; Whh: number[][]; bih: number[]; bhh: number[]; Why: number[][]; by: number[];
}

const zerosM = (r: number, c: number): number[][] => Array.from({ length: r }, () => new Array<number>(c).fill(0));

/** h_t from h_{t−1}: [B,H]. */
export function rnnStep(p: RnnParams, h: number[][], x: number[][]): number[][] {
  const H = p.bih.length;
  return h.map((hb, b) =>
    Array.from({ length: H }, (_, j) => {
      let a = p.bih[j] + p.bhh[j];
      for (let i = 0; i < x[b].length; i++) a += p.Wih[j][i] * x[b][i];
      for (let k = 0; k < H; k++) a += p.Whh[j][k] * hb[k];
      return Math.tanh(a);
    }),
  );
}

function readout(p: RnnParams, h: number[][], y: number[]): { loss: number; probs: number[][] } {
  let loss = 0;
  const probs = h.map((hb, b) => {
    const z = p.by.map((bv, v) => bv + p.Why[v].reduce((s, w, k) => s + w * hb[k], 0));
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((u, v) => u + v, 0);
    loss -= Math.log(e[y[b]] / s);
    return e.map((v) => v / s);
  });
  return { loss, probs };
}

/** Σ_{s ≥ t} w_s L_s as a function of h_t (1-based t): finite differences of this give ∂L/∂h_t. */
export function tailLoss(p: RnnParams, xs: number[][][], ys: number[][], t: number, ht: number[][], w?: number[]): number {
  let loss = (w?.[t - 1] ?? 1) * readout(p, ht, ys[t - 1]).loss;
  let h = ht;
  for (let s = t + 1; s <= xs.length; s++) {
    h = rnnStep(p, h, xs[s - 1]);
    loss += (w?.[s - 1] ?? 1) * readout(p, h, ys[s - 1]).loss;
  }
  return loss;
}

export function rnnLossAndGrads(p: RnnParams, h0: number[][], xs: number[][][], ys: number[][], w?: number[]) {
  const T = xs.length;
  const B = h0.length;
  const H = p.bih.length;
  const I = xs[0][0].length;
  const V = p.by.length;
  const hs: number[][][] = [h0];
  const ps: number[][][] = [];
  let loss = 0;
  for (let t = 1; t <= T; t++) {
    hs[t] = rnnStep(p, hs[t - 1], xs[t - 1]);
    const r = readout(p, hs[t], ys[t - 1]);
    loss += (w?.[t - 1] ?? 1) * r.loss;
    ps[t] = r.probs;
  }
  const g = { Wih: zerosM(H, I), Whh: zerosM(H, H), bih: new Array<number>(H).fill(0), bhh: new Array<number>(H).fill(0), Why: zerosM(V, H), by: new Array<number>(V).fill(0) };
  const dhs: number[][][] = [];
  let dhNext = zerosM(B, H);
  for (let t = T; t >= 1; t--) {
    const wt = w?.[t - 1] ?? 1;
    const dh = zerosM(B, H);
    for (let b = 0; b < B; b++) {
      const dz = ps[t][b].map((pv, v) => wt * (pv - (v === ys[t - 1][b] ? 1 : 0)));
      for (let v = 0; v < V; v++) {
        g.by[v] += dz[v];
        for (let k = 0; k < H; k++) {
          g.Why[v][k] += dz[v] * hs[t][b][k];
          dh[b][k] += dz[v] * p.Why[v][k];
        }
      }
      for (let k = 0; k < H; k++) dh[b][k] += dhNext[b][k];
    }
    dhs[t] = dh;
    const next = zerosM(B, H);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) {
        const da = (1 - hs[t][b][j] ** 2) * dh[b][j];
        g.bih[j] += da;
        g.bhh[j] += da;
        for (let i = 0; i < I; i++) g.Wih[j][i] += da * xs[t - 1][b][i];
        for (let k = 0; k < H; k++) {
          g.Whh[j][k] += da * hs[t - 1][b][k];
          next[b][k] += da * p.Whh[j][k];
        }
      }
    }
    dhNext = next;
  }
  return { loss, grads: g, dh0: dhNext, dhs, hs };
}
