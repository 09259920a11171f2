import { Tensor } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { CellKind, CellState, CellStep } from './spec';

// The readable reference cells, written with autodiff ops: every gradient comes from the
// primitives' VJPs. The fused kernels (fused*.ts) must match these in value and gradient.

/** h W_hhᵀ + b_hh : [B, G·H] */
function recur(h: Tensor, whh: Tensor, bhh: Tensor | null): Tensor {
  const hp = ad.matmul(h, whh, { transB: true });
  return bhh ? ad.add(hp, bhh) : hp;
}

export const rnnTanhComposed: CellStep = (xp, [h], whh, bhh) => [ad.tanh(ad.add(xp, recur(h, whh, bhh)))];

export const rnnReluComposed: CellStep = (xp, [h], whh, bhh) => [ad.relu(ad.add(xp, recur(h, whh, bhh)))];

export const lstmComposed: CellStep = (xp, [h, c], whh, bhh) => {
  const gates = ad.add(xp, recur(h, whh, bhh)); // [B, 4H]
  const [i, f, g, o] = ad.split(gates, h.shape[1], 1); // chunks of H: each [B, H]
  const cNext = ad.add(ad.mul(ad.sigmoid(f), c), ad.mul(ad.sigmoid(i), ad.tanh(g)));
  const hNext = ad.mul(ad.sigmoid(o), ad.tanh(cNext));
  return [hNext, cNext];
};

export const gruComposed: CellStep = (xp, [h], whh, bhh) => {
  const H = h.shape[1];
  const [xr, xz, xn] = ad.split(xp, H, 1); // chunks of H: [B, H] each
  const [hr, hz, hn] = ad.split(recur(h, whh, bhh), H, 1);
  const r = ad.sigmoid(ad.add(xr, hr));
  const z = ad.sigmoid(ad.add(xz, hz));
  const n = ad.tanh(ad.add(xn, ad.mul(r, hn)));
  // h' = (1 − z) ⊙ n + z ⊙ h = n + z ⊙ (h − n)
  return [ad.add(n, ad.mul(z, ad.sub(h, n)))];
};

export const COMPOSED: Record<CellKind, CellStep> = {
  rnn_tanh: rnnTanhComposed,
  rnn_relu: rnnReluComposed,
  lstm: lstmComposed,
  gru: gruComposed,
};

export type { CellState };
