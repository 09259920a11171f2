// linePlot: several series on shared axes (linear or log), legend outside the plot area.
import { TensorError } from '@unfold/tensor';
import { Box, drawTitles, drawXAxis, drawYAxis, frame, maxLabelWidth, px, py, topMargin } from './axes';
import { checkNumbers, checkSize, checkText } from './check';
import { seriesStyle } from './color';
import { makeAxis } from './scale';
import { FONT, clip, coord, el, svgDoc, text, textWidth } from './svg';
import { checkOptions as checkKnown, keysOf } from '../options';

export interface Series {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  dashed?: boolean;
}

export interface LinePlotOptions {
  series: Series[];
  title?: string;
  xLabel?: string;
  yLabel?: string;
  logY?: boolean;
  logX?: boolean;
  width?: number;
  height?: number;
  /** Horizontal reference lines, e.g. the clipping threshold on a gradient-norm plot. */
  hLines?: { y: number; label: string }[];
}

const OP = 'linePlot';
const LINE_KEYS = { series: 1, title: 1, xLabel: 1, yLabel: 1, logY: 1, logX: 1, width: 1, height: 1, hLines: 1 } as const;
const DOT = 2.5; // radius of an isolated point (a segment of length 1)
const Y_PAD = 0.03; // y range widened by 3 % each side: a constant or a curve's extreme stays off the frame

/**
 * Runs of consecutive drawable points [(x, y), …]. A point is drawable when both coordinates are
 * finite and, on a log axis, > 0; anything else ends the run, so NaN/Inf show as gaps.
 */
export function segments(s: Series, logX: boolean, logY: boolean): { runs: [number, number][][]; nonPositive: number } {
  const runs: [number, number][][] = [];
  let run: [number, number][] = [];
  let nonPositive = 0;
  for (let i = 0; i < s.x.length; i++) {
    const [x, y] = [s.x[i], s.y[i]];
    const finite = Number.isFinite(x) && Number.isFinite(y);
    const bad = finite && ((logX && x <= 0) || (logY && y <= 0));
    if (bad) nonPositive++;
    if (finite && !bad) {
      run.push([x, y]);
    } else if (run.length > 0) {
      runs.push(run);
      run = [];
    }
  }
  if (run.length > 0) runs.push(run);
  return { runs, nonPositive };
}

function checkOptions(opts: LinePlotOptions): void {
  if (opts === null || typeof opts !== 'object') throw new TensorError(OP, `options must be an object, got ${String(opts)}`);
  checkKnown(OP, opts, keysOf<LinePlotOptions>(LINE_KEYS));
  checkText(OP, opts as unknown as Record<string, unknown>, ['title', 'xLabel', 'yLabel']);
  if (!Array.isArray(opts.series) || opts.series.length === 0) throw new TensorError(OP, 'series must be a non-empty array of { name, x, y }');
  opts.series.forEach((s, i) => {
    const id = `series #${i}${typeof s?.name === 'string' ? ` '${s.name}'` : ''}`;
    if (s === null || typeof s !== 'object' || typeof s.name !== 'string') throw new TensorError(OP, `${id}: name must be a string`);
    const nx = checkNumbers(OP, `${id}: x`, s.x);
    const ny = checkNumbers(OP, `${id}: y`, s.y);
    if (nx !== ny) throw new TensorError(OP, `${id}: x has ${nx} values but y has ${ny}`);
  });
  for (const [i, h] of (opts.hLines ?? []).entries()) {
    if (typeof h?.y !== 'number' || typeof h.label !== 'string') throw new TensorError(OP, `hLines[${i}] must be { y: number, label: string }`);
  }
}

/** SVG of one or more series against shared x/y axes; see LinePlotOptions. */
export function linePlot(opts: LinePlotOptions): string {
  checkOptions(opts);
  const { width, height } = checkSize(OP, opts.width ?? 720, opts.height ?? 440);
  const logX = opts.logX === true;
  const logY = opts.logY === true;
  const hLines = (opts.hLines ?? []).filter((h) => Number.isFinite(h.y) && (!logY || h.y > 0));

  const segs = opts.series.map((s) => segments(s, logX, logY));
  const xs: number[] = [];
  const ys: number[] = hLines.map((h) => h.y);
  for (const [x, y] of segs.flatMap((s) => s.runs.flat())) {
    xs.push(x);
    ys.push(y);
  }
  const skipped = segs.reduce((n, s) => n + s.nonPositive, 0);
  const dropped = (opts.hLines ?? []).length - hLines.length;
  const note = [
    skipped > 0 && `${skipped} point${skipped === 1 ? '' : 's'} with ${[logX && 'x', logY && 'y'].filter(Boolean).join(' or ')} ≤ 0 not shown (log axis)`,
    dropped > 0 && `${dropped} reference line${dropped === 1 ? '' : 's'} not shown (y not finite${logY ? ' or ≤ 0' : ''})`,
  ].filter(Boolean).join('; ');

  // Layout: y axis first (its labels set the left margin), then the x axis in the width that is left.
  const top = topMargin(opts.title);
  const bottom = 8 + 5 + FONT + 4 + (opts.xLabel ? 20 : 0) + (note ? 16 : 0);
  const yAxis = makeAxis(ys, logY, Math.max(2, Math.min(8, Math.floor((height - top - bottom) / 45))), Y_PAD);
  const left = (opts.yLabel ? 26 : 8) + maxLabelWidth(yAxis) + 10;
  const maxChars = Math.max(4, Math.floor((0.35 * width - 58) / textWidth('m')));
  const names = opts.series.map((s) => clip(s.name, maxChars));
  const legendW = 16 + 24 + 6 + Math.max(...names.map((n) => textWidth(n))) + 10;
  const box: Box = { x0: left, y0: top, x1: width - legendW, y1: height - bottom };
  if (box.x1 - box.x0 < 40 || box.y1 - box.y0 < 40) {
    throw new TensorError(OP, `${width}×${height} px leaves no room for the plot area (margins ${coord(left)}+${coord(legendW)} px, ${coord(top)}+${coord(bottom)} px)`);
  }
  const xTarget = Math.max(2, Math.min(10, Math.floor((box.x1 - box.x0) / (maxLabelWidth(makeAxis(xs, logX)) + 40))));
  const xAxis = makeAxis(xs, logX, xTarget);

  const body: string[] = [...drawYAxis(yAxis, box), ...drawXAxis(xAxis, box)];
  for (const h of hLines) {
    const y = py(yAxis, box, h.y);
    body.push(el('line', { x1: box.x0, y1: y, x2: box.x1, y2: y, stroke: '#777777', 'stroke-dasharray': '3 3' }));
    const halo = { stroke: '#ffffff', 'stroke-width': 3, 'paint-order': 'stroke', fill: '#555555', 'font-size': FONT - 1 };
    body.push(text(box.x1 - 4, y - 4, h.label, { 'text-anchor': 'end', ...halo }));
  }
  segs.forEach(({ runs }, i) => {
    const st = seriesStyle(i, opts.series[i].dashed);
    const tag = { class: 'series', 'data-name': opts.series[i].name };
    for (const run of runs) {
      const pts = run.map(([x, y]) => [px(xAxis, box, x), py(yAxis, box, y)]);
      if (pts.length === 1) {
        const [x, y] = pts[0];
        const d = `M${coord(x - DOT)} ${coord(y)}a${DOT} ${DOT} 0 1 0 ${2 * DOT} 0a${DOT} ${DOT} 0 1 0 ${-2 * DOT} 0Z`;
        body.push(el('path', { ...tag, d, fill: st.color, stroke: 'none' }));
      } else {
        const d = pts.map(([x, y], k) => `${k === 0 ? 'M' : 'L'}${coord(x)} ${coord(y)}`).join('');
        const line = { fill: 'none', stroke: st.color, 'stroke-width': 2, 'stroke-linejoin': 'round', 'stroke-dasharray': st.dash };
        body.push(el('path', { ...tag, d, ...line }));
      }
    }
  });
  body.push(frame(box));

  // Legend: right of the plot area, so it never covers data.
  names.forEach((n, i) => {
    const st = seriesStyle(i, opts.series[i].dashed);
    const [lx, ly] = [box.x1 + 16, box.y0 + 10 + i * 18];
    body.push(el('line', { x1: lx, y1: ly, x2: lx + 24, y2: ly, stroke: st.color, 'stroke-width': 2.5, 'stroke-dasharray': st.dash }));
    body.push(text(lx + 30, ly + FONT * 0.35, n, { fill: '#333333' }));
  });
  const xLabelY = box.y1 + 5 + FONT + 20;
  body.push(...drawTitles(opts, box, xLabelY, 16));
  if (note) body.push(text(box.x0, height - 6, note, { 'font-size': FONT - 2, 'font-style': 'italic', fill: '#666666' }));
  return svgDoc(width, height, body);
}
