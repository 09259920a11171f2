// The timing loop of the kernel micro-benchmarks.
import { Tensor } from '@unfold/tensor';

let sink = 0;

/**
 * Nanoseconds per call of fn: best of 7 batches (the machine is shared, so the minimum is the
 * least-disturbed figure), each batch ≈ 40 ms after a warm-up long enough for TurboFan to
 * optimise the kernel. A Tensor or number fn returns is kept observable (never optimised away).
 */
export function bestOf7(fn: () => unknown): number {
  const t0 = process.hrtime.bigint();
  let reps = 0;
  while (Number(process.hrtime.bigint() - t0) < 100e6) {
    fn();
    reps++;
  }
  const perBatch = Math.max(1, Math.round(reps * 0.4));
  let best = Infinity;
  for (let b = 0; b < 7; b++) {
    const s = process.hrtime.bigint();
    for (let r = 0; r < perBatch; r++) {
      const y = fn();
      if (y instanceof Tensor) sink += y.data[0];
      else if (typeof y === 'number') sink += y;
    }
    best = Math.min(best, Number(process.hrtime.bigint() - s) / perBatch);
  }
  return best;
}

/** Uses every result the timed calls produced, so none of them can be optimised away. */
export function observe(x: number): void {
  sink += x;
  if (sink === 42) console.log('');
}
