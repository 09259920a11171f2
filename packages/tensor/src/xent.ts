import { TensorError, shapeStr } from './errors';
import { Tensor } from './tensor';
import { MAX_PAGES, addressOf, arenaAlloc, arenaFree, arenaIsShared, arenaMemory } from './wasm/arena';
import { noteFallback, sgemmFma, wasmActive } from './wasm/backend';
import { HeadKernels, headModuleBytes } from './wasm/head';

/**
 * Softmax cross-entropy over the rows of logits, the output head's second half (the first is
 * the logits GEMM). One kernel, two bodies with the same formulas: the wasm SIMD module of
 * ./wasm/head.ts for float32 when wasm is in use, the loop below for float64 and the js backend.
 */

/** What `softmaxCrossEntropyRows` writes for backward. */
export interface XentGrad {
  /** c_i: one factor for every row, or one per row ([N]; 0 masks a row: its dz is exactly 0). */
  scale: number | Float64Array;
  /** [V], overwritten with Σ_i dz_i (a linear layer's bias gradient for dy = 1). */
  colSum: Float64Array;
}

/**
 * z:[N, V] contiguous, targets:[N] class indices in [0, V), bias:[V] (optional: first z_ij += b_j, in place) →
 *   loss[i] = log Σ_j e^(z_ij − m_i) − (z_iy − m_i),  m_i = max_j z_ij     (= −log softmax(z_i)[y_i], float64)
 * and with `grad`, z is overwritten in place by
 *   dz_ij = c_i · (softmax(z_i)_j − [j = y_i]),   colSum_j = Σ_i dz_ij
 * A row of all −∞, or with +∞ or NaN in it, has a NaN loss (and NaN dz), as in PyTorch.
 * Float32 z on the wasm backend: m, Σ and e^x in float32 (vector exp ≤ 2 ulp), the log in float64.
 * For float32 z, z_iy − m_i is rounded to float32 on either path, as logSoftmax rounds it: logits
 * so far apart that the difference overflows give loss +∞ (a diverging run is seen as one).
 */
export function softmaxCrossEntropyRows(z: Tensor, targets: Int32Array, loss: Float64Array, grad?: XentGrad, bias?: Tensor | null): void {
  if (z.rank !== 2 || !z.isContiguous()) throw new TensorError('softmaxCrossEntropyRows', `logits must be a contiguous [N, V], got ${shapeStr(z.shape)}${z.rank === 2 ? ' (strided)' : ''}`);
  const [N, V] = z.shape;
  if (targets.length !== N) throw new TensorError('softmaxCrossEntropyRows', `${targets.length} targets for ${N} rows of logits ${shapeStr(z.shape)}`);
  if (loss.length < N) throw new TensorError('softmaxCrossEntropyRows', `loss buffer holds ${loss.length} values, needs ${N}`);
  for (let i = 0; i < N; i++) {
    const y = targets[i];
    if (!(y >= 0 && y < V)) throw new TensorError('softmaxCrossEntropyRows', `target ${y} at row ${i} is not a class index in [0, ${V})`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== V || bias.dtype !== z.dtype)) {
    throw new TensorError('softmaxCrossEntropyRows', `bias ${shapeStr(bias.shape)} ${bias.dtype} must be [${V}] ${z.dtype} for logits ${shapeStr(z.shape)}`);
  }
  if (grad) {
    if (grad.colSum.length !== V) throw new TensorError('softmaxCrossEntropyRows', `colSum holds ${grad.colSum.length} values, needs ${V}`);
    if (typeof grad.scale !== 'number' && grad.scale.length !== N) throw new TensorError('softmaxCrossEntropyRows', `${grad.scale.length} row scales for ${N} rows`);
  }
  if (N === 0 || V === 0) {
    grad?.colSum.fill(0);
    return;
  }
  const Z = z.data;
  const b = bias ? bias.contiguous() : null;
  const B = b ? b.data : null, bOff = b ? b.offset : 0;
  if (Z instanceof Float32Array && N * V >= MIN_WASM && xentWasm(Z, z.offset, N, V, targets, loss, grad, B as Float32Array | null, bOff)) return;
  xentJs(Z, z.offset, N, V, targets, loss, grad, B, bOff);
}

/** Below this many logits the call and the copies cost more than the loop. */
const MIN_WASM = 256;

function xentJs(
  Z: Float32Array | Float64Array, off: number, N: number, V: number, targets: Int32Array, loss: Float64Array, grad: XentGrad | undefined,
  B: Float32Array | Float64Array | null, bOff: number,
): void {
  const col = grad?.colSum;
  col?.fill(0);
  const f32 = Z instanceof Float32Array; // z − m rounded to float32, as the kernel (and logSoftmax) do: an overflow is +∞ there too
  for (let i = 0; i < N; i++) {
    const o = off + i * V;
    const y = targets[i];
    if (B) for (let j = 0; j < V; j++) Z[o + j] += B[bOff + j];
    const picked = Z[o + y];
    let m = -Infinity;
    for (let j = 0; j < V; j++) if (m < Z[o + j]) m = Z[o + j]; // NaN entries skipped: they reach s
    let s = 0;
    if (grad) {
      for (let j = 0; j < V; j++) s += Z[o + j] = Math.exp(Z[o + j] - m);
    } else {
      for (let j = 0; j < V; j++) s += Math.exp(Z[o + j] - m);
    }
    loss[i] = Math.log(s) - (f32 ? Math.fround(picked - m) : picked - m);
    if (!grad || !col) continue;
    const c = typeof grad.scale === 'number' ? grad.scale : grad.scale[i];
    if (c === 0) {
      Z.fill(0, o, o + V); // a masked row: no gradient, whatever its logits
      continue;
    }
    const r = c / s;
    for (let j = 0; j < V; j++) col[j] += Z[o + j] *= r;
    Z[o + y] -= c;
    col[y] -= c;
  }
}

// ---- wasm ---------------------------------------------------------------------------------

interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

let kernels: HeadKernels | null | undefined;
let kernelsFma = false;

/** The head kernel when float32 work goes to wasm (and the module instantiated), else null. */
export function headKernels(): HeadKernels | null {
  if (!wasmActive()) return null;
  const fma = sgemmFma(); // the exponentials fused where the GEMMs are
  if (kernels === undefined || (kernels !== null && kernelsFma !== fma)) {
    kernelsFma = fma;
    try {
      const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly as WasmApi;
      const bytes = headModuleBytes(arenaIsShared() ? { shared: true, maxPages: MAX_PAGES } : undefined, { fma });
      kernels = new api.Instance(new api.Module(bytes), { env: { memory: arenaMemory() } }).exports as unknown as HeadKernels;
    } catch (e) {
      kernels = null; // the JS loop stays correct, and the reason is told once
      noteFallback(`the output-head module did not instantiate: ${String(e)}`);
    }
  }
  return kernels;
}

// One arena block reused call after call: [targets i32 N][stats f32 3N][scales f32 N][col f32 V][z copy N·V].
let block = 0;
let blockBytes = 0;
let heapF: Float32Array<ArrayBufferLike> = new Float32Array(0);
let heapI: Int32Array<ArrayBufferLike> = new Int32Array(0);

const up4 = (n: number): number => (n + 3) & ~3;

function xentWasm(
  Z: Float32Array, off: number, N: number, V: number, targets: Int32Array, loss: Float64Array, grad: XentGrad | undefined,
  B: Float32Array | null, bOff: number,
): boolean {
  const k = headKernels();
  if (k === null) return false;
  const zAt = addressOf(Z);
  const bAt = B ? addressOf(B) : -1;
  const perRow = grad !== undefined && typeof grad.scale !== 'number';
  const floats = up4(N) + up4(3 * N) + (perRow ? up4(N) : 0) + 2 * up4(V) + (zAt < 0 ? N * V : 0);
  if (4 * floats > blockBytes) {
    if (block !== 0) arenaFree(block);
    blockBytes = Math.ceil(4 * floats * 1.25);
    block = arenaAlloc(blockBytes);
  }
  if (heapF.length * 4 < block + blockBytes || heapF.buffer.byteLength === 0) {
    const buf = arenaMemory().buffer;
    heapF = new Float32Array(buf);
    heapI = new Int32Array(buf);
  }
  const tgt = block >> 2;
  const stats = tgt + up4(N);
  const wts = stats + up4(3 * N);
  const col = wts + (perRow ? up4(N) : 0);
  const bc = col + up4(V); // the bias (zeros without one) when it is not in the arena
  const zc = bc + up4(V);
  heapI.set(targets, tgt);
  if (perRow) {
    const sc = grad.scale as Float64Array;
    for (let i = 0; i < N; i++) heapF[wts + i] = sc[i];
  }
  if (grad) heapF.fill(0, col, col + V);
  const bb = bAt >= 0 ? bAt + 4 * bOff : 4 * bc;
  if (!B) heapF.fill(0, bc, bc + V);
  else if (bAt < 0) for (let j = 0; j < V; j++) heapF[bc + j] = B[bOff + j];
  const zb = zAt >= 0 ? zAt + 4 * off : 4 * zc;
  if (zAt < 0) heapF.set(Z.subarray(off, off + N * V), zc);
  k.xent(N, V, zb, bb, 4 * tgt, 4 * stats, grad && !perRow ? (grad.scale as number) : 0, perRow ? 4 * wts : 0, 4 * col, grad ? 1 : 0);
  for (let i = 0, s = stats; i < N; i++, s += 3) loss[i] = Math.log(heapF[s + 1]) - Math.fround(heapF[s + 2] - heapF[s]);
  if (grad) for (let j = 0; j < V; j++) grad.colSum[j] = heapF[col + j];
  if (zAt < 0 && (grad || B)) Z.set(heapF.subarray(zc, zc + N * V), off); // z was written: dz, or z + b
  return true;
}
