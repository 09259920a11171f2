// Drawing a numeric axis (grid, tick marks, labels) and the titles around a plot area.
import { Axis, axisFrac } from './scale';
import { FONT, coord, el, text, textWidth } from './svg';

/** Plot area in pixels; y grows downwards, so y0 is the top edge. */
export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

const TICK = 5;
const GRID = '#e6e6e6';
const MINOR_GRID = '#f3f3f3';
const INK = '#333333';

export function maxLabelWidth(a: Axis): number {
  return Math.max(0, ...a.ticks.map((t) => textWidth(t.label)));
}

/** Pixel x of value v on a horizontal axis spanning box.x0 → box.x1. */
export function px(a: Axis, box: Box, v: number): number {
  return box.x0 + axisFrac(a, v) * (box.x1 - box.x0);
}

/** Pixel y of value v on a vertical axis: lo at the bottom (box.y1). */
export function py(a: Axis, box: Box, v: number): number {
  return box.y1 - axisFrac(a, v) * (box.y1 - box.y0);
}

/** Vertical grid lines, tick marks and labels below the box. */
export function drawXAxis(a: Axis, box: Box): string[] {
  const out: string[] = [];
  for (const v of a.minor) out.push(el('line', { x1: px(a, box, v), y1: box.y0, x2: px(a, box, v), y2: box.y1, stroke: MINOR_GRID }));
  for (const t of a.ticks) {
    const x = px(a, box, t.value);
    out.push(el('line', { x1: x, y1: box.y0, x2: x, y2: box.y1, stroke: GRID }));
    out.push(el('line', { x1: x, y1: box.y1, x2: x, y2: box.y1 + TICK, stroke: INK }));
    out.push(text(x, box.y1 + TICK + FONT + 1, t.label, { 'text-anchor': 'middle', fill: INK }));
  }
  return out;
}

/** Horizontal grid lines, tick marks and right-aligned labels left of the box. */
export function drawYAxis(a: Axis, box: Box): string[] {
  const out: string[] = [];
  for (const v of a.minor) out.push(el('line', { x1: box.x0, y1: py(a, box, v), x2: box.x1, y2: py(a, box, v), stroke: MINOR_GRID }));
  for (const t of a.ticks) {
    const y = py(a, box, t.value);
    out.push(el('line', { x1: box.x0, y1: y, x2: box.x1, y2: y, stroke: GRID }));
    out.push(el('line', { x1: box.x0 - TICK, y1: y, x2: box.x0, y2: y, stroke: INK }));
    out.push(text(box.x0 - TICK - 3, y + FONT * 0.35, t.label, { 'text-anchor': 'end', fill: INK }));
  }
  return out;
}

/** The box outline, drawn last among the axes so grid lines do not cover it. */
export function frame(box: Box): string {
  return el('rect', { x: box.x0, y: box.y0, width: box.x1 - box.x0, height: box.y1 - box.y0, fill: 'none', stroke: INK });
}

export interface Titles {
  title?: string;
  xLabel?: string;
  yLabel?: string;
}

/** Title centred over the box, x label under `xLabelY`, y label rotated at `yLabelX`. */
export function drawTitles(t: Titles, box: Box, xLabelY: number, yLabelX: number): string[] {
  const out: string[] = [];
  const cx = (box.x0 + box.x1) / 2;
  const cy = (box.y0 + box.y1) / 2;
  if (t.title) out.push(text(cx, 22, t.title, { 'text-anchor': 'middle', 'font-size': 15, 'font-weight': 'bold', fill: INK }));
  if (t.xLabel) out.push(text(cx, xLabelY, t.xLabel, { 'text-anchor': 'middle', fill: INK }));
  if (t.yLabel) out.push(text(yLabelX, cy, t.yLabel, { 'text-anchor': 'middle', transform: `rotate(-90 ${coord(yLabelX)} ${coord(cy)})`, fill: INK }));
  return out;
}

/** Space above the box: room for a title or a small margin. */
export const topMargin = (title?: string): number => (title ? 36 : 12);
