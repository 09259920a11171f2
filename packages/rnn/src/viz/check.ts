// Argument checks shared by the plots; every error names the plot and the offending value.
import { TensorError } from '@unfold/tensor';

/** Width and height in pixels: finite, at least 160 × 120 so axes and labels fit. */
export function checkSize(op: string, width: unknown, height: unknown): { width: number; height: number } {
  for (const [k, v, min] of [['width', width, 160], ['height', height, 120]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new TensorError(op, `${k} must be a finite number >= ${min} (pixels), got ${String(v)}`);
  }
  return { width: width as number, height: height as number };
}

/** Optional text options must be strings (a number title would print, but a stray object would not). */
export function checkText(op: string, opts: Record<string, unknown>, keys: readonly string[]): void {
  for (const k of keys) {
    const v = opts[k];
    if (v !== undefined && typeof v !== 'string') throw new TensorError(op, `${k} must be a string, got ${typeof v}`);
  }
}

/** A numeric sequence (number[] or a typed array); returns its length. */
export function checkNumbers(op: string, what: string, v: unknown): number {
  const ok = Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
  if (!ok) throw new TensorError(op, `${what} must be an array of numbers, got ${v === null ? 'null' : typeof v}`);
  const a = v as ArrayLike<unknown>;
  for (let i = 0; i < a.length; i++) {
    if (typeof a[i] !== 'number') throw new TensorError(op, `${what}[${i}] must be a number, got ${typeof a[i]}`);
  }
  return a.length;
}
