// The browser benchmark page: Unfold and TensorFlow.js contenders side by side in one page, built
// from the Node suite's own definitions (benchmarks/src: workloads, shared weights, the float64
// reference, the Unfold contender and the tfjs model). The runner (run.ts) drives it through
// puppeteer: prepare() proves the workload (same weights → same loss and gradients) and warms
// up, time() runs one contender's share of timed repetitions; the runner interleaves the shares.
import { backendInfo, poolReady, setBackend, setThreads } from '@unfold/tensor';
import { Contender, Instance } from '../../../benchmarks/src/harness/contender';
import { Formulation, referenceLoss } from '../../../benchmarks/src/harness/reference';
import { relDiff } from '../../../benchmarks/src/harness/stats';
import { tfjsContender } from '../../../benchmarks/src/tfjs/model';
import { unfoldContender } from '../../../benchmarks/src/unfold';
import { StateDict, Workload, makeBatch, sharedWeights } from '../../../benchmarks/src/workloads';
import { TfBackend, webglRenderer } from './tfjs-backend';
import { BenchApi, Mode, PAGE_CONTENDERS, PageContender, PageInfo, PrepareOptions, PrepareResult, ProofResult } from './protocol';

type Tfjs = (b: TfBackend) => Contender;

/** A contender by page name. 'unfold-wasm-2t' waits for its Web Workers (they start asynchronously in a page). */
function contender(name: PageContender): Contender {
  if (name === 'tfjs-wasm') return tfjsContender('wasm');
  if (name === 'tfjs-webgl') return { ...(tfjsContender as Tfjs)('webgl'), name: 'tfjs-webgl' as Contender['name'] };
  const c = unfoldContender(name);
  if (name !== 'unfold-wasm-2t') return c;
  return {
    ...c,
    async activate() {
      setBackend('wasm');
      setThreads(2);
      const r = await poolReady();
      if (r.threads < 2) throw new Error(`unfold-wasm-2t: ${r.reason || 'the pool did not start'}`);
      await c.activate();
    },
  };
}

/** The worst parameter: ‖a − b‖∞ / ‖b‖∞ over each named gradient (as benchmarks/src/harness/suite.ts). */
function gradDiff(a: StateDict, b: StateDict): { worst: number; name: string } {
  let worst = 0;
  let name = '';
  for (const n of Object.keys(b)) {
    const x = a[n]?.data;
    const y = b[n].data;
    if (!x || x.length !== y.length) return { worst: Infinity, name: `${n} (missing or ${x?.length ?? 0} ≠ ${y.length} values)` };
    let d = 0;
    let m = 0;
    for (let k = 0; k < y.length; k++) {
      d = Math.max(d, Math.abs(x[k] - y[k]));
      m = Math.max(m, Math.abs(y[k]));
    }
    const r = m === 0 ? d : d / m;
    if (!(r <= worst)) [worst, name] = [r, n];
  }
  return { worst, name };
}

function timeMs(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

const sci = (x: number): string => x.toExponential(1);
const fmt = (x: number): string => x.toFixed(6);

interface Live {
  contender: Contender;
  inst: Instance;
}
let live = new Map<PageContender, Live>();

function release(): void {
  for (const l of live.values()) l.inst.dispose();
  live = new Map();
}

/** Weights ×1.5 for the negative control: a contender given them must fail the proof. */
function corrupted(sd: StateDict): StateDict {
  const out: StateDict = {};
  for (const [n, t] of Object.entries(sd)) out[n] = { shape: t.shape, data: t.data.map((v) => v * 1.5) };
  return out;
}

/**
 * Phase 1 of the Node suite, in the page: each contender is built from the shared weights, its loss
 * on the batch is held against the float64 reference, its gradients against the first contender
 * of the same formulation, its loss after one Adam step against the first of the same formulation
 * and parameter split; then warm-up. A contender that fails is reported and not timed.
 */
async function prepare(w: Workload, names: PageContender[], opts: PrepareOptions): Promise<PrepareResult> {
  release();
  const sd = sharedWeights(w);
  const batch = makeBatch(w);
  const cs = names.map(contender);
  const forms = new Set<Formulation>(['pytorch', ...cs.map((c) => c.formulation(w))]);
  const reference: Partial<Record<Formulation, number>> = {};
  for (const f of forms) reference[f] = referenceLoss(w, sd, batch, f);
  const results: ProofResult[] = [];
  const grads: (StateDict | undefined)[] = [];
  for (const [k, c] of cs.entries()) {
    const name = names[k];
    const form = c.formulation(w);
    const r: ProofResult = { name, description: '', formulation: form, parameters: c.parameters, loss0: NaN, refRelDiff: NaN, pytorchRelDiff: NaN, loss1: NaN, warmTrainMs: NaN, warmInferMs: NaN, failure: '' };
    results.push(r);
    grads.push(undefined);
    try {
      await c.activate();
      const inst = await c.build(w, opts.corrupt === name ? corrupted(sd) : sd, batch);
      r.description = c.describe();
      r.loss0 = inst.evaluate();
      const ref = reference[form] as number;
      r.refRelDiff = relDiff(r.loss0, ref);
      r.pytorchRelDiff = relDiff(r.loss0, reference.pytorch as number);
      if (!(r.refRelDiff <= opts.tol)) {
        r.failure = `loss ${fmt(r.loss0)} on the shared weights and batch differs from the float64 ${form} reference ${fmt(ref)} by ${sci(r.refRelDiff)} (tolerance ${sci(opts.tol)}): not the same computation, not timed`;
        inst.dispose();
        continue;
      }
      grads[k] = inst.gradients?.();
      let stepLoss = NaN;
      r.warmTrainMs = timeMs(() => (stepLoss = inst.trainStep()));
      if (!(relDiff(stepLoss, r.loss0) <= opts.tol)) {
        r.failure = `trainStep returned ${fmt(stepLoss)} but evaluate gave ${fmt(r.loss0)} on the same weights and batch`;
        inst.dispose();
        continue;
      }
      r.warmInferMs = timeMs(() => (r.loss1 = inst.evaluate()));
      const [wt, wi] = opts.warmup[name] ?? [2, 3];
      for (let i = 1; i < wt; i++) r.warmTrainMs = timeMs(() => inst.trainStep());
      for (let i = 1; i < wi; i++) r.warmInferMs = timeMs(() => inst.evaluate());
      live.set(name, { contender: c, inst });
    } catch (e) {
      r.failure = `failed to run: ${(e as Error).message}`;
    }
  }
  // gradients at the shared weights agree between contenders of one formulation; losses after one
  // Adam step between contenders of one formulation and parameter split (the first such is the yardstick)
  for (const [i, r] of results.entries()) {
    if (r.failure) continue;
    const j = results.findIndex((q, k) => !q.failure && q.formulation === r.formulation && grads[k] !== undefined);
    if (grads[i] !== undefined && j >= 0) {
      const { worst, name } = j === i ? { worst: 0, name: '' } : gradDiff(grads[i] as StateDict, grads[j] as StateDict);
      r.gradRelDiff = worst;
      r.gradVs = results[j].name;
      if (!(worst <= opts.tol)) r.failure = `gradient of ${name} differs from ${results[j].name}'s by ${sci(worst)} (‖Δg‖∞/‖g‖∞, tolerance ${sci(opts.tol)})`;
    }
    const m = results.findIndex((q) => !q.failure && q.formulation === r.formulation && q.parameters === r.parameters);
    if (!r.failure && m >= 0 && m !== i) {
      const d = relDiff(r.loss1, results[m].loss1);
      if (!(d <= opts.tol)) r.failure = `loss after one Adam step ${fmt(r.loss1)} differs from ${results[m].name}'s ${fmt(results[m].loss1)} by ${sci(d)} (tolerance ${sci(opts.tol)}): the updates differ`;
    }
    if (r.failure) {
      live.get(r.name)?.inst.dispose();
      live.delete(r.name);
    }
  }
  return { reference, contenders: results };
}

/** One contender's share of timed repetitions: ms per training step or per inference pass. */
async function time(name: PageContender, mode: Mode, n: number): Promise<number[]> {
  const l = live.get(name);
  if (!l) throw new Error(`time: ${name} is not prepared (or failed its proof)`);
  await l.contender.activate();
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(timeMs(() => (mode === 'train' ? l.inst.trainStep() : l.inst.evaluate())));
  return out;
}

function info(): PageInfo {
  setBackend('wasm');
  const b = backendInfo();
  return {
    userAgent: navigator.userAgent,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    hardwareConcurrency: navigator.hardwareConcurrency,
    webgl: webglRenderer(),
    unfold: { gemm: b.gemm, fma: b.fma, fallback: b.fallback },
    contenders: [...PAGE_CONTENDERS],
  };
}

const api: BenchApi = { info, prepare, time, release };
(globalThis as unknown as { unfoldBench: BenchApi }).unfoldBench = api;
document.body.dataset.ready = '1';
