// Colours: a categorical palette for series and a sequential scale for heatmaps.

/**
 * Okabe–Ito, the colour-blind-safe palette (Wong, Nature Methods 2011), ordered so the first
 * three (the RNN/LSTM/GRU comparison) differ in hue and lightness. Yellow is last: weak on white.
 */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];

/** Colour and dash pattern for series i; past the palette, colours repeat with a dash so lines stay distinct. */
export function seriesStyle(i: number, dashed = false): { color: string; dash?: string } {
  const color = PALETTE[i % PALETTE.length];
  const cycle = Math.floor(i / PALETTE.length);
  const dash = dashed ? '7 4' : cycle === 0 ? undefined : ['7 4', '2 3', '10 3 2 3'][(cycle - 1) % 3];
  return dash === undefined ? { color } : { color, dash };
}

/** Viridis sampled at 9 evenly spaced points (matplotlib's _viridis_data); interpolated linearly in sRGB. */
const VIRIDIS = ['#440154', '#472c7a', '#3b518b', '#2c718e', '#21908d', '#27ad81', '#5cc863', '#aadc32', '#fde725'].map(hexRgb);

/** Grey for cells with no colour (NaN, ±Inf, or ≤ 0 on a log colour scale): not a viridis hue. */
export const MISSING = '#c8c8c8';

function hexRgb(h: string): [number, number, number] {
  return [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)) as [number, number, number];
}

/** Viridis at t ∈ [0, 1] (clamped): dark purple (low) → yellow (high), monotone in lightness. */
export function viridis(t: number): string {
  const u = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(u));
  const f = u - i;
  const [a, b] = [VIRIDIS[i], VIRIDIS[i + 1]];
  return '#' + a.map((c, k) => Math.round(c + (b[k] - c) * f).toString(16).padStart(2, '0')).join('');
}
