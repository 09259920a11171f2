import { DType, Tensor, TensorError, gemm, matmul } from '@unfold/tensor';
import { describeGemmSuite } from './matmul.suite';

describeGemmSuite('js', ['float32', 'float64']);

describe('errors name the op and the shapes', () => {
  const t = (shape: number[], dtype: DType = 'float32'): Tensor => Tensor.empty(shape, dtype);
  const msg = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(TensorError);
      return (e as Error).message;
    }
    throw new Error('did not throw');
  };

  test('matmul', () => {
    expect(msg(() => matmul(t([32, 65]), t([128, 512])))).toBe('matmul: [32,65] × [128,512]: inner dimensions 65 ≠ 128');
    expect(msg(() => matmul(t([65, 32]), t([128, 512]), { transA: true }))).toBe('matmul: [65,32]ᵀ × [128,512]: inner dimensions 65 ≠ 128');
    expect(msg(() => matmul(t([32, 64]), t([128, 65]), { transB: true }))).toBe('matmul: [32,64] × [128,65]ᵀ: inner dimensions 64 ≠ 65');
    expect(msg(() => matmul(t([3]), t([3, 4])))).toBe('matmul: [3] × [3,4]: operands need rank ≥ 2, got ranks 1 and 2 (unsqueeze a vector first)');
    expect(msg(() => matmul(t([2, 3]), t([3, 4], 'float64')))).toBe('matmul: [2,3] × [3,4]: dtype mismatch float32 vs float64');
    expect(msg(() => matmul(t([2, 5, 3, 4]), t([3, 4, 2])))).toBe('matmul: [2,5,3,4] × [3,4,2]: batch dimensions [2,5] and [3] cannot be broadcast (5 vs 3)');
  });

  test('gemm', () => {
    expect(msg(() => gemm(t([2, 3]), t([3, 4]), t([2, 5])))).toBe('gemm: [2,3] × [3,4] → [2,5]: output must be [2,4]');
    expect(msg(() => gemm(t([2, 3]), t([3, 4]), t([2, 4], 'float64')))).toBe('gemm: [2,3] × [3,4] → [2,4]: dtype mismatch float32 vs output float64');
    expect(msg(() => gemm(t([1, 2, 3]), t([3, 4]), t([2, 4])))).toBe('gemm: [1,2,3] × [3,4] → [2,4]: gemm is 2-D only (use matmul for batches)');
    expect(msg(() => gemm(t([2, 3]), t([4, 4]), t([2, 4])))).toBe('gemm: [2,3] × [4,4]: inner dimensions 3 ≠ 4');
  });
});
