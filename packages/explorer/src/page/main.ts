// The explorer's router: one panel per hash route (#unroll, #flow, #train, #cells, #classic), settings in the
// hash query (#unroll?cell=lstm&T=3&seed=0), so every view can be linked to.
import corpus from 'explorer:corpus';
import shippedModel from 'explorer:model';
import { cellsPanel } from './cells';
import { classicPanel } from './classic';
import { parseFlowSettings } from '../lib/flow';
import { flowPanel } from './flow';
import { parseClipSettings } from '../lib/clipping';
import { trainPanel, trainedWeights } from './train';
import { parseUnrollSettings, unrollPanel } from './unroll';
import { el } from './dom';

const PANELS = [
  { id: 'unroll', title: '1 · Unroll and walk back' },
  { id: 'flow', title: '2 · Vanishing and exploding' },
  { id: 'train', title: '3 · Train a character model' },
  { id: 'cells', title: '4 · What the cells learn' },
  { id: 'classic', title: '5 · Classic experiments' },
] as const;

let cleanup: (() => void) | undefined;

function route(): void {
  const [name, query = ''] = location.hash.replace(/^#/, '').split('?');
  const id = PANELS.some((p) => p.id === name) ? name : 'unroll';
  const q = new URLSearchParams(query);
  const go = (o: Record<string, string | number>) => { location.hash = `${id}?${new URLSearchParams(Object.entries(o).map(([k, v]) => [k, String(v)]))}`; };
  cleanup?.();
  cleanup = undefined;
  document.querySelectorAll('nav a').forEach((a) => a.classList.toggle('active', a.getAttribute('href') === `#${id}`));
  const root = document.getElementById('panel')!;
  root.replaceChildren();
  root.dataset.panel = id;
  document.body.dataset.ready = '0';
  try {
    if (id === 'unroll') cleanup = unrollPanel(root, parseUnrollSettings(q), go);
    else if (id === 'flow') cleanup = flowPanel(root, parseFlowSettings(q), go, parseClipSettings(q), q.get('clipRun') === '1');
    else if (id === 'train') cleanup = trainPanel(root, corpus, q);
    else if (id === 'cells') cleanup = cellsPanel(root, shippedModel, corpus, q, trainedWeights);
    else cleanup = classicPanel(root, q, go);
  } catch (e) {
    root.append(el('p', { class: 'error', id: 'route-error' }, String(e)));
  }
  document.title = `Unfold explorer — ${PANELS.find((p) => p.id === id)!.title}`;
  document.body.dataset.ready = '1';
}

document.getElementById('nav')!.replaceChildren(...PANELS.map((p) => el('a', { href: `#${p.id}` }, p.title)));
window.addEventListener('hashchange', route);
route();
