// The elementwise half of the fused cell steps: the WebAssembly SIMD gate kernels
// (packages/tensor/src/wasm/gates.ts) against the JS loops of packages/rnn/src/cells/fused-*.ts
// (copied here verbatim over Float32Array, as they run on float32 tensors), at B = 32.
// Operands already sit in wasm memory (no copies timed); ns/element is per (b, j) of the
// [B,H] state, i.e. per hidden unit with all of its gates.
// Run: npx tsc -b && node benchmarks/dist/kernel/gates.js
import * as path from 'path';

type GatesLib = typeof import('../../../packages/tensor/src/wasm/gates');
// Not exported from '@unfold/tensor' (the package exports only '.'): loaded from its build.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { gatesModuleBytes } = require(path.resolve(__dirname, '../../../packages/tensor/dist/wasm/gates')) as GatesLib;
type GateKernels = import('../../../packages/tensor/src/wasm/gates').GateKernels;

interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Memory: new (desc: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export interface Row {
  kernel: string;
  B: number;
  H: number;
  jsNsPerElement: number;
  wasmNsPerElement: number;
  speedup: number;
}

let sink = 0;

/** Best of 7 batches of ≈ 40 ms after a 100 ms warm-up (the minimum is the least-disturbed figure). */
function time(fn: () => void): number {
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
    for (let r = 0; r < perBatch; r++) fn();
    best = Math.min(best, Number(process.hrtime.bigint() - s) / perBatch);
  }
  return best;
}

// ---- the JS loops (fused-lstm.ts / fused-gru.ts), contiguous operands ----------------------

function lstmForwardJs(B: number, H: number, a: Float32Array, cd: Float32Array, hn: Float32Array, cn: Float32Array, tc: Float32Array): void {
  const G4 = 4 * H;
  for (let b = 0; b < B; b++) {
    const r = b * G4;
    const cr = b * H;
    const s = b * H;
    for (let j = 0; j < H; j++) {
      let v = a[r + j];
      let e = Math.exp(-Math.abs(v));
      let q = 1 / (1 + e);
      const ig = v >= 0 ? q : e * q;
      v = a[r + H + j];
      e = Math.exp(-Math.abs(v));
      q = 1 / (1 + e);
      const fg = v >= 0 ? q : e * q;
      const gg = Math.tanh(a[r + 2 * H + j]);
      v = a[r + 3 * H + j];
      e = Math.exp(-Math.abs(v));
      q = 1 / (1 + e);
      const og = v >= 0 ? q : e * q;
      a[r + j] = ig;
      a[r + H + j] = fg;
      a[r + 2 * H + j] = gg;
      a[r + 3 * H + j] = og;
      const cv = fg * cd[cr + j] + ig * gg;
      const t = Math.tanh(cv);
      cn[s + j] = cv;
      tc[s + j] = t;
      hn[s + j] = og * t;
    }
  }
}

function lstmBackwardJs(
  B: number, H: number, a: Float32Array, cd: Float32Array, tc: Float32Array, dh: Float32Array, dcn: Float32Array, g: Float32Array, dc0: Float32Array,
): void {
  const G4 = 4 * H;
  for (let b = 0; b < B; b++) {
    const r = b * G4;
    const s = b * H;
    for (let j = 0; j < H; j++) {
      const ig = a[r + j], fg = a[r + H + j], gg = a[r + 2 * H + j], og = a[r + 3 * H + j];
      const t = tc[s + j];
      const dhv = dh[s + j];
      const dc = dcn[s + j] + dhv * og * (1 - t * t);
      g[r + j] = dc * gg * ig * (1 - ig);
      g[r + H + j] = dc * cd[s + j] * fg * (1 - fg);
      g[r + 2 * H + j] = dc * ig * (1 - gg * gg);
      g[r + 3 * H + j] = dhv * t * og * (1 - og);
      dc0[s + j] = dc * fg;
    }
  }
}

function gruForwardJs(B: number, H: number, a: Float32Array, x: Float32Array, hd: Float32Array, hn: Float32Array): void {
  const W4 = 4 * H;
  for (let b = 0; b < B; b++) {
    const r = b * W4;
    const xr = b * 3 * H;
    const hr = b * H;
    const s = b * H;
    for (let j = 0; j < H; j++) {
      let v = x[xr + j] + a[r + j];
      let e = Math.exp(-Math.abs(v));
      let q = 1 / (1 + e);
      const rg = v >= 0 ? q : e * q;
      v = x[xr + H + j] + a[r + H + j];
      e = Math.exp(-Math.abs(v));
      q = 1 / (1 + e);
      const zg = v >= 0 ? q : e * q;
      const ng = Math.tanh(x[xr + 2 * H + j] + rg * a[r + 2 * H + j]);
      a[r + j] = rg;
      a[r + H + j] = zg;
      a[r + 3 * H + j] = ng;
      hn[s + j] = ng + zg * (hd[hr + j] - ng);
    }
  }
}

function gruBackwardJs(B: number, H: number, a: Float32Array, hd: Float32Array, dy: Float32Array, dx: Float32Array, dh: Float32Array, dp: Float32Array): void {
  const G3 = 3 * H;
  const W4 = 4 * H;
  for (let b = 0; b < B; b++) {
    const r = b * W4;
    const q = b * G3;
    const s = b * H;
    for (let j = 0; j < H; j++) {
      const rg = a[r + j], zg = a[r + H + j], pn = a[r + 2 * H + j], ng = a[r + 3 * H + j];
      const d = dy[s + j];
      dh[s + j] = d * zg;
      const dan = d * (1 - zg) * (1 - ng * ng);
      const dar = dan * pn * rg * (1 - rg);
      const daz = d * (hd[s + j] - ng) * zg * (1 - zg);
      dx[q + j] = dar;
      dx[q + H + j] = daz;
      dx[q + 2 * H + j] = dan;
      dp[q + j] = dar;
      dp[q + H + j] = daz;
      dp[q + 2 * H + j] = dan * rg;
    }
  }
}

// ---- operands in wasm memory, and views of the same bytes for the JS side ------------------

class Heap {
  private top = 4096;
  constructor(readonly buffer: ArrayBuffer) {}
  /** n floats, uniform in [lo, hi): its byte address and a view. */
  take(n: number, lo = -3, hi = 3): [number, Float32Array] {
    const addr = this.top;
    this.top += 4 * Math.ceil(n / 16) * 16;
    const v = new Float32Array(this.buffer, addr, n);
    for (let i = 0; i < n; i++) v[i] = lo + (hi - lo) * Math.random();
    return [addr, v];
  }
}

export function gatesBench(B = 32, Hs: readonly number[] = [128, 256]): Row[] {
  const memory = new wasm.Memory({ initial: 256 });
  const k = new wasm.Instance(new wasm.Module(gatesModuleBytes()), { env: { memory } }).exports as unknown as GateKernels;
  const rows: Row[] = [];
  for (const H of Hs) {
    const heap = new Heap(memory.buffer);
    const n = B * H;
    const [act, actV] = heap.take(4 * n);
    const [c, cV] = heap.take(n);
    const [hO, hOV] = heap.take(n);
    const [cO, cOV] = heap.take(n);
    const [tc, tcV] = heap.take(n, -1, 1);
    const [dh, dhV] = heap.take(n);
    const [dc, dcV] = heap.take(n);
    const [da, daV] = heap.take(4 * n);
    const [dcP, dcPV] = heap.take(n);
    const [gact, gactV] = heap.take(4 * n);
    const [xp, xpV] = heap.take(3 * n);
    const [h, hV] = heap.take(n);
    const [gbAct, gbActV] = heap.take(4 * n, 0, 1);
    const [dx, dxV] = heap.take(3 * n);
    const [gdh, gdhV] = heap.take(n);
    const [dp, dpV] = heap.take(3 * n);
    const lstmBwAct = heap.take(4 * n, 0, 1);
    const cases: [string, () => void, () => void][] = [
      // Forward runs in place on act, as in the cell: repeated calls keep the values in (0, 1).
      ['lstm forward', () => lstmForwardJs(B, H, actV, cV, hOV, cOV, tcV), () => k.lstmForward(B, H, act, c, H, hO, cO, tc)],
      [
        'lstm backward',
        () => lstmBackwardJs(B, H, lstmBwAct[1], cV, tcV, dhV, dcV, daV, dcPV),
        () => k.lstmBackward(B, H, lstmBwAct[0], c, H, tc, dh, H, dc, H, 3, da, dcP),
      ],
      ['gru forward', () => gruForwardJs(B, H, gactV, xpV, hV, hOV), () => k.gruForward(B, H, gact, xp, 3 * H, h, H, hO)],
      ['gru backward', () => gruBackwardJs(B, H, gbActV, hV, dhV, dxV, gdhV, dpV), () => k.gruBackward(B, H, gbAct, h, H, dh, H, dx, gdh, dp)],
    ];
    for (const [kernel, js, wa] of cases) {
      const tJs = time(js);
      const tWasm = time(wa);
      sink += hOV[0] + daV[0] + dxV[0] + actV[0];
      rows.push({ kernel, B, H, jsNsPerElement: tJs / n, wasmNsPerElement: tWasm / n, speedup: tJs / tWasm });
    }
  }
  return rows;
}

export function formatRows(rows: Row[]): string {
  const lines = ['| kernel | B×H | JS ns/element | wasm ns/element | speed-up |', '|---|---|---:|---:|---:|'];
  for (const r of rows) {
    lines.push(`| ${r.kernel} | ${r.B}×${r.H} | ${r.jsNsPerElement.toFixed(2)} | ${r.wasmNsPerElement.toFixed(2)} | ${r.speedup.toFixed(1)}× |`);
  }
  return lines.join('\n');
}

if (require.main === module) {
  const rows = gatesBench();
  console.log(`node ${process.version}, float32, B = 32, best of 7 batches; element = one (b, j) with all its gates\n`);
  console.log(formatRows(rows));
  if (sink === 42) console.log(''); // keeps results observable
}
