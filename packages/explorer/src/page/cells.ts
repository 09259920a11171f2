// Panel 4 — What the cells learn: the shipped LSTM (or panel 3's) read over a passage; text
// coloured by one hidden unit, units ranked by correlation with features, gate saturation.
import { Activations, FEATURES, Feature, UnitScore, charActivations, features, gateSaturation, loadCharModel, passage, rankUnits } from '../lib/cells';
import { el, select, svg } from './dom';

/** Blue (−1) … white (0) … red (+1), as in Karpathy et al.'s figures. */
function colour(v: number): string {
  const x = Math.max(-1, Math.min(1, v));
  const k = Math.round(255 * (1 - Math.abs(x)));
  return x >= 0 ? `rgb(255,${k},${k})` : `rgb(${k},${k},255)`;
}

/** One histogram per gate: how many units spend a given fraction of the time saturated (< 0.1 or > 0.9). */
function saturationSvg(sat: ReturnType<typeof gateSaturation>, H: number): string {
  const W = 220, Hh = 140, bins = 10, pad = 24;
  const panels = Object.entries(sat).map(([name, { left, right }], k) => {
    const count = (a: Float64Array) => {
      const c = new Array<number>(bins).fill(0);
      for (const v of a) c[Math.min(bins - 1, Math.floor(v * bins))]++;
      return c;
    };
    const l = count(left), r = count(right);
    const bw = (W - 2 * pad) / bins / 2;
    const y = (n: number) => Hh - pad - (n / H) * (Hh - 2 * pad);
    const bars = l.map((n, i) => `<rect x="${pad + i * 2 * bw}" y="${y(n)}" width="${bw - 1}" height="${Hh - pad - y(n)}" fill="#3b6fd8"/><rect x="${pad + i * 2 * bw + bw}" y="${y(r[i])}" width="${bw - 1}" height="${Hh - pad - y(r[i])}" fill="#d8453b"/>`).join('');
    return `<g transform="translate(${k * W},0)"><text x="${W / 2}" y="14" text-anchor="middle" font-size="12">${name} gate</text>${bars}<line x1="${pad}" y1="${Hh - pad}" x2="${W - pad}" y2="${Hh - pad}" stroke="#333"/><text x="${pad}" y="${Hh - 8}" font-size="10">0</text><text x="${W - pad}" y="${Hh - 8}" font-size="10" text-anchor="end">1 (fraction of time)</text></g>`;
  }).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.max(3, Object.keys(sat).length) * W}" height="${Hh + 16}" font-family="sans-serif">${panels}<text x="${pad}" y="${Hh + 10}" font-size="11" fill="#3b6fd8">■ &lt; 0.1 (left-saturated)</text><text x="${pad + 150}" y="${Hh + 10}" font-size="11" fill="#d8453b">■ &gt; 0.9 (right-saturated)</text><text x="${pad + 320}" y="${Hh + 10}" font-size="11" fill="#555">y: number of units (of ${H})</text></svg>`;
}

export function cellsPanel(root: HTMLElement, modelBytes: Uint8Array, corpus: string, q: URLSearchParams, trained?: () => Uint8Array | null): () => void {
  const text = passage(corpus);
  const body = el('div');
  const info = el('p', { id: 'cells-info' });
  root.append(
    el('h2', {}, 'What the cells learn'),
    el('p', {}, 'After Karpathy, Johnson & Fei-Fei (2015): a character LSTM (or GRU) reads a passage of Shakespeare; each hidden unit\'s h_t after each character colours the text (blue −1 … red +1), units are ranked by Pearson\'s r with simple features of the text, and the gates\' saturation is counted (fraction of time < 0.1 or > 0.9: the LSTM input, forget and output gates; the GRU reset r and update z). The shipped model: LSTM, H = 64, trained by the committed seeded script src/pretrain.ts (npm run explorer:pretrain).'),
    el('div', { class: 'controls' }, el('button', { id: 'use-trained', onclick: () => { const b = trained?.(); if (b) show(b, 'the model trained in panel 3'); else info.textContent = 'train (or upload) a one-layer LSTM or GRU in panel 3 first'; } }, 'use the model from panel 3')),
    info, body,
  );
  function show(bytes: Uint8Array, what: string): void {
    let a: Activations;
    try {
      const { model, vocab } = loadCharModel(bytes);
      a = charActivations(model, vocab, text.split('').filter((ch) => vocab.has(ch)).join(''));
    } catch (e) {
      info.textContent = String(e);
      return;
    }
    const f = features(a.text);
    const sat = gateSaturation(a);
    const satData = el('script', { id: 'saturation-data', type: 'application/json' }, JSON.stringify({ cell: a.cell, H: a.H, chars: a.text.length, gates: Object.fromEntries(Object.entries(sat).map(([g, v]) => [g, { left: Array.from(v.left), right: Array.from(v.right) }])) }));
    const ranked = rankUnits(a, f);
    const best = ranked[0];
    const constant = FEATURES.filter((k) => !ranked.some((s) => s.feature === k));
    info.textContent = `${what}: ${a.cell.toUpperCase()}, ${a.text.length} characters, H = ${a.H}. Best: unit ${best.unit} with “${best.feature}”, r = ${best.r.toFixed(3)}.${constant.length ? ` Not ranked (constant in this passage): ${constant.join(', ')}.` : ''}`;
    root.dataset.best = JSON.stringify(best);
    let unit = Number(q.get('unit') ?? best.unit);
    const textBox = el('div', { id: 'cell-text', class: 'mono celltext' });
    const paint = () => {
      textBox.replaceChildren(...Array.from(a.text, (ch, t) => el('span', { style: `background:${colour(a.h[t][unit])}`, title: `h[${unit}] = ${a.h[t][unit].toFixed(3)}` }, ch === '\n' ? '↵\n' : ch)));
    };
    const byFeature = (k: Feature) => ranked.filter((s) => s.feature === k).slice(0, 3);
    const row = (s: UnitScore) => el('tr', { 'data-unit': s.unit }, el('td', {}, String(s.unit)), el('td', {}, s.feature), el('td', {}, s.r.toFixed(3)));
    body.replaceChildren(
      el('div', { class: 'controls' }, select('unit', 'unit', Array.from({ length: a.H }, (_, u) => String(u)), String(unit), (v) => { unit = Number(v); paint(); })),
      textBox,
      el('h3', {}, 'units ranked by |r| with a feature (top 10, then the best 3 per feature)'),
      el('table', { id: 'rank', class: 'mono' }, el('tr', {}, el('th', {}, 'unit'), el('th', {}, 'feature'), el('th', {}, 'r')), ...ranked.slice(0, 10).map(row)),
      el('table', { class: 'mono' }, ...FEATURES.flatMap(byFeature).map(row)),
      el('h3', {}, `gate saturation (${a.cell.toUpperCase()}): units by fraction of time left- (< 0.1) or right-saturated (> 0.9)`),
      svg(saturationSvg(sat, a.H), 'saturation'),
      satData,
    );
    paint();
  }
  show(modelBytes, 'the shipped model');
  return () => undefined;
}
