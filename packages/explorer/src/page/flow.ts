// Panel 2 — Vanishing and exploding: ‖∂L_T/∂h_t‖ over t for RNN, LSTM and GRU on a log axis,
// recomputed (one gradientFlow call per cell) whenever a control moves.
// Below it, the gradient norm over training with and without clipGradNorm (a button: two short runs).
import { flowAt, linePlot } from '@unfold/rnn';
import { FLOW_B, FLOW_CELLS, FLOW_H, FlowSettings, flowCurve } from '../lib/flow';
import { ClipRun, ClipSettings, clipQuery, runClipping } from '../lib/clipping';
import { el, numberInput, select, svg } from './dom';

export function flowPanel(root: HTMLElement, s0: FlowSettings, go: (q: Record<string, string | number>) => void, c0: ClipSettings, autoRun = false): () => void {
  const s = { ...s0 };
  const cs = { ...c0 };
  const plot = el('div', { id: 'flow-plot' });
  const table = el('table', { id: 'flow-table', class: 'mono' });
  const data = el('script', { id: 'flow-data', type: 'application/json' });
  const query = () => ({ radius: s.radius, nonlinearity: s.nonlinearity, T: s.T, init: s.init, forgetBias: s.forgetBias, seed: s.seed, ...clipQuery(cs) });
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
  // ---- the second plot: gradient norm over training, with and without clipping -------------
  const clipPlot = el('div', { id: 'clip-plot' });
  const clipStatus = el('p', { id: 'clip-status', class: 'mono' }, 'not run yet');
  const clipData = el('script', { id: 'clip-data', type: 'application/json' });
  let abort: AbortController | null = null;
  const clipBtn = el('button', { id: 'clip-run', onclick: () => void train() }, 'train twice');
  const setC = (k: keyof ClipSettings) => (v: number) => { cs[k] = v; };
  root.append(
    el('h3', { id: 'clip-title' }, 'Exploding gradients and clipping (Pascanu, Mikolov & Bengio 2013)'),
    el('p', {}, 'A vanilla tanh RNN with W_hh = ρ·Q (Q orthogonal, so ‖W_hh‖₂ = ρ) on the adding problem, trained twice by ', el('code', {}, 'fitAsync'), ' from the same seed (same weights, same batches) with plain SGD: once without clipping, once with ', el('code', {}, 'clipGradNorm'), '. Plotted per step: the global gradient norm before clipping (what ', el('code', {}, 'clipGradNorm'), ' returns), and for the clipped run the norm actually applied. Without clipping one huge step throws the weights away and the loss overflows; with it every applied step has norm ≤ the threshold (docs/experiments.md §6).'),
    el('div', { class: 'controls' },
      numberInput('clip-radius', 'ρ', cs.radius, { min: 0.1, max: 5, step: 0.1 }, setC('radius')),
      numberInput('clip-T', 'T', cs.T, { min: 2, max: 200, step: 1 }, setC('T')),
      numberInput('clip-steps', 'steps', cs.steps, { min: 1, max: 5000, step: 10 }, setC('steps')),
      numberInput('clip-lr', 'SGD lr', cs.lr, { min: 0.001, max: 1, step: 0.001 }, setC('lr')),
      numberInput('clip-threshold', 'clip at', cs.clip, { min: 0.01, max: 100, step: 0.1 }, setC('clip')),
      clipBtn,
      el('button', { id: 'clip-stop', onclick: () => abort?.abort() }, 'stop'),
    ),
    clipStatus, clipPlot, clipData,
  );
  const runs: ClipRun[] = [];
  function drawClip(): void {
    const steps = (v: number[]) => v.map((_, i) => i + 1);
    const series = runs.flatMap((r) => r.clip === null
      ? [{ name: 'no clipping: ‖∇L‖', x: steps(r.gradNorms), y: r.gradNorms }]
      : [{ name: `clip ${r.clip}: ‖∇L‖ before`, x: steps(r.gradNorms), y: r.gradNorms }, { name: `clip ${r.clip}: applied`, x: steps(r.appliedNorms), y: r.appliedNorms }]);
    clipPlot.replaceChildren(svg(linePlot({
      series: series.length ? series : [{ name: 'not run yet', x: [], y: [] }],
      hLines: [{ y: cs.clip, label: `clip threshold ${cs.clip}` }],
      title: `RNN, ρ(W_hh) = ${cs.radius}, adding T = ${cs.T}: ‖∇L‖₂ per step`, xLabel: 'training step', yLabel: '‖∇L‖₂', logY: true, width: 720, height: 340,
    })));
    clipData.textContent = JSON.stringify({ settings: cs, runs });
  }
  const describe = (r: ClipRun) => {
    const med = [...r.gradNorms].sort((a, b) => a - b)[Math.floor(r.gradNorms.length / 2)];
    return `${r.clip === null ? 'no clipping' : `clip ${r.clip}`}: ${r.gradNorms.length} steps, median ‖∇L‖ ${med?.toExponential(2)}, max ${Math.max(...r.gradNorms).toExponential(2)}${r.clip !== null ? `, max applied ${Math.max(...r.appliedNorms).toPrecision(4)}` : ''}${r.diverged !== null ? `, diverged: the loss of step ${r.diverged} is not finite` : ''}`;
  };
  async function train(): Promise<void> {
    if (abort) return;
    abort = new AbortController();
    runs.length = 0;
    root.dataset.clipRunning = '1';
    clipBtn.disabled = true;
    history.replaceState(null, '', `#flow?${new URLSearchParams(Object.entries(query()).map(([a, b]) => [a, String(b)]))}`);
    try {
      for (const clip of [null, cs.clip]) {
        if (abort.signal.aborted) break;
        clipStatus.textContent = `training ${clip === null ? 'without clipping' : `with clipGradNorm(${clip})`}…   ${runs.map(describe).join('   ')}`;
        runs.push(await runClipping(cs, clip, abort.signal));
        drawClip();
      }
      clipStatus.textContent = runs.map(describe).join(';   ');
    } catch (e) {
      clipStatus.textContent = String(e);
    } finally {
      abort = null;
      clipBtn.disabled = false;
      root.dataset.clipRunning = '0';
    }
  }
  drawClip();
  if (autoRun) void train();
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
  return () => {
    clearTimeout(timer);
    abort?.abort();
  };
}
