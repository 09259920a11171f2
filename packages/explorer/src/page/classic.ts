// Panel 5 — Classic experiments: the adding problem (test MSE) and the copy task (accuracy on the
// recalled symbols), RNN against LSTM, plotted against the sequence length; each run a fitAsync
// in the tab (stop at any time). #classic?task=copy&D=10,20,40&steps=1500
import { linePlot } from '@unfold/rnn';
import { ADDING_BASELINE, ADDING_DEFAULTS, AddingCell, runAdding } from '../lib/adding';
import { COPY_DEFAULTS, CopyCell, CopyResult, runCopy } from '../lib/copy';
import { el, numberInput, select, svg } from './dom';

const LABEL: Record<string, string> = { rnn: 'vanilla RNN (tanh)', lstm: 'LSTM', gru: 'GRU' };

/** A comma-separated list of integers ≥ lo from the URL, or the default; a bad entry is named. */
function intList(q: URLSearchParams, key: string, dflt: string, lo: number): number[] {
  const raw = q.get(key) ?? dflt;
  const v = raw.split(',').map((s) => Number(s.trim()));
  if (!v.length || v.some((x) => !Number.isInteger(x) || x < lo)) throw new Error(`classic: ${key}=${raw} must be a comma-separated list of integers ≥ ${lo}`);
  return v;
}

function intParam(q: URLSearchParams, key: string, dflt: number, lo: number, hi: number): number {
  const raw = q.get(key);
  const v = raw === null ? dflt : Number(raw);
  if (!Number.isInteger(v) || v < lo || v > hi) throw new Error(`classic: ${key}=${raw} must be an integer in [${lo}, ${hi}]`);
  return v;
}

export function classicPanel(root: HTMLElement, q: URLSearchParams, go: (q: Record<string, string | number>) => void): () => void {
  const task = q.get('task') ?? 'adding';
  if (task !== 'adding' && task !== 'copy') throw new Error(`classic: task=${task} (valid: adding, copy)`);
  const copy = task === 'copy';
  const hidden = intParam(q, 'hidden', copy ? COPY_DEFAULTS.hidden : ADDING_DEFAULTS.hidden, 2, 256);
  const steps = intParam(q, 'steps', copy ? 1500 : 600, 1, 20000);
  const adding = { ...ADDING_DEFAULTS, steps, hidden };
  const cs = { ...COPY_DEFAULTS, steps, hidden, S: intParam(q, 'S', COPY_DEFAULTS.S, 1, 10), K: intParam(q, 'K', COPY_DEFAULTS.K, 2, 16) };
  // The copy task's length axis is the delay D (T = 2S + D); the adding problem's is T itself.
  let lengths = copy ? intList(q, 'D', '10,20,40', 0) : intList(q, 'T', '10,20,40', 2);
  const cellsRaw = (q.get('cells') ?? 'rnn,lstm').split(',');
  const valid = copy ? ['rnn', 'lstm', 'gru'] : ['rnn', 'lstm'];
  if (cellsRaw.some((c) => !valid.includes(c))) throw new Error(`classic: cells=${q.get('cells')} (valid: ${valid.join(', ')})`);
  const cells = cellsRaw as CopyCell[];

  type Result = { cell: string; T: number; D?: number; value: number; testLoss?: number; steps: number };
  const results: Result[] = [];
  const status = el('p', { id: 'classic-status', class: 'mono' }, 'not run yet');
  const plot = el('div', { id: 'classic-plot' });
  const key = copy ? 'D' : 'T';
  const lenInput = el('input', { id: 'Ts', value: lengths.join(','), size: 12 });
  lenInput.addEventListener('change', () => { lengths = lenInput.value.split(',').map((v) => Number(v.trim())).filter((v) => Number.isInteger(v) && v >= (copy ? 0 : 2)); });
  let abort: AbortController | null = null;
  const runBtn = el('button', { id: 'classic-run', onclick: () => void run() }, 'run');
  const link = () => go({ task, [key]: lengths.join(','), steps: copy ? cs.steps : adding.steps, hidden: copy ? cs.hidden : adding.hidden, cells: cells.join(','), ...(copy ? { S: cs.S, K: cs.K } : {}) });
  const intro = copy
    ? `Read S = ${cs.S} symbols from K = ${cs.K}, wait through D blanks, see a "go" marker, then output the ${cs.S} symbols in order (docs/experiments.md §4). Only those last ${cs.S} steps are scored, so guessing scores 1/K (dashed); the first symbol must survive D + ${cs.S} steps, so its gradient crosses that many. T = 2S + D. One layer over one-hot inputs, Adam lr ${cs.lr}, clip 1, batch ${cs.batch}, accuracy on ${cs.testSize} fixed sequences; LSTM forget bias 1. Trained by fitAsync in the tab.`
    : `Each step's input is (v_t, m_t), v_t ~ U(0, 1), with two markers m_t = 1 (one in each half); the target, read from h_T, is the sum of the two marked values. Always answering 1 scores MSE = 1/6 (dashed): beating it needs gradient from step T to reach the first marker, up to T steps back. One layer, Adam lr ${adding.lr}, clip 1, batch ${adding.batch}, test MSE on 256 fixed sequences; LSTM forget bias 1. Trained by fitAsync in the tab.`;
  root.append(
    el('h2', {}, copy ? 'Classic experiments: the copy task' : 'Classic experiments: the adding problem'),
    el('div', { class: 'controls' }, select('classic-task', 'experiment', ['adding', 'copy'], task, (v) => go({ task: v }))),
    el('p', {}, intro),
    el('div', { class: 'controls' },
      el('label', {}, copy ? 'delays D ' : 'sequence lengths T ', lenInput),
      numberInput('classic-steps', 'steps', steps, { min: 10, max: 20000, step: 10 }, (v) => { adding.steps = cs.steps = v; }),
      numberInput('classic-hidden', 'hidden', hidden, { min: 4, max: 128, step: 4 }, (v) => { adding.hidden = cs.hidden = v; }),
      runBtn,
      el('button', { id: 'classic-stop', onclick: () => abort?.abort() }, 'stop'),
      el('button', { onclick: link }, 'link to these settings'),
    ),
    status, plot,
  );
  function draw(): void {
    const series = cells.map((c) => ({ name: LABEL[c], x: results.filter((r) => r.cell === c).map((r) => r.T), y: results.filter((r) => r.cell === c).map((r) => r.value) }));
    plot.replaceChildren(svg(copy
      ? linePlot({
        series, hLines: [{ y: 1 / cs.K, label: `chance (1/${cs.K})` }],
        title: `copy task (S = ${cs.S}, K = ${cs.K}): accuracy after ${cs.steps} steps, H = ${cs.hidden}`, xLabel: 'sequence length T = 2S + D', yLabel: 'accuracy on the recalled symbols', width: 720, height: 340,
      })
      : linePlot({
        series, hLines: [{ y: ADDING_BASELINE, label: 'answer 1 (MSE 1/6)' }],
        title: `adding problem: test MSE after ${adding.steps} steps, H = ${adding.hidden}`, xLabel: 'sequence length T', yLabel: 'test MSE', logY: true, width: 720, height: 340,
      })));
    root.dataset.results = JSON.stringify(results);
  }
  const line = (r: Result) => `${r.cell} ${copy ? `D=${r.D} (T=${r.T})` : `T=${r.T}`}: ${copy ? `${(100 * r.value).toFixed(1)}%` : r.value.toFixed(4)}${r.steps < (copy ? cs.steps : adding.steps) ? ` (stopped at ${r.steps})` : ''}`;
  async function run(): Promise<void> {
    if (abort) return;
    abort = new AbortController();
    results.length = 0;
    root.dataset.running = '1';
    runBtn.disabled = true;
    try {
      for (const n of lengths) {
        for (const c of cells) {
          if (abort.signal.aborted) break;
          status.textContent = `training ${c} at ${key} = ${n} (${copy ? cs.steps : adding.steps} steps)…   ${results.map(line).join('   ')}`;
          if (copy) {
            const r: CopyResult = await runCopy(c, n, cs, abort.signal);
            results.push({ cell: c, T: r.T, D: r.D, value: r.accuracy, testLoss: r.testLoss, steps: r.steps });
          } else {
            const r = await runAdding(c as AddingCell, n, adding, abort.signal);
            results.push({ cell: c, T: r.T, value: r.testMse, steps: r.steps });
          }
          draw();
        }
      }
      status.textContent = results.map(line).join('   ');
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
