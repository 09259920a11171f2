import { Tensor, TensorError, gemm, matmul as matmulK, shapeStr, sum as sumK } from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';

type NoAttrs = Record<string, never>;

// y = x Wᵀ + b      x:[N, I]  W:[O, I]  b:[O]  →  y:[N, O]      (torch.nn.functional.linear)
//   dx = dy W       dW = dyᵀ x       db = Σ_n dy[n, :]
// One record where matmul + add would be two: the bias rows are written into y first and the
// GEMM adds x·Wᵀ onto them (β = 1), so no [N, O] sum is allocated forward, and db is a row sum
// of dy instead of a broadcast-reduce.
export const linearOp: OpDef<NoAttrs> = {
  name: 'linear',
  forward: ([x, w, b]) => {
    if (x.rank !== 2 || w.rank !== 2 || x.shape[1] !== w.shape[1]) {
      throw new TensorError('linear', `x ${shapeStr(x.shape)} and weight ${shapeStr(w.shape)} must be [N, I] and [O, I]`);
    }
    const [N] = x.shape;
    const O = w.shape[0];
    if (b && (b.rank !== 1 || b.shape[0] !== O)) throw new TensorError('linear', `bias ${shapeStr(b.shape)} must be [${O}] for weight ${shapeStr(w.shape)}`);
    if (w.dtype !== x.dtype || (b && b.dtype !== x.dtype)) {
      throw new TensorError('linear', `mixed dtypes: x ${x.dtype}, weight ${w.dtype}${b ? `, bias ${b.dtype}` : ''}`);
    }
    const y = Tensor.empty([N, O], x.dtype);
    if (b) {
      const bc = b.contiguous();
      const row = bc.data.subarray(bc.offset, bc.offset + O);
      for (let n = 0; n < N; n++) y.data.set(row, n * O);
    }
    gemm(x, w, y, { transB: true, beta: b ? 1 : 0 });
    return { outputs: [y], saved: [x, w] };
  },
  vjp: ([dy], [x, w], _attrs, inputs, needs) => {
    const dx = needs[0] ? matmulK(dy, w) : null; // [N, O]·[O, I]
    const dw = needs[1] ? matmulK(dy, x, { transA: true }) : null; // [O, N]·[N, I]
    return inputs.length > 2 ? [dx, dw, needs[2] ? sumK(dy, 0) : null] : [dx, dw]; // db: [O]
  },
};

/** x·Wᵀ + b for x [N, I], W [O, I], b [O] (optional): torch.nn.functional.linear. */
export const linear = (x: Tensor, w: Tensor, b?: Tensor | null): Tensor => apply1(linearOp, b ? [x, w, b] : [x, w], {});
