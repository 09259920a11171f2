import { Tensor } from '@unfold/tensor';

/**
 * The recurrent cells, in PyTorch's formulation and gate order. Every cell step takes the
 * input projection already computed for the whole sequence,
 *     xp_t = x_t W_ihᵀ + b_ih                               // [B, G·H]
 * (one big matmul over all T·B rows instead of T small ones), the previous state and the
 * recurrent weights, and returns the next state:
 *
 *   rnn_tanh / rnn_relu (G = 1):  h' = φ(xp + h W_hhᵀ + b_hh)
 *   lstm (G = 4, gates i,f,g,o):  [i f g o] = xp + h W_hhᵀ + b_hh
 *                                 c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)
 *                                 h' = σ(o) ⊙ tanh(c')
 *   gru (G = 3, gates r,z,n):     [r z] = σ(xp_rz + (h W_hhᵀ + b_hh)_rz)
 *                                 n  = tanh(xp_n + r ⊙ (h W_hnᵀ + b_hn))
 *                                 h' = (1 − z) ⊙ n + z ⊙ h
 */
export type CellKind = 'rnn_tanh' | 'rnn_relu' | 'lstm' | 'gru';

/** The state a cell carries: [h] or, for LSTM, [h, c]. Each [B, H]. */
export type CellState = Tensor[];

/** One step: (xp_t [B,G·H], state, W_hh [G·H,H], b_hh [G·H] | null) → next state. */
export type CellStep = (xp: Tensor, state: CellState, whh: Tensor, bhh: Tensor | null) => CellState;

export const GATES: Record<CellKind, number> = { rnn_tanh: 1, rnn_relu: 1, lstm: 4, gru: 3 };
export const STATES: Record<CellKind, number> = { rnn_tanh: 1, rnn_relu: 1, lstm: 2, gru: 1 };
