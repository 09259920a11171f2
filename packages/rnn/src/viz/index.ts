// Standalone SVG plots (plain data in, SVG string out): loss curves, gradient norms over t, heatmaps.
export { linePlot, LinePlotOptions, Series } from './line';
export { heatmap, HeatmapOptions } from './heatmap';
export { PALETTE, viridis } from './color';
export { Axis, Tick, makeAxis, tightAxis, linearTicks, logTicks, niceStep } from './scale';
export { esc, fmtNum } from './svg';
