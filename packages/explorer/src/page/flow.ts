// Panel 2 — Vanishing and exploding: ‖∂L_T/∂h_t‖ over t for RNN, LSTM and GRU on a log axis,
// recomputed (one gradientFlow call per cell) whenever a control moves.
import { flowAt, linePlot } from '@unfold/rnn';
import { FLOW_B, FLOW_CELLS, FLOW_H, FlowSettings, flowCurve } from '../lib/flow';
import { el, numberInput, select, svg } from './dom';

export function flowPanel(root: HTMLElement, s0: FlowSettings, go: (q: Record<string, string | number>) => void): () => void {
  const s = { ...s0 };
  const plot = el('div', { id: 'flow-plot' });
  const table = el('table', { id: 'flow-table', class: 'mono' });
  const data = el('script', { id: 'flow-data', type: 'application/json' });
  const query = () => ({ radius: s.radius, nonlinearity: s.nonlinearity, T: s.T, init: s.init, forgetBias: s.forgetBias, seed: s.seed });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const change = (k: keyof FlowSettings) => (v: string | number) => {
    (s as unknown as Record<string, unknown>)[k] = v;
    clearTimeout(timer);
    timer = setTimeout(() => { draw(); history.replaceState(null, '', `#flow?${new URLSearchParams(Object.entries(query()).map(([a, b]) => [a, String(b)]))}`); }, 30);
  };
  root.append(
    el('h2', {}, 'Vanishing and exploding'),
    el('p', {}, `How much of the loss at the last step reaches each earlier state: g_t = ‖∂L_T/∂h_t‖ (RMS over a batch of ${FLOW_B}), H = ${FLOW_H}, float64, by `, el('code', {}, 'gradientFlow'), '. W_hh is made of H×H blocks of spectral radius ρ (exact for orthogonal and identity, ≈ for gaussian). A vanilla RNN multiplies by diag(1 − h²) W_hh each step back, so g_t falls or grows geometrically; the LSTM\'s cell path multiplies by the forget gate instead.'),
    el('div', { class: 'controls' },
      numberInput('radius', 'spectral radius ρ of W_hh', s.radius, { min: 0.1, max: 2, step: 0.05, range: true }, change('radius')),
      select('nonlinearity', 'RNN nonlinearity', ['tanh', 'relu'], s.nonlinearity, change('nonlinearity')),
      numberInput('T', 'T', s.T, { min: 2, max: 200, step: 1 }, change('T')),
      select('init', 'init', ['orthogonal', 'identity', 'gaussian'], s.init, change('init')),
      numberInput('forgetBias', 'LSTM forget bias', s.forgetBias, { min: -3, max: 3, step: 0.5 }, change('forgetBias')),
      numberInput('flow-seed', 'seed', s.seed, { min: 0, max: 9999, step: 1 }, change('seed')),
      el('button', { onclick: () => go(query()) }, 'link to these settings'),
    ),
    plot, table, data,
  );
  function draw(): void {
    const curves = FLOW_CELLS.map((c) => ({ cell: c, r: flowCurve(c, s) }));
    const t = Array.from({ length: s.T }, (_, i) => i + 1);
    plot.replaceChildren(svg(linePlot({
      series: curves.map(({ cell, r }) => ({ name: cell === 'rnn' ? `RNN (${s.nonlinearity})` : cell.toUpperCase(), x: t, y: r.norms })),
      title: `‖∂L_T/∂h_t‖, T = ${s.T}, ρ = ${s.radius}, ${s.init}`, xLabel: 't', yLabel: '‖∂L_T/∂h_t‖', logY: true, width: 720, height: 360,
    })));
    const back = [0, 1, 5, 10, 25, 50, 100, 199].filter((k) => k < s.T);
    table.replaceChildren(el('tr', {}, el('th', {}, 'cell'), ...back.map((k) => el('th', {}, `t = T−${k}`))),
      ...curves.map(({ cell, r }) => el('tr', {}, el('td', {}, cell), ...flowAt(r.norms, back).map((v) => el('td', {}, v.toExponential(2))))));
    data.textContent = JSON.stringify({ settings: s, norms: Object.fromEntries(curves.map(({ cell, r }) => [cell, Array.from(r.norms)])) });
    root.dataset.drawn = String(Number(root.dataset.drawn ?? 0) + 1);
  }
  draw();
  return () => clearTimeout(timer);
}
