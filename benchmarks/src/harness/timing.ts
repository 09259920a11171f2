// How many repetitions a contender gets: enough to fill a time budget, within [min, max].
import { performance } from 'perf_hooks';

export function timeMs(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

export async function timeMsAsync(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export interface RepPolicy {
  /** Untimed runs first (JIT, allocator, XNNPACK weight packing, Adam's first-step buffers); the proof's runs count. */
  warmup: number;
  /** Seconds of timed runs wanted per contender, workload and mode. */
  budgetS: number;
  minReps: number;
  maxReps: number;
  /** Set for a contender whose repetitions are cut below the usual minimum (it is too slow): reported. */
  reduced: boolean;
}

/** Timed repetitions for one contender, from the duration of its last warm-up run. */
export function planReps(p: RepPolicy, warmMs: number): number {
  const wanted = Math.round((p.budgetS * 1000) / Math.max(warmMs, 1e-3));
  return Math.min(p.maxReps, Math.max(p.minReps, wanted));
}

/** Splits n repetitions into `rounds` blocks, as evenly as possible (the first blocks take the remainder). */
export function splitReps(n: number, rounds: number): number[] {
  const r = Math.max(1, Math.min(rounds, n));
  return Array.from({ length: r }, (_, i) => Math.floor(n / r) + (i < n % r ? 1 : 0));
}
