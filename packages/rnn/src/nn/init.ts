import { Rng, Tensor, TensorError, eye, normal, uniform, zeros, DType } from '@unfold/tensor';

/**
 * Initialisers. All take the Rng explicitly so that a seed fixes every weight.
 *  - uniformRange(shape, k): U(−k, k); PyTorch's default is k = 1/√H for RNN/LSTM/GRU, 1/√in for Linear
 *  - xavierUniform: U(±√(6/(fan_in+fan_out))) (Glorot & Bengio 2010)
 *  - orthogonal: Q of a QR decomposition of a normal matrix (Saxe et al. 2014), for recurrent
 *    weights: all singular values 1, so ∂h_t/∂h_{t−1} neither shrinks nor grows at init
 *  - identity: I·scale, IRNN (Le, Jaitly & Hinton 2015): a ReLU RNN that starts by copying its state
 */
export type InitName = 'pytorch' | 'uniform' | 'xavier' | 'orthogonal' | 'identity';

export function uniformRange(shape: number[], bound: number, rng: Rng, dtype: DType = 'float32'): Tensor {
  return uniform(shape, -bound, bound, { rng, dtype });
}

export function xavierUniform(shape: [number, number], rng: Rng, dtype: DType = 'float32'): Tensor {
  const [fanOut, fanIn] = shape;
  return uniformRange(shape, Math.sqrt(6 / (fanIn + fanOut)), rng, dtype);
}

/** [rows, cols] with orthonormal rows or columns (whichever is fewer), by Gram–Schmidt in float64. */
export function orthogonal(shape: [number, number], rng: Rng, dtype: DType = 'float32', gain = 1): Tensor {
  const [r, c] = shape;
  const tall = r >= c;
  const n = tall ? r : c; // vector length
  const k = tall ? c : r; // number of orthonormal vectors
  const a = normal([k, n], 0, 1, { rng, dtype: 'float64' }).data;
  for (let i = 0; i < k; i++) {
    for (let pass = 0; pass < 2; pass++) {
      // re-orthogonalise twice for numerical safety
      for (let j = 0; j < i; j++) {
        let dot = 0;
        for (let t = 0; t < n; t++) dot += a[i * n + t] * a[j * n + t];
        for (let t = 0; t < n; t++) a[i * n + t] -= dot * a[j * n + t];
      }
    }
    let norm = 0;
    for (let t = 0; t < n; t++) norm += a[i * n + t] ** 2;
    norm = Math.sqrt(norm);
    if (norm < 1e-12) throw new TensorError('orthogonal', 'degenerate draw (try another seed)');
    for (let t = 0; t < n; t++) a[i * n + t] /= norm;
  }
  const out = zeros(shape, dtype);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out.data[i * c + j] = gain * (tall ? a[j * n + i] : a[i * n + j]);
  return out;
}

export function identityInit(n: number, scale = 1, dtype: DType = 'float32'): Tensor {
  const t = eye(n, n, dtype);
  for (let i = 0; i < n; i++) t.data[i * n + i] = scale;
  return t;
}
