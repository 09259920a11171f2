// The few DOM helpers the panels share (plain DOM: see the README for why no framework).
type Attrs = Record<string, string | number | boolean | EventListener | undefined>;

/** el('button', { id: 'step', onclick: f }, 'Step') — attributes, listeners (on…) and children. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...kids: (Node | string | null | undefined)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = String(v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of kids) if (c !== null && c !== undefined) e.append(c);
  return e;
}

/** A labelled <select>. */
export function select(id: string, label: string, options: readonly string[], value: string, onchange: (v: string) => void): HTMLLabelElement {
  const s = el('select', { id, onchange: () => onchange(s.value) }, ...options.map((o) => el('option', { value: o, selected: o === value }, o)));
  return el('label', {}, `${label} `, s);
}

/** A labelled number or range input. */
export function numberInput(id: string, label: string, value: number, o: { min: number; max: number; step: number; range?: boolean }, onchange: (v: number) => void): HTMLLabelElement {
  const out = el('output', { for: id }, String(value));
  const i = el('input', { id, type: o.range ? 'range' : 'number', min: o.min, max: o.max, step: o.step, value });
  i.addEventListener(o.range ? 'input' : 'change', () => {
    out.textContent = i.value;
    onchange(Number(i.value));
  });
  return el('label', {}, `${label} `, i, o.range ? out : null);
}

/** An SVG string (from the library's viz module) as a node. */
export function svg(markup: string, id?: string): HTMLDivElement {
  const d = el('div', { class: 'plot', id });
  d.innerHTML = markup;
  return d;
}

export const fmt = (v: number) => v.toFixed(4);
