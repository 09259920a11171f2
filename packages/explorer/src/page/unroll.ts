// Panel 1 — Unroll and walk back: the tape of `unfold explain` built record by record, then
// walked backwards record by record with the adjoints. Keys: → / n step, ← / p back, Home reset, End all.
import { Walk, buildWalk, localIds } from '../lib/walk';
import { el, fmt, numberInput, select } from './dom';

export interface UnrollSettings {
  cell: 'rnn' | 'lstm' | 'gru';
  T: number;
  seed: number;
  /** Truncation k2: the backward pass at T reaches back through steps T−k2+1 … T only (default T: full BPTT). */
  k2: number;
}

export function parseUnrollSettings(q: URLSearchParams): UnrollSettings {
  const cell = q.get('cell') ?? 'rnn';
  if (cell !== 'rnn' && cell !== 'lstm' && cell !== 'gru') throw new Error(`unroll: cell=${cell} (valid: rnn, lstm, gru)`);
  const T = Number(q.get('T') ?? 3);
  if (!Number.isInteger(T) || T < 1 || T > 8) throw new Error(`unroll: T=${q.get('T')} must be an integer in [1, 8]`);
  const seed = Number(q.get('seed') ?? 0);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`unroll: seed=${q.get('seed')} must be a non-negative integer`);
  const k2 = Number(q.get('k2') ?? T);
  if (!Number.isInteger(k2) || k2 < 1 || k2 > T) throw new Error(`unroll: k2=${q.get('k2')} must be an integer in [1, T = ${T}]`);
  return { cell, T, seed, k2 };
}

export function unrollPanel(root: HTMLElement, s: UnrollSettings, go: (q: Record<string, string | number>) => void): () => void {
  const w: Walk = buildWalk({ cell: s.cell, steps: s.T, seed: s.seed });
  const F = w.forward.length, B = w.backward.length;
  // Lines renumbered together (values, forward, backward) so the %ids read %0, %1, … and match explain().
  const all = localIds([...w.values, ...w.forward.map((r) => r.line), ...w.backward.flatMap((r) => [r.line, ...r.adjoints.map((a) => a.line)])]);
  const valuesText = all.slice(0, w.values.length);
  const fwdText = all.slice(w.values.length, w.values.length + F);
  const backText: string[][] = [];
  let k = w.values.length + F;
  for (const r of w.backward) {
    backText.push(all.slice(k, k + 1 + r.adjoints.length));
    k += 1 + r.adjoints.length;
  }
  // Truncated BPTT as autodiff's bptt({ k1: k2, k2 }) runs it (char-rnn's k1 = k2): an update
  // every k2 steps and at T, each backpropagating its own window. The last window is steps
  // cut+1 … T, cut = ⌊(T − 1)/k2⌋·k2; records of steps ≤ cut lie outside it (its input state is
  // detached). Inside, every ∂L/∂h_t equals the full walk's (it depends only on later losses);
  // what truncation loses is the earlier steps' share of ∂L/∂θ.
  const cut = Math.floor((s.T - 1) / s.k2) * s.k2;
  const outside = (step: number | undefined) => step !== undefined && step <= cut;
  let pos = 0; // 0 … F forward records shown, then F + 1 … F + B backward records

  const controls = el('div', { class: 'controls' },
    select('cell', 'cell', ['rnn', 'lstm', 'gru'], s.cell, (v) => go({ cell: v, T: s.T, seed: s.seed })),
    numberInput('T', 'T', s.T, { min: 1, max: 8, step: 1 }, (v) => go({ cell: s.cell, T: v, seed: s.seed, k2: Math.min(s.k2, v) })),
    numberInput('seed', 'seed', s.seed, { min: 0, max: 9999, step: 1 }, (v) => go({ cell: s.cell, T: s.T, seed: v, k2: s.k2 })),
    numberInput('k2', 'truncation k2', s.k2, { min: 1, max: s.T, step: 1 }, (v) => go({ cell: s.cell, T: s.T, seed: s.seed, k2: v })),
    el('button', { id: 'back', onclick: () => move(-1), title: '← or p' }, '◀ back'),
    el('button', { id: 'step', onclick: () => move(1), title: '→ or n' }, 'step ▶'),
    el('button', { id: 'all', onclick: () => move(F + B), title: 'End' }, 'run all'),
    el('button', { id: 'reset', onclick: () => move(-pos), title: 'Home' }, 'reset'),
  );
  const status = el('p', { id: 'status', class: 'status', 'aria-live': 'polite' });
  const fwd = el('ol', { id: 'forward', class: 'tape' });
  const loss = el('p', { id: 'loss', class: 'mono' });
  const back = el('ol', { id: 'backward', class: 'tape' });
  const table = el('table', { id: 'dh', class: 'mono' });
  root.append(
    el('h2', {}, 'Unroll and walk back'),
    el('p', {}, `The tape of `, el('code', {}, `unfold explain --cell ${s.cell} --steps ${s.T} --seed ${s.seed}`), ': H = 3, I = 2, V = 3, float64, one record per primitive op. Step the forward unroll, then the reverse walk: each record receives the adjoint ∂L/∂(output) (‖dy‖) and the state adjoints ∂L/∂h_t complete as the walk reaches the record that produced h_t.'),
    controls, status,
    el('details', {}, el('summary', {}, 'values (parameters, inputs, targets)'), el('pre', { id: 'values' }, [...w.header, ...valuesText].join('\n'))),
    el('h3', {}, 'forward: the tape in execution order'), fwd, loss,
    el('h3', {}, 'backward: the same records in reverse'), back,
    el('h3', {}, '∂L/∂h_t over time'), table,
  );

  function render(): void {
    fwd.replaceChildren(...w.forward.slice(0, Math.min(pos, F)).map((r, i) => el('li', { class: `rec step-${r.step ?? 'none'}${outside(r.step) ? ' outside' : ''}${i === pos - 1 ? ' current' : ''}`, 'data-index': i },
      el('span', { class: 'line' }, fwdText[i]),
      ...r.values.map((v) => el('span', { class: 'value' }, `  ${v.name} = [${v.data.map(fmt).join(', ')}]`)))));
    loss.textContent = pos >= F ? w.lossLine : '';
    const nb = Math.max(0, pos - F);
    back.replaceChildren(...w.backward.slice(0, nb).flatMap((r, i) => [
      ...(r.heading ? [el('li', { class: `heading${outside(r.step) ? ' outside' : ''}` }, r.heading)] : []),
      el('li', { class: `rec${outside(r.step) ? ' outside' : ''}${i === nb - 1 ? ' current' : ''}`, 'data-index': i },
        el('span', { class: 'line' }, backText[i][0]),
        ...backText[i].slice(1).map((a) => el('span', { class: 'adjoint' }, a))),
    ]));
    const shown = new Set(w.backward.slice(0, nb).flatMap((r) => r.adjoints.map((a) => a.name)));
    const lstm = w.cNorms !== undefined;
    table.replaceChildren(el('tr', {}, el('th', {}, 't'), el('th', {}, '‖∂L/∂h_t‖'), lstm ? el('th', {}, '‖∂L/∂c_t‖') : null, el('th', {}, 'bptt() cross-check')),
      ...Array.from({ length: w.T }, (_, j) => w.T - j).map((t) => el('tr', { 'data-t': t, class: outside(t) ? 'outside' : undefined },
        el('td', {}, String(t)),
        el('td', { class: 'h' }, shown.has(`h_${t}`) ? w.hNorms[t - 1].toPrecision(6) : '…'),
        lstm ? el('td', { class: 'c' }, shown.has(`c_${t}`) ? w.cNorms![t - 1].toPrecision(6) : '…') : null,
        el('td', {}, shown.has(`h_${t}`) ? w.check[t - 1].toPrecision(6) : '…'))));
    const note = cut > 0 ? `   (truncation k2 = ${s.k2}: steps 1 … ${cut} are outside the window of the last update (bptt with k1 = k2 = ${s.k2}), greyed)` : '';
    status.textContent = (pos <= F ? `forward: ${pos} / ${F} records` : `backward: ${nb} / ${B} records`) + note;
    root.dataset.pos = String(pos);
    document.querySelector('.current')?.scrollIntoView?.({ block: 'nearest' });
  }
  function move(d: number): void {
    pos = Math.max(0, Math.min(F + B, pos + d));
    render();
  }
  const onKey = (e: KeyboardEvent) => {
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
    const d = { ArrowRight: 1, n: 1, ArrowLeft: -1, p: -1, End: F + B, Home: -(F + B) }[e.key];
    if (d !== undefined) {
      e.preventDefault();
      move(d);
    }
  };
  document.addEventListener('keydown', onKey);
  root.dataset.records = String(F);
  root.dataset.backRecords = String(B);
  render();
  return () => document.removeEventListener('keydown', onKey);
}
