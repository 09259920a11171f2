import { Tensor, matmul as matmulK, sumToShape } from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';

export interface MatmulAttrs {
  transA: boolean;
  transB: boolean;
}

// C = op(A)·op(B), op = identity or transpose of the last two axes (batched dims broadcast).
//   C = A B      dA = dC Bᵀ       dB = Aᵀ dC
//   C = Aᵀ B     dA = B dCᵀ       dB = A dC
//   C = A Bᵀ     dA = dC B        dB = dCᵀ A
//   C = Aᵀ Bᵀ    dA = Bᵀ dCᵀ      dB = dCᵀ Aᵀ
// Every form is itself a matmul form reading strides, so no transpose is copied.
// A constant operand (a one-hot input, say) gets no adjoint: that product is skipped.
export const matmulOp: OpDef<MatmulAttrs> = {
  name: 'matmul',
  forward: ([a, b], attrs) => ({ outputs: [matmulK(a, b, attrs)], saved: [a, b] }),
  vjp: ([dC], [a, b], { transA, transB }, [aRef, bRef], [needA, needB]) => {
    let dA: Tensor | null = null;
    let dB: Tensor | null = null;
    if (!transA && !transB) {
      if (needA) dA = matmulK(dC, b, { transB: true });
      if (needB) dB = matmulK(a, dC, { transA: true });
    } else if (transA && !transB) {
      if (needA) dA = matmulK(b, dC, { transB: true });
      if (needB) dB = matmulK(a, dC);
    } else if (!transA && transB) {
      if (needA) dA = matmulK(dC, b);
      if (needB) dB = matmulK(dC, a, { transA: true });
    } else {
      if (needA) dA = matmulK(b, dC, { transA: true, transB: true });
      if (needB) dB = matmulK(dC, a, { transA: true, transB: true });
    }
    return [dA && sumToShape(dA, aRef.shape), dB && sumToShape(dB, bRef.shape)];
  },
};

export const matmul = (a: Tensor, b: Tensor, opts: Partial<MatmulAttrs> = {}): Tensor =>
  apply1(matmulOp, [a, b], { transA: opts.transA ?? false, transB: opts.transB ?? false });
