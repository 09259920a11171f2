// Panel 5 — Classic experiments: the adding problem, RNN against LSTM, test MSE against the
// sequence length, each run a fitAsync in the tab (stop at any time).
import { linePlot } from '@unfold/rnn';
import { ADDING_BASELINE, ADDING_DEFAULTS, AddingCell, runAdding } from '../lib/adding';
import { el, numberInput, svg } from './dom';

export function classicPanel(root: HTMLElement, q: URLSearchParams): () => void {
  const s = { ...ADDING_DEFAULTS, steps: Number(q.get('steps') ?? 600), hidden: Number(q.get('hidden') ?? ADDING_DEFAULTS.hidden) };
  let Ts = (q.get('T') ?? '10,20,40').split(',').map(Number);
  const cells: AddingCell[] = ['rnn', 'lstm'];
  const results: { cell: AddingCell; T: number; testMse: number; steps: number }[] = [];
  const status = el('p', { id: 'classic-status', class: 'mono' }, 'not run yet');
  const plot = el('div', { id: 'classic-plot' });
  const tsInput = el('input', { id: 'Ts', value: Ts.join(','), size: 12 });
  tsInput.addEventListener('change', () => { Ts = tsInput.value.split(',').map((v) => Number(v.trim())).filter((v) => Number.isInteger(v) && v >= 2); });
  let abort: AbortController | null = null;
  const runBtn = el('button', { id: 'classic-run', onclick: () => void run() }, 'run');
  root.append(
    el('h2', {}, 'Classic experiments: the adding problem'),
    el('p', {}, `Each step's input is (v_t, m_t), v_t ~ U(0, 1), with two markers m_t = 1 (one in each half); the target, read from h_T, is the sum of the two marked values. Always answering 1 scores MSE = 1/6 (dashed): beating it needs gradient from step T to reach the first marker, up to T steps back. One layer, Adam lr ${s.lr}, clip 1, batch ${s.batch}, test MSE on 256 fixed sequences; LSTM forget bias 1. Trained by fitAsync in the tab.`),
    el('div', { class: 'controls' },
      el('label', {}, 'sequence lengths T ', tsInput),
      numberInput('classic-steps', 'steps', s.steps, { min: 10, max: 5000, step: 10 }, (v) => { s.steps = v; }),
      numberInput('classic-hidden', 'hidden', s.hidden, { min: 4, max: 128, step: 4 }, (v) => { s.hidden = v; }),
      runBtn,
      el('button', { id: 'classic-stop', onclick: () => abort?.abort() }, 'stop'),
    ),
    status, plot,
  );
  function draw(): void {
    plot.replaceChildren(svg(linePlot({
      series: cells.map((c) => ({ name: c === 'rnn' ? 'vanilla RNN (tanh)' : 'LSTM', x: results.filter((r) => r.cell === c).map((r) => r.T), y: results.filter((r) => r.cell === c).map((r) => r.testMse) })),
      hLines: [{ y: ADDING_BASELINE, label: 'answer 1 (MSE 1/6)' }],
      title: `adding problem: test MSE after ${s.steps} steps, H = ${s.hidden}`, xLabel: 'sequence length T', yLabel: 'test MSE', logY: true, width: 720, height: 340,
    })));
    root.dataset.results = JSON.stringify(results);
  }
  async function run(): Promise<void> {
    if (abort) return;
    abort = new AbortController();
    results.length = 0;
    root.dataset.running = '1';
    runBtn.disabled = true;
    try {
      for (const T of Ts) {
        for (const c of cells) {
          if (abort.signal.aborted) break;
          status.textContent = `training ${c} at T = ${T} (${s.steps} steps)…`;
          results.push(await runAdding(c, T, s, abort.signal));
          draw();
        }
      }
      status.textContent = results.map((r) => `${r.cell} T=${r.T}: ${r.testMse.toFixed(4)}${r.steps < s.steps ? ` (stopped at ${r.steps})` : ''}`).join('   ');
    } catch (e) {
      status.textContent = String(e);
    } finally {
      abort = null;
      runBtn.disabled = false;
      root.dataset.running = '0';
    }
  }
  draw();
  return () => abort?.abort();
}
