import {
  DType, Storage, Tensor, TensorError, gemm, residentEmpty, residentPays, scratchEmpty, shapeStr, softmaxCrossEntropyRows, transientEmpty, zeros,
} from '@unfold/tensor';
import { ACCUMULATED, OpDef } from '../op';
import { activeTape, apply1 } from '../tape';

export interface LinearCrossEntropyAttrs {
  /** Class index per row, [N] (integers in [0, V)). */
  targets: Int32Array;
  /** Per-row weight, [N]; 0 masks a row out. Undefined = all 1. */
  weights?: Float64Array;
  reduction: 'mean' | 'sum';
  /** Whether forward keeps what backward needs (false when nothing will record the op). */
  grad: boolean;
}

// The output head as one record: linear then softmax cross-entropy, never materialising the
// log-probabilities.   h:[N, H]  W:[V, H]  b:[V]  targets:[N]
//   z = h Wᵀ + b                                          [N, V]  (one GEMM; b added by the row kernel)
//   L = Σᵢ wᵢ·(log Σⱼ e^(z_ij − mᵢ) − (z_iyᵢ − mᵢ)) / D,   D = Σᵢ wᵢ ('mean') or 1 ('sum')
//   dz = dy · cᵢ·(softmax(zᵢ) − onehot(yᵢ)),  cᵢ = wᵢ / D       (written over z by the forward)
//   dh = dz W   [N, V]·[V, H]      dW = dzᵀ h   [V, N]·[N, H]      db = Σᵢ dzᵢ  (from the forward's kernel)
// Forward saves h, W, dz/dy and db/dy: backward is two GEMMs with α = dy and a scale of db.
// Tested against its composed twin crossEntropy(linear(h, W, b), targets).
export const linearCrossEntropyOp: OpDef<LinearCrossEntropyAttrs> = {
  name: 'linearCrossEntropy',
  forward: ([h, w, b], { targets, weights, reduction, grad }) => {
    if (h.rank !== 2 || w.rank !== 2 || h.shape[1] !== w.shape[1]) {
      throw new TensorError('linearCrossEntropy', `h ${shapeStr(h.shape)} and weight ${shapeStr(w.shape)} must be [N, H] and [V, H]`);
    }
    const [N] = h.shape;
    const V = w.shape[0];
    if (b && (b.rank !== 1 || b.shape[0] !== V)) throw new TensorError('linearCrossEntropy', `bias ${shapeStr(b.shape)} must be [${V}] for weight ${shapeStr(w.shape)}`);
    if (w.dtype !== h.dtype || (b && b.dtype !== h.dtype)) {
      throw new TensorError('linearCrossEntropy', `mixed dtypes: h ${h.dtype}, weight ${w.dtype}${b ? `, bias ${b.dtype}` : ''}`);
    }
    if (targets.length !== N) throw new TensorError('linearCrossEntropy', `${targets.length} targets for ${N} rows of h ${shapeStr(h.shape)}`);
    // [N, V]: saved for backward, or (nothing records) the reused workspace — a very large one is
    // not kept: it is allocated for this call and released before returning.
    const reuse = !grad && N * V <= WORKSPACE_MAX;
    const z = reuse ? workspace(N, V, h.dtype) : transientEmpty([N, V], h.dtype);
    gemm(h, w, z, { transB: true, beta: 0 }); // h Wᵀ; the row kernel adds b as it first reads each row

    let denom = N;
    if (weights) {
      denom = 0;
      for (let i = 0; i < N; i++) denom += weights[i];
    }
    if (reduction === 'sum') denom = 1;
    const d = denom > 0 ? denom : 1; // every row masked: loss 0, gradient 0
    let scale: number | Float64Array = 1 / d;
    if (weights) {
      scale = new Float64Array(N);
      for (let i = 0; i < N; i++) scale[i] = weights[i] / d;
    }
    const rows = lossRows(N);
    const colSum = grad ? new Float64Array(V) : undefined;
    softmaxCrossEntropyRows(z, targets, rows, colSum ? { scale, colSum } : undefined, b);
    let loss = 0;
    for (let i = 0; i < N; i++) {
      const wi = weights ? weights[i] : 1;
      if (wi !== 0) loss += wi * rows[i]; // a masked row counts for nothing, even a NaN one
    }
    const out = zeros([], h.dtype);
    out.data[0] = denom > 0 ? loss / d : 0;
    if (!colSum) {
      if (!reuse) z.storage.release();
      return { outputs: [out], saved: [] };
    }
    const db = Tensor.empty([V], h.dtype);
    db.data.set(colSum);
    return { outputs: [out], saved: [h, w, z, db] };
  },
  vjp: ([dy], [h, w, dz, db], _attrs, inputs, needs, acc) => {
    const g = dy.item();
    const [N, H] = h.shape;
    let dh: Tensor | null = null;
    if (needs[0]) dh = gemm(dz, w, scratchEmpty([N, H], h.dtype), { alpha: g, beta: 0 }); // [N, V]·[V, H], a scratch buffer backward gives back
    // dW, db added straight into the weights' accumulators
    if (needs[1]) gemm(dz, h, acc(1), { transA: true, alpha: g, beta: 1 }); // += [V, N]·[N, H]
    if (inputs.length > 2 && needs[2]) {
      const a = acc(2);
      for (let j = 0; j < a.size; j++) a.data[a.offset + j] += g * db.data[j];
    }
    const dW = needs[1] ? ACCUMULATED : null;
    return inputs.length > 2 ? [dh, dW, needs[2] ? ACCUMULATED : null] : [dh, dW];
  },
};

// Inference (nothing records the op): the logits and per-row losses go into buffers reused call
// after call, in the arena when the wasm kernels read them there.
const WORKSPACE_MAX = 1 << 22; // floats (16 MiB in float32): T·B·V of a large evaluation batch
const spaces = new Map<DType, { storage: Storage; resident: boolean; view: Tensor | null }>();
function workspace(N: number, V: number, dtype: DType): Tensor {
  const resident = dtype === 'float32' && residentPays();
  let s = spaces.get(dtype);
  if (!s || s.storage.length < N * V || s.resident !== resident) {
    const storage = resident ? residentEmpty([N * V]).storage : Storage.alloc(dtype, N * V);
    spaces.set(dtype, (s = { storage, resident, view: null }));
  }
  if (!s.view || s.view.shape[0] !== N || s.view.shape[1] !== V) s.view = new Tensor(s.storage, [N, V]);
  return s.view;
}
let rowsBuf = new Float64Array(0);
function lossRows(N: number): Float64Array {
  if (rowsBuf.length < N) rowsBuf = new Float64Array(N);
  return rowsBuf;
}

/**
 * Mean (or summed) softmax cross-entropy of the logits h·Wᵀ + b against integer targets, as
 * crossEntropy(linear(h, W, b), targets, opts) but in one record that never keeps the logits
 * or log-probabilities: h [N, H], W [V, H], b [V] (or null), targets [N] in [0, V).
 * `weights` [N] weigh or mask rows (0 = padding) and 'mean' divides by Σ weights, as crossEntropy.
 */
export function linearCrossEntropy(
  h: Tensor, w: Tensor, b: Tensor | null | undefined, targets: ArrayLike<number> | Tensor,
  opts: { weights?: ArrayLike<number> | Tensor; reduction?: 'mean' | 'sum' } = {},
): Tensor {
  if (h.rank !== 2) throw new TensorError('linearCrossEntropy', `h must be [N, H], got ${shapeStr(h.shape)}`);
  if (w.rank !== 2) throw new TensorError('linearCrossEntropy', `weight must be [V, H], got ${shapeStr(w.shape)}`);
  const n = h.shape[0];
  const c = w.shape[0];
  const inputs = b ? [h, w, b] : [h, w];
  const tape = activeTape();
  const grad = tape !== undefined && tape.recording && inputs.some((t) => tape.isTracked(t));
  let ti: Int32Array;
  if (targets instanceof Int32Array) {
    if (targets.length !== n) throw new TensorError('linearCrossEntropy', `${targets.length} targets for ${n} rows of h ${shapeStr(h.shape)}`);
    // A record keeps its own copy (the caller may reuse the array before backward); without one, none is needed.
    ti = grad ? targets.slice() : targets;
    for (let i = 0; i < n; i++) if (ti[i] < 0 || ti[i] >= c) throw new TensorError('linearCrossEntropy', `target ${ti[i]} at row ${i} is not a class index in [0, ${c})`);
  } else {
    ti = new Int32Array(n);
    const t = targets instanceof Tensor ? targets.toFlatArray() : targets;
    if (t.length !== n) throw new TensorError('linearCrossEntropy', `${t.length} targets for ${n} rows of h ${shapeStr(h.shape)}`);
    for (let i = 0; i < n; i++) {
      if (!Number.isInteger(t[i]) || t[i] < 0 || t[i] >= c) throw new TensorError('linearCrossEntropy', `target ${t[i]} at row ${i} is not a class index in [0, ${c})`);
      ti[i] = t[i];
    }
  }
  let wts: Float64Array | undefined;
  if (opts.weights !== undefined) {
    const wa = opts.weights instanceof Tensor ? opts.weights.toFlatArray() : Array.from(opts.weights);
    if (wa.length !== n) throw new TensorError('linearCrossEntropy', `${wa.length} weights for ${n} rows`);
    if (wa.some((v) => !Number.isFinite(v) || v < 0)) throw new TensorError('linearCrossEntropy', 'weights must be finite and non-negative');
    wts = Float64Array.from(wa);
  }
  const reduction = opts.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum') throw new TensorError('linearCrossEntropy', `unknown reduction '${String(reduction)}' (mean, sum)`);
  return apply1(linearCrossEntropyOp, inputs, { targets: ti, weights: wts, reduction, grad });
}
