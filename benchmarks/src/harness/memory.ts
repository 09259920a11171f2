// Process memory around a contender's model: rss and JS-owned bytes (V8 heap + ArrayBuffers,
// where typed arrays live) before the model is built versus the largest value sampled after
// each forward/step. Sampling happens between steps, so garbage created inside a step and
// collected before it returns is not seen: these are lower bounds on the true peak.
import * as v8 from 'v8';
import * as vm from 'vm';

let gcFn: (() => void) | null | undefined;

/** A full GC when the runtime allows one (--expose-gc, switched on here at run time). */
export function collectGarbage(): void {
  if (gcFn === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      gcFn = vm.runInNewContext('gc') as () => void;
    } catch {
      gcFn = null;
    }
  }
  gcFn?.();
}

export interface MemDelta {
  /** Peak rss − rss before the model was built (bytes). */
  rss: number;
  /** Peak (heapUsed + arrayBuffers) − the same before (bytes). */
  js: number;
}

const jsBytes = (m: NodeJS.MemoryUsage): number => m.heapUsed + m.arrayBuffers;

export class PeakTracker {
  private readonly base: NodeJS.MemoryUsage;
  private peak: MemDelta = { rss: 0, js: 0 };

  /** Collects garbage, then takes the baseline. */
  constructor() {
    collectGarbage();
    this.base = process.memoryUsage();
  }

  sample(): void {
    const m = process.memoryUsage();
    this.peak.rss = Math.max(this.peak.rss, m.rss - this.base.rss);
    this.peak.js = Math.max(this.peak.js, jsBytes(m) - jsBytes(this.base));
  }

  result(): MemDelta {
    return { ...this.peak };
  }
}
