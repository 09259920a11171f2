// Tiny SVG writer: escaped text, elements from attribute records, compact numbers.
// Every coordinate goes through `coord`, so a NaN can never reach the output as "NaN".

export const FONT = 12;
export const FONT_FAMILY = 'DejaVu Sans, Helvetica, Arial, sans-serif';

/** Escapes the five XML specials, so titles like `loss < 1 & val` stay well-formed. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** Pixel coordinates with 2 decimals; a non-finite value here is a bug in the caller's layout. */
export function coord(v: number): string {
  if (!Number.isFinite(v)) throw new Error(`svg: non-finite coordinate ${v}`);
  const r = Math.round(v * 100) / 100;
  return String(Object.is(r, -0) ? 0 : r);
}

export type Attrs = Record<string, string | number | undefined>;

/** `<tag a="…">children</tag>`, self-closing when there are no children; undefined attributes are dropped. */
export function el(tag: string, attrs: Attrs = {}, children?: string | string[]): string {
  let a = '';
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined) continue;
    a += ` ${k}="${typeof v === 'number' ? coord(v) : esc(v)}"`;
  }
  const body = Array.isArray(children) ? children.join('') : children;
  return body === undefined || body === '' ? `<${tag}${a}/>` : `<${tag}${a}>${body}</${tag}>`;
}

/** A text element whose content is escaped. */
export function text(x: number, y: number, s: string, attrs: Attrs = {}): string {
  return el('text', { x, y, ...attrs }, esc(s));
}

/** Rough advance width of `s` in a sans-serif font (average glyph ≈ 0.6 em); used for layout only. */
export function textWidth(s: string, size = FONT): number {
  return [...s].length * size * 0.6;
}

/** Shortens `s` to at most `max` characters with a trailing ellipsis. */
export function clip(s: string, max: number): string {
  const cs = [...s];
  return cs.length <= max ? s : cs.slice(0, Math.max(1, max - 1)).join('') + '…';
}

/** A standalone document: white background, one font for everything. */
export function svgDoc(width: number, height: number, body: string[]): string {
  const head = el('rect', { x: 0, y: 0, width, height, fill: '#ffffff' });
  const root = el(
    'svg',
    { xmlns: 'http://www.w3.org/2000/svg', width, height, viewBox: `0 0 ${coord(width)} ${coord(height)}`, 'font-family': FONT_FAMILY, 'font-size': FONT },
    [head, ...body].join('\n'),
  );
  return `<?xml version="1.0" encoding="UTF-8"?>\n${root}\n`;
}

/**
 * Compact number for tick labels and legends: 0.1+0.2 → "0.3", 1e-7 → "1e-7", 2.5e-5 → "2.5e-5",
 * 1500 → "1.5k", 12000 → "12k", 3e6 → "3M", 1e12 → "1e12". At most 4 significant digits.
 */
export function fmtNum(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞';
  if (v === 0) return '0';
  const a = Math.abs(v);
  const sig = (x: number): string => String(Number(x.toPrecision(4)));
  if (a >= 1e-3 && a < 1e3) return sig(v);
  if (a >= 1e3 && a < 1e6 && Number(a.toPrecision(4)) < 1e6) return `${sig(v / 1e3)}k`;
  if (a >= 1e6 && a < 1e9 && Number(a.toPrecision(4)) < 1e9) return `${sig(v / 1e6)}M`;
  const [m, e] = v.toExponential(3).split('e');
  return `${String(Number(m))}e${e.replace('+', '')}`;
}

const SUP: Record<string, string> = { '-': '⁻', '0': '⁰', '1': '¹', '2': '²', '3': '³', '4': '⁴', '5': '⁵', '6': '⁶', '7': '⁷', '8': '⁸', '9': '⁹' };

/** 10^k with a Unicode superscript exponent: -6 → "10⁻⁶" (renders without tspan tricks). */
export function pow10Label(k: number): string {
  return '10' + [...String(k)].map((c) => SUP[c]).join('');
}
