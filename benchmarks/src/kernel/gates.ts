// The elementwise half of the fused cell steps: the WebAssembly SIMD gate kernels
// (packages/tensor/src/wasm/gates.ts) against the JS loops the cells run otherwise
// (lstmGatesForward/Backward, gruGatesForward/Backward of packages/rnn/src/cells/fused-*.ts), at B = 32.
// Operands already sit in wasm memory (no copies timed); ns/element is per (b, j) of the
// [B,H] state, i.e. per hidden unit with all of its gates.
// Run: npx tsc -b && node benchmarks/dist/kernel/gates.js
import { Mat, gruGatesBackward, gruGatesForward, lstmGatesBackward, lstmGatesForward } from '@unfold/rnn';
import { bestOf7, observe } from './time';

import { GateKernels, gatesModuleBytes } from '@unfold/tensor/kernels';

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

// ---- operands in wasm memory, and views of the same bytes for the JS side ------------------

/** A contiguous [rows, ld] operand as the cells' loops read it. */
const m = (d: Float32Array, ld: number): Mat => ({ d, o: 0, ld });

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
      ['lstm forward', () => lstmGatesForward(B, H, actV, m(cV, H), hOV, cOV, tcV), () => k.lstmForward(B, H, act, c, H, hO, cO, tc)],
      [
        'lstm backward',
        () => lstmGatesBackward(B, H, lstmBwAct[1], m(cV, H), tcV, m(dhV, H), m(dcV, H), daV, dcPV),
        () => k.lstmBackward(B, H, lstmBwAct[0], c, H, tc, dh, H, dc, H, 3, da, dcP),
      ],
      ['gru forward', () => gruGatesForward(B, H, gactV, m(xpV, 3 * H), m(hV, H), hOV), () => k.gruForward(B, H, gact, xp, 3 * H, h, H, hO)],
      ['gru backward', () => gruGatesBackward(B, H, gbActV, m(hV, H), m(dhV, H), dxV, gdhV, dpV), () => k.gruBackward(B, H, gbAct, h, H, dh, H, dx, gdh, dp)],
    ];
    for (const [kernel, js, wa] of cases) {
      const tJs = bestOf7(js);
      const tWasm = bestOf7(wa);
      observe(hOV[0] + daV[0] + dxV[0] + actV[0]);
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
}
