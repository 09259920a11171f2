/**
 * Bytes an Unfold training step and inference pass allocate, per time step — so a regression
 * of issue 16's "zero allocations per time step" shows in `npm run bench`.
 *
 * What is counted: V8 has no allocation counter exposed to JavaScript in Node 20
 * (`v8.getHeapStatistics()` reports sizes, not allocations, and the sampling heap profiler
 * samples). But between two garbage collections the heap only grows, by exactly what was
 * allocated: so the pass runs in a separate Node process started with a fixed 64 MiB young
 * generation (--min-semi-space-size = --max-semi-space-size = 64), after two full GCs, and
 *   heap bytes        = Σ space_used_size over the heap spaces except code (JIT output is not the
 *                       program's allocation) after − before, minus the same for an empty pass;
 *   ArrayBuffer bytes = process.memoryUsage().arrayBuffers after − before (typed-array backing
 *                       stores live outside the V8 heap; views of the wasm arena allocate none).
 * A `gc` performance entry inside a measured pass would make the difference an underestimate:
 * those passes are dropped (`clean` of `passes` remain). The figure is the least of the rest:
 * a pass that runs a function the optimizing JIT has not (re)compiled yet allocates megabytes of
 * boxed doubles that the steady state does not; an allocation in the code itself is in every pass.
 * When every pass had a GC inside — V8 scavenges on "external memory pressure" once a pass has
 * allocated ≈ 64 MiB of ArrayBuffers, whatever the young generation's size — the heap figure
 * comes from the sampling heap profiler instead (node:inspector HeapProfiler.startSampling with
 * objects collected by minor and major GCs included, one sample per 512 bytes on average: an
 * estimate, `sampled: true`) and the ArrayBuffer figure is a lower bound (`lowerBound: true`).
 * Allocations of the thread pool's worker isolates (unfold-wasm-2t) are not included.
 *
 *   node --min-semi-space-size=64 --max-semi-space-size=64 --experimental-wasm-relaxed-simd \
 *     benchmarks/dist/alloc.js unfold-wasm-1t W1,W4        (prints JSON)
 * `measureAllocations` starts that process from the benchmark.
 */
import { spawnSync } from 'child_process';
import { Session } from 'inspector';
import { PerformanceObserver, performance } from 'perf_hooks';
import * as v8 from 'v8';
import { UNFOLD_NAMES, UnfoldName } from './harness/contender';
import { collectGarbage } from './harness/memory';
import { WORKLOADS, makeBatch, sharedWeights } from './workloads';

export interface AllocFigure {
  /** JS heap bytes allocated per time step (the least of the clean passes). */
  heapPerStep: number;
  /** ArrayBuffer bytes allocated per time step. */
  arrayBufferPerStep: number;
  /** Passes measured without a GC inside, of `passes`. */
  clean: number;
  passes: number;
  /** heapPerStep estimated by the sampling heap profiler (no clean pass). */
  sampled?: boolean;
  /** arrayBufferPerStep is what was still allocated after the GC inside the pass: a lower bound. */
  lowerBound?: boolean;
}

export interface AllocFigures {
  train: AllocFigure;
  infer: AllocFigure;
}

export const SEMI_SPACE_MIB = 64;
/**
 * Warm-up steps (train + infer) before the first workload's measurement, and before each later
 * one (the code is shared: once optimized for W1 it mostly stays so), and measured passes — fewer
 * for the pure-TypeScript backend, ~8× slower per step.
 */
const PLAN: Record<UnfoldName, { warmup: number; warmupNext: number; passes: number }> = {
  'unfold-js': { warmup: 12, warmupNext: 3, passes: 5 },
  'unfold-wasm-1t': { warmup: 12, warmupNext: 4, passes: 5 },
  'unfold-wasm-2t': { warmup: 12, warmupNext: 4, passes: 5 },
};

const heapBytes = (): number => {
  let s = 0;
  for (const sp of v8.getHeapSpaceStatistics()) if (!sp.space_name.startsWith('code')) s += sp.space_used_size;
  return s;
};

const medianOf = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export interface Window {
  t0: number;
  t1: number;
  heap: number;
  ab: number;
}

/** One measured call: two full GCs, the readings around fn. */
export function measured(fn: () => unknown): Window {
  collectGarbage();
  collectGarbage();
  const ab0 = process.memoryUsage().arrayBuffers;
  const h0 = heapBytes();
  const t0 = performance.now();
  fn();
  const t1 = performance.now();
  const h1 = heapBytes();
  const ab1 = process.memoryUsage().arrayBuffers;
  return { t0, t1, heap: h1 - h0, ab: ab1 - ab0 };
}

/** Bytes allocated on the JS heap by fn, collected or not, as the sampling heap profiler estimates them. */
async function sampledHeapBytes(fn: () => unknown): Promise<number> {
  const s = new Session();
  s.connect();
  const post = (m: string, p?: object): Promise<unknown> => new Promise((res, rej) => s.post(m, p, (e, r) => (e ? rej(e) : res(r))));
  try {
    await post('HeapProfiler.enable');
    await post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    fn();
    const { profile } = (await post('HeapProfiler.stopSampling')) as { profile: { head: Node } };
    interface Node { selfSize: number; children: Node[] }
    const total = (n: Node): number => n.selfSize + n.children.reduce((a, c) => a + total(c), 0);
    return total(profile.head);
  } finally {
    s.disconnect();
  }
}

/** Runs in the probe process: figures for one Unfold contender on the given workloads. */
export async function probe(name: UnfoldName, ids: string[], { warmup, warmupNext, passes } = PLAN[name]): Promise<Record<string, AllocFigures>> {
  const gcTimes: number[] = [];
  const obs = new PerformanceObserver((l) => l.getEntries().forEach((e) => gcTimes.push(e.startTime)));
  obs.observe({ entryTypes: ['gc'] });
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const c = (require('./unfold') as typeof import('./unfold')).unfoldContender(name);
  await c.activate();
  const out: Record<string, AllocFigures> = {};
  for (const w of WORKLOADS.filter((x) => ids.includes(x.id))) {
    const inst = await c.build(w, sharedWeights(w), makeBatch(w));
    // warm-up: until the optimizing JIT has compiled the hot loops, an interpreted loop boxes
    // every double it computes (16-byte HeapNumbers: megabytes per pass) — real allocations,
    // but not the steady state a regression should be judged on
    for (let i = 0; i < (Object.keys(out).length === 0 ? warmup : warmupNext); i++) {
      inst.trainStep();
      inst.evaluate();
    }
    const empty: Window[] = [];
    const runs: Record<'train' | 'infer', Window[]> = { train: [], infer: [] };
    for (let p = 0; p < passes; p++) {
      empty.push(measured(() => 0));
      runs.train.push(measured(() => inst.trainStep()));
      runs.infer.push(measured(() => inst.evaluate()));
    }
    await new Promise((r) => setTimeout(r, 20)); // gc entries arrive asynchronously
    const inside = (x: Window): boolean => gcTimes.some((t) => t >= x.t0 && t <= x.t1);
    const base = (k: 'heap' | 'ab'): number => medianOf(empty.filter((x) => !inside(x)).map((x) => x[k]));
    const fig = async (mode: 'train' | 'infer'): Promise<AllocFigure> => {
      const xs = runs[mode];
      // a negative ArrayBuffer reading is backing stores of earlier garbage freed by V8's background
      // sweeper inside the window, not an allocation figure: such a window is disturbed too
      const ok = xs.filter((x) => !inside(x) && x.ab >= 0);
      if (ok.length > 0) {
        return {
          heapPerStep: (Math.min(...ok.map((x) => x.heap)) - base('heap')) / w.seq,
          arrayBufferPerStep: (Math.min(...ok.map((x) => x.ab)) - base('ab')) / w.seq,
          clean: ok.length,
          passes: xs.length,
        };
      }
      const est: number[] = [];
      for (let p = 0; p < Math.min(3, passes); p++) est.push(await sampledHeapBytes(() => (mode === 'train' ? inst.trainStep() : inst.evaluate())));
      return {
        heapPerStep: Math.min(...est) / w.seq,
        arrayBufferPerStep: Math.max(...xs.map((x) => x.ab)) / w.seq,
        clean: 0,
        passes: xs.length,
        sampled: true,
        lowerBound: true,
      };
    };
    out[w.id] = { train: await fig('train'), infer: await fig('infer') };
    inst.dispose();
  }
  obs.disconnect();
  return out;
}

/** From the benchmark: starts the probe process for one contender; null (with the reason in `note`) if it failed. */
export function measureAllocations(name: UnfoldName, ids: string[]): { figures: Record<string, AllocFigures> | null; note: string } {
  const args = [`--min-semi-space-size=${SEMI_SPACE_MIB}`, `--max-semi-space-size=${SEMI_SPACE_MIB}`, '--experimental-wasm-relaxed-simd', __filename, name, ids.join(',')];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) return { figures: null, note: `allocation probe for ${name} failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`}): ${(r.stderr || '').trim().split('\n').slice(-1)[0] ?? ''}` };
  try {
    return { figures: JSON.parse(r.stdout.trim().split('\n').slice(-1)[0]) as Record<string, AllocFigures>, note: '' };
  } catch {
    return { figures: null, note: `allocation probe for ${name}: unreadable output` };
  }
}

if (require.main === module) {
  const [name, ids] = process.argv.slice(2);
  if (!UNFOLD_NAMES.includes(name as UnfoldName)) throw new Error(`alloc: contender ${name} is not one of ${UNFOLD_NAMES.join(', ')}`);
  probe(name as UnfoldName, (ids ?? WORKLOADS.map((w) => w.id).join(',')).split(','))
    .then((r) => {
      console.log(JSON.stringify(r));
      process.exit(0); // the 2-thread pool's workers would keep the process alive
    })
    .catch((e: unknown) => {
      console.error((e as Error).stack ?? e);
      process.exit(1);
    });
}
