// Axis domains and ticks: 1-2-5 steps on linear axes, decades (10^k) on log axes.
import { fmtNum, pow10Label } from './svg';

/** 10^k exactly as written: 10 ** -5 is 0.000009999999999999999, Number('1e-5') is 1e-5. */
export const decade = (k: number): number => Number(`1e${k}`);

export interface Tick {
  value: number;
  label: string;
}

/** A numeric axis: domain [lo, hi] (lo < hi, both > 0 when log), labelled and minor ticks. */
export interface Axis {
  lo: number;
  hi: number;
  log: boolean;
  ticks: Tick[];
  minor: number[];
}

/** Step from {1, 2, 5} × 10^k nearest above span/target: span 7, target 5 → 2. */
export function niceStep(span: number, target: number): number {
  const raw = span / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  return (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * mag;
}

/** Multiples of a nice step inside [lo, hi], rounded so 0.1·3 prints as 0.3. */
export function linearTicks(lo: number, hi: number, target = 5): number[] {
  const step = niceStep(hi - lo, target);
  if (!(step > 0) || !Number.isFinite(step)) return lo === hi ? [lo] : [lo, hi];
  // Capped and de-duplicated: when hi - lo is ~1 ulp of lo, i is past 2^53 and i++ stops moving.
  const out: number[] = [];
  const i0 = Math.ceil(lo / step - 1e-9);
  for (let j = 0; j < 50 && (i0 + j) * step <= hi + step * 1e-9; j++) {
    const v = Number(((i0 + j) * step).toPrecision(12));
    if (!Number.isFinite(v)) break; // near ±MAX_VALUE, hi + step·1e-9 is already ∞
    if (out[out.length - 1] !== v) out.push(v);
  }
  return out.length > 0 ? out : [lo, hi];
}

/**
 * Ticks on a log axis over [lo, hi] (both > 0). Three or more decades inside: every s-th decade with
 * s ∈ {1,2,3,5,10,…} so that at most ~target are labelled (labels 10^k). Less than that: 1-2-5 × 10^k,
 * and failing those, linear ticks placed on the log axis.
 */
export function logTicks(lo: number, hi: number, target = 6): Tick[] {
  const k0 = Math.ceil(Math.log10(lo) - 1e-9);
  const k1 = Math.floor(Math.log10(hi) + 1e-9);
  if (k1 - k0 + 1 >= 3) {
    const n = k1 - k0 + 1;
    const s = [1, 2, 3, 5, 10, 20, 25, 50, 100].find((c) => Math.ceil(n / c) <= target) ?? Math.ceil(n / target);
    const out: Tick[] = [];
    for (let k = k0; k <= k1; k++) if (((k % s) + s) % s === 0) out.push({ value: decade(k), label: pow10Label(k) });
    return out;
  }
  const out: number[] = [];
  for (let k = k0 - 1; k <= k1; k++) {
    for (const m of [1, 2, 5]) {
      const v = Number((m * decade(k)).toPrecision(12));
      if (Number.isFinite(v) && v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v); // hi·(1 + 1e-9) may be ∞
    }
  }
  const vs = out.length >= 2 ? out : linearTicks(lo, hi, 4).filter((v) => v > 0);
  return vs.map((v) => ({ value: v, label: fmtNum(v) }));
}

/** 2·10^k … 9·10^k inside [lo, hi] when each decade is labelled; none otherwise (they would crowd). */
function logMinor(lo: number, hi: number, ticks: Tick[]): number[] {
  const decades = ticks.filter((t) => Number.isInteger(Math.log10(t.value)));
  if (decades.length < 2 || decades.length !== ticks.length || Math.log10(decades[1].value / decades[0].value) > 1.001) return [];
  const out: number[] = [];
  for (let k = Math.floor(Math.log10(lo)); k < Math.ceil(Math.log10(hi)); k++) {
    for (let m = 2; m <= 9; m++) if (m * decade(k) > lo && m * decade(k) < hi) out.push(m * decade(k));
  }
  return out;
}

/** A range around a constant v: v ± |v|/10 (0 → [-1, 1]), or v ×/÷ √10 on a log axis; clamped to finite doubles. */
function padConstant(v: number, log: boolean): [number, number] {
  const M = Number.MAX_VALUE;
  if (log) return [Math.max(v / Math.sqrt(10), Number.MIN_VALUE), Math.min(v * Math.sqrt(10), M)];
  const pad = Math.abs(v) / 10;
  // (a pad in the denormals would make a span that axisFrac's halving underflows: use ±1 there)
  return pad > 1e-300 ? [Math.max(v - pad, -M), Math.min(v + pad, M)] : [v - 1, v + 1];
}

/**
 * An axis over exactly [lo, hi] (a colour bar's: every colour is used). Ticks fall inside;
 * a constant is padded to v ± |v|/10, or ×/÷ √10 on a log axis.
 */
export function tightAxis(lo: number, hi: number, log: boolean, target = 5): Axis {
  if (lo === hi) [lo, hi] = padConstant(lo, log);
  const ticks = log ? logTicks(lo, hi, target) : linearTicks(lo, hi, target).map((v) => ({ value: v, label: fmtNum(v) }));
  return { lo, hi, log, ticks, minor: log ? logMinor(lo, hi, ticks) : [] };
}

/**
 * An axis covering `values` (non-finite ones ignored; on a log axis also values ≤ 0), widened by
 * `pad` × its span on each side (in decades on a log axis) so data does not sit on the frame.
 * Linear: then extended to the nearest tick multiples. Log: kept as is, like matplotlib; ticks are the
 * decades inside. A constant is padded (see padConstant); no usable values give [0, 1] or [1, 10].
 */
export function makeAxis(values: Iterable<number>, log: boolean, target = 6, pad = 0): Axis {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v) || (log && v <= 0)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const M = Number.MAX_VALUE;
  if (!(lo <= hi)) [lo, hi] = log ? [1, 10] : [0, 1];
  // A span below ~1e-12 of the values cannot be labelled apart in 12 significant digits (ticks
  // and the rounded ends would coincide, 0/0 in axisFrac): drawn as a constant.
  // (also below 1e-300 in absolute terms: halving such a span in axisFrac underflows to 0/0)
  else if (lo === hi || (log ? Math.log10(hi) - Math.log10(lo) <= 1e-12 : hi - lo <= Math.max(1e-12 * Math.max(Math.abs(lo), Math.abs(hi)), 1e-300))) {
    [lo, hi] = padConstant(lo / 2 + hi / 2, log);
  }
  else if (pad > 0 && log) {
    const f = 10 ** (pad * (Math.log10(hi) - Math.log10(lo))); // log10 of each: hi/lo may overflow
    [lo, hi] = [Math.max(lo / f, Number.MIN_VALUE), Math.min(hi * f, M)];
  } else if (pad > 0) {
    const p = (hi / 2 - lo / 2) * 2 * pad; // halved first: hi - lo may overflow
    [lo, hi] = [Math.max(lo - p, -M), Math.min(hi + p, M)];
  }
  if (log) {
    const ticks = logTicks(lo, hi, target);
    return { lo, hi, log, ticks, minor: logMinor(lo, hi, ticks) };
  }
  const step = niceStep(hi - lo, target);
  if (Number.isFinite(step) && step > 0) {
    const L = Math.floor(lo / step + 1e-9) * step;
    const H = Math.ceil(hi / step - 1e-9) * step;
    const [Lr, Hr] = [Number(L.toPrecision(12)), Number(H.toPrecision(12))];
    if (Number.isFinite(Lr) && Number.isFinite(Hr) && Lr < Hr) [lo, hi] = [Lr, Hr];
  }
  const ticks = linearTicks(lo, hi, target).map((v) => ({ value: v, label: fmtNum(v) }));
  return { lo, hi, log, ticks, minor: [] };
}

/** Position of v along the axis as a fraction in [0, 1] (outside for out-of-range values). */
export function axisFrac(a: Axis, v: number): number {
  if (a.log) return (Math.log10(v) - Math.log10(a.lo)) / (Math.log10(a.hi) - Math.log10(a.lo));
  return (v / 2 - a.lo / 2) / (a.hi / 2 - a.lo / 2); // halved: ±1e308 spans must not overflow to ∞/∞
}
