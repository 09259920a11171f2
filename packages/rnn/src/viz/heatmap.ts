// heatmap: a rows × cols grid coloured by viridis, row 0 at the top (like a matrix), with a colour bar.
import { TensorError } from '@unfold/tensor';
import { Box, drawTitles, frame, topMargin } from './axes';
import { checkNumbers, checkSize, checkText } from './check';
import { MISSING, viridis } from './color';
import { Axis, axisFrac, tightAxis } from './scale';
import { FONT, clip, coord, el, esc, fmtNum, svgDoc, text, textWidth } from './svg';
import { checkOptions as checkKnown, keysOf } from '../options';

export interface HeatmapOptions {
  /** values[r][c]; e.g. ‖∂L/∂h_t‖ with r = training step, c = time step t. */
  values: ArrayLike<number>[];
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Colour by log10(value): for quantities spanning decades; cells ≤ 0 are drawn grey. */
  logColor?: boolean;
  rowLabels?: string[];
  colLabels?: string[];
  width?: number;
  height?: number;
}

const OP = 'heatmap';
const HEATMAP_KEYS = { values: 1, title: 1, xLabel: 1, yLabel: 1, logColor: 1, rowLabels: 1, colLabels: 1, width: 1, height: 1 } as const;
const TOOLTIP_MAX_CELLS = 4096; // per-cell <title> tooltips only while the file stays small
const LABEL_MAX = 16; // characters of a row/column tick label

function checkOptions(o: HeatmapOptions): { rows: number; cols: number } {
  if (o === null || typeof o !== 'object') throw new TensorError(OP, `options must be an object, got ${String(o)}`);
  checkKnown(OP, o, keysOf<HeatmapOptions>(HEATMAP_KEYS));
  checkText(OP, o as unknown as Record<string, unknown>, ['title', 'xLabel', 'yLabel']);
  if (!Array.isArray(o.values) || o.values.length === 0) throw new TensorError(OP, 'values must be a non-empty array of rows (rows × cols)');
  const cols = checkNumbers(OP, 'values[0]', o.values[0]);
  if (cols === 0) throw new TensorError(OP, 'values[0] is empty: need at least one column');
  o.values.forEach((row, r) => {
    const n = checkNumbers(OP, `values[${r}]`, row);
    if (n !== cols) throw new TensorError(OP, `ragged rows: values[${r}] has ${n} values but values[0] has ${cols} (expected rows × cols = ${o.values.length} × ${cols})`);
  });
  for (const [k, want] of [['rowLabels', o.values.length], ['colLabels', cols]] as const) {
    const l = o[k];
    if (l === undefined) continue;
    if (!Array.isArray(l) || l.some((s) => typeof s !== 'string')) throw new TensorError(OP, `${k} must be an array of strings`);
    if (l.length !== want) throw new TensorError(OP, `${k} has ${l.length} labels but values has ${want} ${k === 'rowLabels' ? 'rows' : 'columns'}`);
  }
  return { rows: o.values.length, cols };
}

/** Smallest stride from 1, 2, 5, 10, 20, … whose labelled cells are at least `need` px apart. */
function stride(pitch: number, need: number): number {
  for (let m = 1; ; m *= 10) for (const k of [1, 2, 5]) if (k * m * pitch >= need || k * m > 1e9) return k * m;
}

/** SVG heatmap of values (rows × cols) with a viridis colour bar; non-finite cells are grey. */
export function heatmap(opts: HeatmapOptions): string {
  const { rows, cols } = checkOptions(opts);
  const { width, height } = checkSize(OP, opts.width ?? 720, opts.height ?? 480);
  const log = opts.logColor === true;
  const V = opts.values;

  // Colour domain: exact data range, so the whole scale is used.
  let [lo, hi, nan, inf, nonPos] = [Infinity, -Infinity, 0, 0, 0];
  for (const row of V) {
    for (let c = 0; c < cols; c++) {
      const v = row[c];
      if (Number.isNaN(v)) nan++;
      else if (!Number.isFinite(v)) inf++;
      else if (log && v <= 0) nonPos++;
      else [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    }
  }
  if (!(lo <= hi)) [lo, hi] = log ? [1, 10] : [0, 1];
  const missing = [nan > 0 && 'NaN', inf > 0 && '±Inf', nonPos > 0 && '≤ 0'].filter(Boolean).join(', ');
  const note = nonPos > 0 ? `${nonPos} cell${nonPos === 1 ? '' : 's'} ≤ 0 drawn grey (log colour scale)` : '';

  const top = topMargin(opts.title);
  const rowText = (r: number): string => opts.rowLabels?.[r] ?? String(r);
  const colText = (c: number): string => opts.colLabels?.[c] ?? String(c);
  const rowTick = (r: number): string => clip(rowText(r), LABEL_MAX); // the tooltip keeps the full label
  const colTick = (c: number): string => clip(colText(c), LABEL_MAX);
  const cAxis = tightAxis(lo, hi, log, Math.max(2, Math.min(8, Math.floor((height - top - 60) / 50))));
  const barLabelW = Math.max(textWidth(missing), ...cAxis.ticks.map((t) => textWidth(t.label)));
  const right = 18 + 14 + 5 + 4 + barLabelW + 10;
  const rowLabelW = Math.max(...Array.from({ length: rows }, (_, r) => textWidth(rowTick(r))));
  const left = (opts.yLabel ? 26 : 8) + rowLabelW + 8;
  const plotW = width - left - right;

  // Column labels: horizontal when they fit (every k-th), else rotated when that lets more of them show.
  const colLabelW = Math.max(...Array.from({ length: cols }, (_, c) => textWidth(colTick(c))));
  const kH = stride(plotW / cols, colLabelW + 6);
  const kR = stride(plotW / cols, FONT + 2);
  const rotate = opts.colLabels !== undefined && kR < kH;
  const kCol = rotate ? kR : kH;
  const colLabelH = rotate ? colLabelW + 10 : FONT + 8;
  const bottom = 6 + colLabelH + (opts.xLabel ? 20 : 0) + (note ? 16 : 0);
  const box: Box = { x0: left, y0: top, x1: width - right, y1: height - bottom };
  if (box.x1 - box.x0 < 20 || box.y1 - box.y0 < 20) {
    throw new TensorError(OP, `${width}×${height} px leaves no room for the cells (labels take ${coord(left + right)} × ${coord(top + bottom)} px)`);
  }
  const [cw, ch] = [(box.x1 - box.x0) / cols, (box.y1 - box.y0) / rows];
  const kRow = stride(ch, FONT + 2);

  const colorOf = (v: number): string => (!Number.isFinite(v) || (log && v <= 0) ? MISSING : viridis(axisFrac(cAxis, v)));
  const cells: string[] = [];
  const tips = rows * cols <= TOOLTIP_MAX_CELLS;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = V[r][c];
      const tip = tips ? el('title', {}, esc(`${rowText(r)}, ${colText(c)}: ${fmtNum(v)}`)) : undefined;
      cells.push(el('rect', { x: box.x0 + c * cw, y: box.y0 + r * ch, width: cw, height: ch, fill: colorOf(v) }, tip));
    }
  }
  const body = [el('g', { 'shape-rendering': 'crispEdges' }, cells), frame(box)];

  for (let r = 0; r < rows; r += kRow) body.push(text(box.x0 - 5, box.y0 + (r + 0.5) * ch + FONT * 0.35, rowTick(r), { 'text-anchor': 'end', fill: '#333333' }));
  for (let c = 0; c < cols; c += kCol) {
    const x = box.x0 + (c + 0.5) * cw;
    if (!rotate) body.push(text(x, box.y1 + 5 + FONT, colTick(c), { 'text-anchor': 'middle', fill: '#333333' }));
    else body.push(text(x + FONT * 0.35, box.y1 + 5, colTick(c), { 'text-anchor': 'end', transform: `rotate(-90 ${coord(x + FONT * 0.35)} ${coord(box.y1 + 5)})`, fill: '#333333' }));
  }
  body.push(...colorBar(cAxis, { x0: box.x1 + 18, y0: box.y0, x1: box.x1 + 32, y1: box.y1 }, missing));
  body.push(...drawTitles(opts, box, box.y1 + 6 + colLabelH + 14, 16));
  if (note) body.push(text(box.x0, height - 6, note, { 'font-size': FONT - 2, 'font-style': 'italic', fill: '#666666' }));
  return svgDoc(width, height, body);
}

/** Vertical colour bar (low at the bottom) with ticks; a grey swatch under it names the missing kinds. */
function colorBar(a: Axis, b: Box, missing: string): string[] {
  const out: string[] = [];
  const y1 = missing ? b.y1 - 24 : b.y1;
  const n = 64;
  const h = (y1 - b.y0) / n;
  const strips: string[] = [];
  for (let k = 0; k < n; k++) strips.push(el('rect', { x: b.x0, y: y1 - (k + 1) * h, width: b.x1 - b.x0, height: h, fill: viridis((k + 0.5) / n) }));
  out.push(el('g', { 'shape-rendering': 'crispEdges' }, strips));
  out.push(el('rect', { x: b.x0, y: b.y0, width: b.x1 - b.x0, height: y1 - b.y0, fill: 'none', stroke: '#333333' }));
  for (const t of a.ticks) {
    const y = y1 - axisFrac(a, t.value) * (y1 - b.y0);
    out.push(el('line', { x1: b.x1, y1: y, x2: b.x1 + 4, y2: y, stroke: '#333333' }));
    out.push(text(b.x1 + 7, y + FONT * 0.35, t.label, { fill: '#333333' }));
  }
  if (missing) {
    out.push(el('rect', { x: b.x0, y: b.y1 - 14, width: b.x1 - b.x0, height: 14, fill: MISSING, stroke: '#333333' }));
    out.push(text(b.x1 + 7, b.y1 - 7 + FONT * 0.35, missing, { fill: '#333333' }));
  }
  return out;
}
