import { Tensor, TensorError, expWasm, logSoftmax as logSoftmaxK, shapeStr, zeros } from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';

export interface CrossEntropyAttrs {
  /** Class index per row, [N] (integers in [0, C)). */
  targets: Int32Array;
  /** Per-row weight, [N]; 0 masks a row out (padding). Undefined = all 1. */
  weights?: Float64Array;
  reduction: 'mean' | 'sum';
}

// Fused softmax cross-entropy over logits [N, C] with integer targets:
//   L = Σᵢ wᵢ · (−log softmax(xᵢ)[yᵢ]) / D,   D = Σᵢ wᵢ ('mean') or 1 ('sum')
//   dxᵢ = dy · wᵢ / D · (softmax(xᵢ) − onehot(yᵢ))
// Saves log-probabilities [N, C]. Tested against its composed twin (gather of −logSoftmax).
export const crossEntropyOp: OpDef<CrossEntropyAttrs> = {
  name: 'crossEntropy',
  forward: ([x], { targets, weights, reduction }) => {
    const lp = logSoftmaxK(x, -1).contiguous(); // [N, C]
    const [n, c] = x.shape;
    const d = lp.data;
    let loss = 0;
    let denom = 0;
    for (let i = 0; i < n; i++) {
      const w = weights ? weights[i] : 1;
      denom += w;
      if (w !== 0) loss -= w * d[lp.offset + i * c + targets[i]];
    }
    const out = zeros([], x.dtype);
    out.data[0] = reduction === 'mean' ? (denom > 0 ? loss / denom : 0) : loss;
    return { outputs: [out], saved: [lp] };
  },
  vjp: ([dy], [lp], { targets, weights, reduction }) => {
    const [n, c] = lp.shape;
    let denom = 1;
    if (reduction === 'mean') {
      denom = 0;
      for (let i = 0; i < n; i++) denom += weights ? weights[i] : 1;
      if (denom === 0) denom = 1;
    }
    const g = dy.item() / denom;
    const dx = zeros([n, c], lp.dtype);
    const d = dx.data;
    const p = lp.data;
    // softmax = exp(log-softmax), all rows at once on the wasm vector exp when it is in use
    const probs = p instanceof Float32Array && expWasm(p, lp.offset, d as Float32Array, 0, n * c);
    for (let i = 0; i < n; i++) {
      const s = g * (weights ? weights[i] : 1);
      const row = i * c;
      if (s === 0) {
        if (probs) d.fill(0, row, row + c); // a masked row has no gradient
        continue;
      }
      if (probs) for (let j = 0; j < c; j++) d[row + j] *= s;
      else for (let j = 0; j < c; j++) d[row + j] = s * Math.exp(p[lp.offset + row + j]);
      d[row + targets[i]] -= s;
    }
    return [dx];
  },
};

/**
 * Softmax cross-entropy of logits [N, C] against integer targets [N]; `weights` [N] weighs or
 * masks rows (0 = padding: contributes nothing to the loss or the gradients). 'mean' divides
 * by Σ weights, as PyTorch's weighted mean.
 */
export function crossEntropy(
  logits: Tensor,
  targets: ArrayLike<number> | Tensor,
  opts: { weights?: ArrayLike<number> | Tensor; reduction?: 'mean' | 'sum' } = {},
): Tensor {
  if (logits.rank !== 2) throw new TensorError('crossEntropy', `logits must be [N, C], got ${shapeStr(logits.shape)}`);
  const [n, c] = logits.shape;
  const t = targets instanceof Tensor ? targets.toFlatArray() : Array.from(targets);
  if (t.length !== n) throw new TensorError('crossEntropy', `${t.length} targets for ${n} rows of logits ${shapeStr(logits.shape)}`);
  const ti = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (!Number.isInteger(t[i]) || t[i] < 0 || t[i] >= c) throw new TensorError('crossEntropy', `target ${t[i]} at row ${i} is not a class index in [0, ${c})`);
    ti[i] = t[i];
  }
  let w: Float64Array | undefined;
  if (opts.weights !== undefined) {
    const wa = opts.weights instanceof Tensor ? opts.weights.toFlatArray() : Array.from(opts.weights);
    if (wa.length !== n) throw new TensorError('crossEntropy', `${wa.length} weights for ${n} rows`);
    if (wa.some((v) => !Number.isFinite(v) || v < 0)) throw new TensorError('crossEntropy', 'weights must be finite and non-negative');
    w = Float64Array.from(wa);
  }
  const reduction = opts.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum') throw new TensorError('crossEntropy', `unknown reduction '${String(reduction)}' (mean, sum)`);
  return apply1(crossEntropyOp, [logits], { targets: ti, weights: w, reduction });
}
