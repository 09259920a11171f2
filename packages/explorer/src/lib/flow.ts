// Panel 2's data: ‖∂L_T/∂h_t‖ for t = 1 … T, by the library's gradientFlow on a bare cell whose
// W_hh has a chosen spectral radius. Every curve on the page is one gradientFlow call here.
import { Rng, Tensor, concat, normal, uniform, zeros } from '@unfold/tensor';
import { CellKind, GATES, GradientFlowResult, cellStep, gradientFlow, identityInit, orthogonal } from '@unfold/rnn';

export type FlowInit = 'orthogonal' | 'identity' | 'gaussian';
export interface FlowSettings {
  /** Spectral radius ρ of each H×H block of W_hh (exact for orthogonal and identity, ≈ for gaussian: circular law). */
  radius: number;
  /** The vanilla RNN's nonlinearity (LSTM and GRU have their own gates). */
  nonlinearity: 'tanh' | 'relu';
  T: number;
  init: FlowInit;
  /** The LSTM's forget-gate bias b_f (1 is the usual choice, Jozefowicz et al. 2015: f ≈ σ(1) ≈ 0.73 at the start). */
  forgetBias: number;
  seed: number;
}

export const FLOW_DEFAULTS: FlowSettings = { radius: 1, nonlinearity: 'tanh', T: 50, init: 'orthogonal', forgetBias: 1, seed: 0 };
export const FLOW_H = 32, FLOW_I = 8, FLOW_B = 4;
export const FLOW_CELLS = ['rnn', 'lstm', 'gru'] as const;
export type FlowCell = (typeof FLOW_CELLS)[number];

/** One H×H block of W_hh with spectral radius ρ. */
function block(s: FlowSettings, rng: Rng): Tensor {
  const H = FLOW_H;
  if (s.init === 'identity') return identityInit(H, s.radius, 'float64'); // IRNN (Le et al. 2015) at ρ = 1
  if (s.init === 'orthogonal') return orthogonal([H, H], rng, 'float64', s.radius); // every |λ| = ρ
  return normal([H, H], 0, s.radius / Math.sqrt(H), { rng, dtype: 'float64' }); // N(0, ρ²/H): radius → ρ as H grows
}

/** The settings' model and input for one cell: W_ih U(±1/√H), W_hh G blocks of radius ρ, biases 0 but the LSTM's b_f, x ~ N(0, 1) [T, B, I]. */
export function flowSetup(cell: FlowCell, s: FlowSettings): { model: Parameters<typeof gradientFlow>[0]; x: Tensor; kind: CellKind } {
  const kind: CellKind = cell === 'rnn' ? (s.nonlinearity === 'relu' ? 'rnn_relu' : 'rnn_tanh') : cell;
  const G = GATES[kind];
  const rng = new Rng(s.seed);
  const k = 1 / Math.sqrt(FLOW_H);
  const wih = uniform([G * FLOW_H, FLOW_I], -k, k, { rng, dtype: 'float64' }); // [G·H, I]
  const whh = concat(Array.from({ length: G }, () => block(s, rng)), 0); // [G·H, H]
  const x = normal([s.T, FLOW_B, FLOW_I], 0, 1, { rng: new Rng(s.seed + 1), dtype: 'float64' }); // [T, B, I]
  let bih: Tensor | null = null;
  if (kind === 'lstm') {
    bih = zeros([4 * FLOW_H], 'float64'); // [4H], gate order i, f, g, o
    bih.data.fill(s.forgetBias, FLOW_H, 2 * FLOW_H);
  }
  return { model: { step: cellStep(kind, false), wih, whh, bih }, x, kind };
}

/** The curve for one cell: norms[t − 1] = ‖∂L_T/∂h_t‖ (RMS over the batch). */
export function flowCurve(cell: FlowCell, s: FlowSettings): GradientFlowResult {
  const { model, x } = flowSetup(cell, s);
  return gradientFlow(model, x, { seed: s.seed });
}

/** Reads settings from a URL hash query (`#flow?radius=1.2&T=80`), falling back to the defaults; bad values are named. */
export function parseFlowSettings(q: URLSearchParams): FlowSettings {
  const s = { ...FLOW_DEFAULTS };
  const n = (k: string, lo: number, hi: number, int: boolean): number | undefined => {
    const v = q.get(k);
    if (v === null) return undefined;
    const x = Number(v);
    if (!Number.isFinite(x) || x < lo || x > hi || (int && !Number.isInteger(x))) throw new Error(`flow: ${k}=${v} is not ${int ? 'an integer' : 'a number'} in [${lo}, ${hi}]`);
    return x;
  };
  s.radius = n('radius', 0.05, 3, false) ?? s.radius;
  s.T = n('T', 2, 200, true) ?? s.T;
  s.seed = n('seed', 0, 1e6, true) ?? s.seed;
  s.forgetBias = n('forgetBias', -5, 5, false) ?? s.forgetBias;
  const nl = q.get('nonlinearity');
  if (nl !== null) {
    if (nl !== 'tanh' && nl !== 'relu') throw new Error(`flow: nonlinearity=${nl} (valid: tanh, relu)`);
    s.nonlinearity = nl;
  }
  const init = q.get('init');
  if (init !== null) {
    if (!['orthogonal', 'identity', 'gaussian'].includes(init)) throw new Error(`flow: init=${init} (valid: orthogonal, identity, gaussian)`);
    s.init = init as FlowInit;
  }
  return s;
}
