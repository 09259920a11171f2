// The PyTorch contender without PyTorch: the wire format, the reading of torch's build
// configuration, and the proof step of the suite against a fake Python side (an Unfold model
// behind the same JSON protocol) — which must reject perturbed weights, a wrong loss and a
// wrong gradient, and accept the honest fake. One test runs the real torch_server.py when
// /usr/bin/python3 (or UNFOLD_PYTHON) can import torch, and says it is skipped otherwise.
import { spawnSync } from 'child_process';
import { Instance } from '../src/harness/contender';
import { referenceLoss } from '../src/harness/reference';
import { relDiff } from '../src/harness/stats';
import { SuiteConfig, gradDiff, runWorkload } from '../src/harness/suite';
import { timeMs } from '../src/harness/timing';
import { Transport, pythonPath } from '../src/torch/child';
import { torchContender } from '../src/torch/model';
import { Hello, WireArray, buildSettings, decodeStateDict, describeBlas, encodeStateDict, float32FromBase64, int32FromBase64, toBase64 } from '../src/torch/protocol';
import { unfoldContender } from '../src/unfold';
import { Cell, StateDict, Workload, makeBatch, sharedWeights } from '../src/workloads';

const tiny = (cell: Cell, layers = 1): Workload => ({ id: 'T', label: 'tiny', cell, hidden: 6, layers, vocab: 7, batch: 3, seq: 4, lr: 2e-3 });

// the first lines of torch.__config__.show() from Debian's python3-torch 1.13 on this machine (CXX_FLAGS shortened)
const CONFIG = `PyTorch built with:
  - GCC 12.2
  - Intel(R) MKL-DNN v2.6.3 (Git Hash N/A)
  - OpenMP 201511 (a.k.a. OpenMP 4.5)
  - LAPACK is enabled (usually provided by MKL)
  - Build settings: BLAS_INFO=generic, BUILD_TYPE=RelWithDebInfo, CXX_COMPILER=/usr/bin/c++, CXX_FLAGS=-Wdate-time -D_FORTIFY_SOURCE=2 -g -O2 -fopenmp -DUSE_XNNPACK -Wno-stringop-overflow, LAPACK_INFO=generic, PERF_WITH_AVX=1, TORCH_VERSION=1.13.0, USE_CUDA=OFF, USE_MKLDNN=ON, USE_OPENMP=ON, 
`;

const hello = (blas: Partial<Hello['blas']> = {}): Hello => ({
  torch: 'fake', python: '-', executable: 'fake', threads: 1, interopThreads: 1, config: CONFIG, parallel: '',
  blas: { mapped: [], resolved: {}, env: {}, ...blas },
});

describe('torch wire format', () => {
  it('state dicts and id arrays go there and back bit for bit', () => {
    const sd = sharedWeights(tiny('lstm', 2));
    const back = decodeStateDict(JSON.parse(JSON.stringify(encodeStateDict(sd))) as Record<string, WireArray>);
    for (const [n, v] of Object.entries(sd)) {
      expect(back[n].shape).toEqual(v.shape);
      expect(Array.from(back[n].data)).toEqual(Array.from(v.data));
    }
    const ids = Int32Array.from([0, 64, -1, 2 ** 31 - 1]);
    expect(Array.from(int32FromBase64(toBase64(ids)))).toEqual(Array.from(ids));
    // a view of a bigger buffer sends only its own bytes
    const big = new Float32Array([1, 2, 3, 4]);
    expect(Array.from(float32FromBase64(toBase64(big.subarray(1, 3))))).toEqual([2, 3]);
  });

  it('rejects a payload of the wrong size', () => {
    expect(() => float32FromBase64(Buffer.from([1, 2, 3]).toString('base64'), 'x')).toThrow('x has 3 bytes');
    const w = { a: { shape: [2, 2], data: toBase64(new Float32Array(3)) } };
    expect(() => decodeStateDict(w)).toThrow('a has 3 values for shape [2, 2] (4)');
  });
});

describe("torch's BLAS, read from its build configuration and the mapped libraries", () => {
  it('parses the Build settings line, CXX_FLAGS with its spaces included', () => {
    const s = buildSettings(CONFIG);
    expect(s.BLAS_INFO).toBe('generic');
    expect(s.LAPACK_INFO).toBe('generic');
    expect(s.USE_OPENMP).toBe('ON');
    expect(s.CXX_FLAGS).toBe('-Wdate-time -D_FORTIFY_SOURCE=2 -g -O2 -fopenmp -DUSE_XNNPACK -Wno-stringop-overflow');
    expect(buildSettings('no such line')).toEqual({});
  });

  it('names OpenBLAS when OpenBLAS is mapped, and says so when the library is the reference BLAS', () => {
    const lib = '/usr/lib/x86_64-linux-gnu/libblas.so.3';
    const ob = describeBlas(hello({ mapped: [lib], resolved: { [lib]: '/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3' }, openblasConfig: 'OpenBLAS 0.3.21 USE_OPENMP Haswell', openblasCore: 'Haswell', env: { OPENBLAS_CORETYPE: 'Haswell' } }));
    expect(ob).toBe('BLAS_INFO=generic; libblas.so.3 → /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3; OpenBLAS 0.3.21 USE_OPENMP Haswell (core Haswell); env OPENBLAS_CORETYPE=Haswell');
    const ref = describeBlas(hello({ mapped: [lib], resolved: { [lib]: '/usr/lib/x86_64-linux-gnu/blas/libblas.so.3' } }));
    expect(ref).toContain('reference BLAS? (/usr/lib/x86_64-linux-gnu/blas/libblas.so.3)');
    expect(describeBlas(hello())).toContain('no BLAS library found');
  });
});

type Fault = 'none' | 'weights' | 'loss' | 'gradient';

/** fc.weight × 1.5 and ±0.02 on alternate fc.bias entries: what a layout or loading mistake does. */
function perturb(sd: StateDict): StateDict {
  const out: StateDict = {};
  for (const [n, v] of Object.entries(sd)) out[n] = { shape: [...v.shape], data: v.data.slice() };
  out['fc.weight'].data.forEach((x, i, a) => (a[i] = 1.5 * x));
  out['fc.bias'].data.forEach((x, i, a) => (a[i] = x + (i % 2 ? 0.02 : -0.02)));
  return out;
}

/**
 * torch_server.py's protocol answered in-process by an Unfold (pure TypeScript) model, with one
 * fault injected on the "Python" side.
 */
class FakeTorch implements Transport {
  private readonly insts = new Map<number, Instance>();
  constructor(private readonly fault: Fault) {}

  async request(msg: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = msg.id as number;
    switch (msg.cmd) {
      case 'hello':
        return hello() as unknown as Record<string, unknown>;
      case 'build': {
        const wl = msg.workload as Pick<Workload, 'cell' | 'hidden' | 'layers' | 'vocab' | 'lr'>;
        const w: Workload = { ...wl, id: 'fake', label: '', seq: msg.T as number, batch: msg.B as number };
        let sd = decodeStateDict(msg.weights as Record<string, WireArray>);
        if (this.fault === 'weights') sd = perturb(sd);
        const c = unfoldContender('unfold-js');
        await c.activate();
        this.insts.set(id, await c.build(w, sd, { x: int32FromBase64(msg.x as string), y: int32FromBase64(msg.y as string), T: w.seq, B: w.batch }));
        return { ok: true };
      }
      case 'train':
      case 'infer': {
        const inst = this.insts.get(id) as Instance;
        const ms: number[] = [];
        const losses: number[] = [];
        for (let i = 0; i < (msg.reps as number); i++) {
          let l = NaN;
          ms.push(timeMs(() => (l = msg.cmd === 'train' ? inst.trainStep() : inst.evaluate())));
          losses.push(this.fault === 'loss' ? l * (1 + 1e-3) : l);
        }
        return { ms, losses };
      }
      case 'gradients': {
        const g = (this.insts.get(id) as Instance).gradients!();
        if (this.fault === 'gradient') g['rnn.weight_hh_l0'].data.forEach((x, i, a) => (a[i] = x * (1 + 1e-3)));
        return { grads: encodeStateDict(g) };
      }
      case 'memory':
        return { rssDelta: 0 };
      case 'dispose':
        this.insts.delete(id);
        return { ok: true };
      default:
        throw new Error(`fake torch: unknown command ${String(msg.cmd)}`);
    }
  }

  close(): void {}
}

const cfg: SuiteConfig = {
  tol: 1e-4,
  rounds: 2,
  policy: () => ({ warmup: 1, budgetS: 0, minReps: 2, maxReps: 2, reduced: false }),
  deadlineMs: Infinity,
  log: () => undefined,
};

describe('the proof step against a fake PyTorch (no Python involved)', () => {
  const w = tiny('lstm');

  it('the perturbation used below does change the loss beyond the tolerance (else the next test would prove nothing)', () => {
    const sd = sharedWeights(w);
    const b = makeBatch(w);
    expect(relDiff(referenceLoss(w, perturb(sd), b), referenceLoss(w, sd, b))).toBeGreaterThan(10 * cfg.tol);
  });

  it('accepts the honest fake: same loss, same gradients, self-timed repetitions', async () => {
    const r = await runWorkload(w, [unfoldContender('unfold-js'), await torchContender('pytorch-1t', new FakeTorch('none'))], cfg);
    expect(r.aborted).toBeUndefined();
    const t = r.results.find((x) => x.contender === 'pytorch-1t')!;
    expect(t.refRelDiff).toBeLessThan(1e-6);
    expect(t.gradRelDiff).toBeLessThan(1e-6);
    expect(t.train?.reps).toBe(2);
    expect(t.infer?.reps).toBe(2);
    expect(t.memory.jsDelta).toBeUndefined(); // its model is in another process: no Node-side figure
  });

  it.each([
    ['weights', /pytorch-1t: loss .* differs from the float64 pytorch reference .* not the same computation, not timed/],
    ['loss', /pytorch-1t: loss .* differs from the float64 pytorch reference/],
    ['gradient', /pytorch-1t: gradient of rnn\.weight_hh_l0 differs from unfold-js's by 1\.0e-3/],
  ] as [Fault, RegExp][])('rejects a contender with a wrong %s, and times nothing', async (fault, why) => {
    const r = await runWorkload(w, [unfoldContender('unfold-js'), await torchContender('pytorch-1t', new FakeTorch(fault))], cfg);
    expect(r.aborted).toMatch(why);
    expect(r.results.every((x) => x.train === undefined && x.infer === undefined)).toBe(true);
  });

  it('gradDiff is per parameter, relative to the second argument (the reference)', () => {
    const a: StateDict = { p: { shape: [2], data: Float32Array.from([1, 100]) }, q: { shape: [1], data: Float32Array.from([1e-3]) } };
    const b: StateDict = { p: { shape: [2], data: Float32Array.from([1.5, 100]) }, q: { shape: [1], data: Float32Array.from([2e-3]) } };
    // p: 0.5 / 100; q: 1e-3 / 2e-3 — the small parameter is not hidden by the big one
    expect(gradDiff(a, b).name).toBe('q');
    expect(gradDiff(a, b).worst).toBeCloseTo(0.5, 6);
    expect(gradDiff({ p: a.p }, b).worst).toBe(Infinity);
  });

  it('a Python side without torch becomes one line naming the interpreter', async () => {
    const broken: Transport = { request: async () => Promise.reject(new Error('cannot import torch: ModuleNotFoundError: No module named \'torch\'\nmore')), close: () => undefined };
    await expect(torchContender('pytorch-1t', broken)).rejects.toThrow(/^\S+ \(UNFOLD_PYTHON overrides\): cannot import torch: ModuleNotFoundError: No module named 'torch'$/);
  });
});

const torchOk = spawnSync(pythonPath(), ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
const realTitle = torchOk
  ? `real torch_server.py (${pythonPath()}): same loss and gradients as Unfold on a tiny model`
  : `real torch_server.py: SKIPPED — ${pythonPath()} cannot import torch (install python3-torch or set UNFOLD_PYTHON)`;

describe('PyTorch itself', () => {
  (torchOk ? it : it.skip).each(['lstm', 'gru', 'rnn'] as Cell[])(`${realTitle} [%s]`, async (cell) => {
    const w = tiny(cell, 2);
    const c = await torchContender('pytorch-1t');
    try {
      const r = await runWorkload(w, [unfoldContender('unfold-js'), c], cfg);
      expect(r.aborted).toBeUndefined();
      const t = r.results.find((x) => x.contender === 'pytorch-1t')!;
      expect(t.refRelDiff).toBeLessThan(1e-5);
      expect(t.gradRelDiff).toBeLessThan(1e-4);
      expect(relDiff(t.loss1, r.results[0].loss1)).toBeLessThan(1e-4); // one Adam step lands in the same place
    } finally {
      c.close();
    }
  }, 60_000);
});
