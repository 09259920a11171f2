// Panel 1 — Unroll and walk back: the tape of `unfold explain` built record by record, then
// walked backwards record by record with the adjoints. Keys: → / n step, ← / p back, Home reset, End all.
import { UnrollSettings, Walk, buildWalk, localIds } from '../lib/walk';
import { el, fmt, numberInput, select } from './dom';

export { parseUnrollSettings } from '../lib/walk';

export function unrollPanel(root: HTMLElement, s: UnrollSettings, go: (q: Record<string, string | number>) => void): () => void {
  const w: Walk = buildWalk({ cell: s.cell, steps: s.T, seed: s.seed, k1: s.k1, k2: s.k2, window: s.window });
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
  // Truncated BPTT as autodiff's bptt({ k1, k2 }) runs it: an update after every k1-th step and
  // after T, window w backpropagating its own losses L_lossFrom … L_tEnd through steps
  // tStart … tEnd (k2 − k1 steps before its losses: the overlap). Records outside the walked
  // window are greyed, and so are the L = Σ L_t records (bptt seeds each window's losses
  // itself). Steps of the overlap are walked but add no loss of their own (marked).
  const tr = w.truncation;
  const win = tr?.window;
  const outside = (step: number | undefined) => win !== undefined && (step === undefined || step < win.tStart || step > win.tEnd);
  const overlap = (step: number | undefined) => win !== undefined && step !== undefined && step >= win.tStart && step < win.lossFrom;
  const cls = (step: number | undefined) => `${outside(step) ? ' outside' : ''}${overlap(step) ? ' overlap' : ''}`;
  const base = { cell: s.cell, T: s.T, seed: s.seed, k1: s.k1, k2: s.k2 };
  let pos = 0; // 0 … F forward records shown, then F + 1 … F + B backward records

  const controls = el('div', { class: 'controls' },
    select('cell', 'cell', ['rnn', 'lstm', 'gru'], s.cell, (v) => go({ ...base, cell: v })),
    numberInput('T', 'T', s.T, { min: 1, max: 8, step: 1 }, (v) => go({ ...base, T: v, k2: Math.min(s.k2, v), k1: Math.min(s.k1, v) })),
    numberInput('seed', 'seed', s.seed, { min: 0, max: 9999, step: 1 }, (v) => go({ ...base, seed: v })),
    numberInput('k1', 'update every k1', s.k1, { min: 1, max: s.k2, step: 1 }, (v) => go({ ...base, k1: Math.min(v, s.k2) })),
    numberInput('k2', 'backprop k2 steps', s.k2, { min: 1, max: s.T, step: 1 }, (v) => go({ ...base, k2: v, k1: Math.min(s.k1, v) })),
    tr ? select('window', 'window', tr.windows.map((x) => String(x.index + 1)), String(win!.index + 1), (v) => go({ ...base, window: v })) : null,
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
  const windowsTable = el('table', { id: 'windows', class: 'mono' });
  const dhData = el('script', { id: 'unroll-data', type: 'application/json' });
  if (tr) {
    // Every window's ‖∂L_w/∂h_t‖ as bptt's onStateGrad reports it; the walked window's column is marked.
    windowsTable.append(
      el('tr', {}, el('th', {}, 't'), ...tr.windows.map((x) => el('th', { class: x === win ? 'walked' : undefined, title: `losses L_${x.lossFrom} … L_${x.tEnd}, walked back to step ${x.tStart}` }, `w${x.index + 1}: L_${x.lossFrom}…L_${x.tEnd} ← ${x.tStart}`))),
      ...Array.from({ length: s.T }, (_, j) => s.T - j).map((t) => el('tr', { 'data-t': t }, el('td', {}, String(t)),
        ...tr.bpttNorms.map((n, wi) => el('td', { class: wi === win!.index ? 'walked' : undefined }, Number.isFinite(n[t - 1]) ? n[t - 1].toPrecision(6) : '')))),
    );
  }
  root.append(
    el('h2', {}, 'Unroll and walk back'),
    el('p', {}, `The tape of `, el('code', {}, `unfold explain --cell ${s.cell} --steps ${s.T} --seed ${s.seed}`), ': H = 3, I = 2, V = 3, float64, one record per primitive op. Step the forward unroll, then the reverse walk: each record receives the adjoint ∂L/∂(output) (‖dy‖) and the state adjoints ∂L/∂h_t complete as the walk reaches the record that produced h_t.'),
    controls, status,
    el('details', {}, el('summary', {}, 'values (parameters, inputs, targets)'), el('pre', { id: 'values' }, [...w.header, ...valuesText].join('\n'))),
    el('h3', {}, 'forward: the tape in execution order'), fwd, loss,
    el('h3', {}, 'backward: the same records in reverse'), back,
    el('h3', {}, tr ? `∂L_w/∂h_t in window ${win!.index + 1} (L_w = L_${win!.lossFrom} + … + L_${win!.tEnd})` : '∂L/∂h_t over time'), table,
    ...(tr ? [el('h3', {}, `every window of bptt({ k1: ${s.k1}, k2: ${s.k2} }): ‖∂L_w/∂h_t‖ (w = update; L_a…L_b ← c: its losses, walked back to step c)`), windowsTable] : []),
    dhData,
  );
  if (tr) dhData.textContent = JSON.stringify({ k1: tr.k1, k2: tr.k2, windows: tr.windows, window: win, bpttNorms: tr.bpttNorms.map((n) => n.map((v) => (Number.isFinite(v) ? v : null))), walkDh: Array.from({ length: s.T }, (_, t) => w.backward.flatMap((r) => r.adjoints).find((a) => a.name === `h_${t + 1}`)?.data ?? null) });

  function render(): void {
    fwd.replaceChildren(...w.forward.slice(0, Math.min(pos, F)).map((r, i) => el('li', { class: `rec step-${r.step ?? 'none'}${cls(r.step)}${i === pos - 1 ? ' current' : ''}`, 'data-index': i },
      el('span', { class: 'line' }, fwdText[i]),
      ...r.values.map((v) => el('span', { class: 'value' }, `  ${v.name} = [${v.data.map(fmt).join(', ')}]`)))));
    loss.textContent = pos >= F ? w.lossLine : '';
    const nb = Math.max(0, pos - F);
    back.replaceChildren(...w.backward.slice(0, nb).flatMap((r, i) => [
      ...(r.heading ? [el('li', { class: `heading${cls(r.step)}` }, r.heading)] : []),
      el('li', { class: `rec${cls(r.step)}${i === nb - 1 ? ' current' : ''}`, 'data-index': i },
        el('span', { class: 'line' }, backText[i][0]),
        ...backText[i].slice(1).map((a) => el('span', { class: 'adjoint' }, a))),
    ]), ...(win && nb === B && win.tStart > 1 ? [el('li', { class: 'heading outside', id: 'truncated' }, `-- truncated: the adjoint reaching h_${win.tStart - 1} is dropped; steps 1 … ${win.tStart - 1} are not walked --`)] : []));
    const shown = new Set(w.backward.slice(0, nb).flatMap((r) => r.adjoints.map((a) => a.name)));
    const lstm = w.cNorms !== undefined;
    const L = tr ? 'L_w' : 'L';
    table.replaceChildren(el('tr', {}, el('th', {}, 't'), el('th', {}, `‖∂${L}/∂h_t‖`), lstm ? el('th', {}, `‖∂${L}/∂c_t‖`) : null, el('th', {}, tr ? `bptt({ k1: ${s.k1}, k2: ${s.k2} }) cross-check` : 'bptt() cross-check')),
      ...Array.from({ length: w.T }, (_, j) => w.T - j).map((t) => el('tr', { 'data-t': t, class: cls(t).trim() || undefined },
        el('td', {}, String(t)),
        el('td', { class: 'h' }, shown.has(`h_${t}`) ? w.hNorms[t - 1].toPrecision(6) : outside(t) ? '—' : '…'),
        lstm ? el('td', { class: 'c' }, shown.has(`c_${t}`) ? w.cNorms![t - 1].toPrecision(6) : outside(t) ? '—' : '…') : null,
        el('td', {}, shown.has(`h_${t}`) ? w.check[t - 1].toPrecision(6) : outside(t) ? '—' : '…'))));
    const note = win ? `   (bptt k1 = ${s.k1}, k2 = ${s.k2}: ${tr!.windows.length} updates; window ${win.index + 1} backpropagates L_${win.lossFrom} … L_${win.tEnd} through steps ${win.tStart} … ${win.tEnd}${win.tStart > 1 ? `; steps 1 … ${win.tStart - 1} are outside it, greyed` : ''}${win.lossFrom > win.tStart ? `; steps ${win.tStart} … ${win.lossFrom - 1} are walked for the carried adjoint only` : ''})` : '';
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
