import { TypedArray } from './dtype';
import { sgemmWasm } from './wasm/backend';

/**
 * Blocked, register-tiled GEMM on raw typed arrays, after GotoBLAS/BLIS:
 *
 *   C[M,N] ← alpha · A[M,K] · B[K,N] + beta · C        (A, B, C: any strides)
 *
 * Element (i,j) of a matrix X is X[xOff + i·rsX + j·csX], so a transpose is a swap of
 * (rs, cs), and stepped, negative or zero (broadcast) strides are just other numbers:
 * no operand is ever copied into row-major form first.
 *
 * Loop nest (outer to inner), with the block sizes below:
 *   jc: N in NC-wide column blocks
 *     pc: K in KC-deep slices        → pack B[pc:+KC, jc:+NC] into NR-wide panels (packB)
 *       ic: M in MC-tall row blocks  → pack A[ic:+MC, pc:+KC] into MR-tall panels (packA)
 *         jr: NR-wide panel of packB  (one KC×NR panel, 8 KB, stays in L1)
 *           ir: MR-tall panel of packA (the MC×KC block, 128 KB, stays in L2)
 *             micro-kernel: an MR×NR tile of C from KC rank-1 updates
 * Packing lays each panel out in the order the micro-kernel reads it: p-major,
 * panelA[p·MR + i] = A[i,p], panelB[p·NR + j] = B[p,j], so the inner loop walks both
 * panels sequentially. Panels are zero-padded to full MR/NR, so the micro-kernel always
 * computes a whole tile; only the store is clipped at the edges.
 *
 * Numerics: the packed panels are Float64Array whatever the input dtype (float32 widens
 * exactly), and a tile accumulates in doubles over one KC slice; C is rounded to its own
 * dtype once per slice, i.e. ⌈K/KC⌉ times. The packs are also what keeps the hot loop
 * monomorphic: it only ever sees Float64Array, so V8 compiles one fast version for both dtypes.
 *
 * Dispatch: float32 products go to the WebAssembly SIMD kernel (./wasm/backend.ts, an order
 * of magnitude faster) when it is available and the product is not tiny; this JS kernel is
 * the fallback that is always correct, and the only path for float64.
 */

const MR = 4; // tile rows: 4×4 accumulators + 4 A + 4 B values ≈ the 16 x64 vector registers
const NR = 4;
const KC = 256; // K slice: one packed panel is KC·4·8 B = 8 KB
const MC = 64; // A block: MC·KC·8 B = 128 KB
const NC = 512; // B block: KC·NC·8 B = 1 MB

// Module-level scratch, grown on demand: gemm allocates nothing in the steady state.
// The kernel is synchronous and never re-entered, so one pair of buffers is enough.
let packA = new Float64Array(MC * KC);
let packB = new Float64Array(0);
const tile = new Float64Array(MR * NR);

/**
 * Row-major BLAS-style GEMM: C[M,N] ← alpha·op(A)·op(B) + beta·C.
 * op(A) is A stored [M,K] with row stride lda, or with transA, A stored [K,M] (Aᵀ);
 * likewise op(B) from B stored [K,N] or, with transB, [N,K]. C is [M,N] with row stride ldc.
 * beta = 0 overwrites C without reading it (NaN in C does not leak); alpha = 0 or K = 0
 * reads neither A nor B. C must not overlap A or B.
 */
export function gemmArrays(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: TypedArray,
  aOff: number,
  lda: number,
  B: TypedArray,
  bOff: number,
  ldb: number,
  beta: number,
  C: TypedArray,
  cOff: number,
  ldc: number,
): void {
  gemmStrided(
    M, N, K, alpha,
    A, aOff, transA ? 1 : lda, transA ? lda : 1,
    B, bOff, transB ? 1 : ldb, transB ? ldb : 1,
    beta, C, cOff, ldc, 1,
  );
}

/** C ← alpha·A·B + beta·C with every operand given as (data, offset, row stride, column stride). */
export function gemmStrided(
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: TypedArray,
  aOff: number,
  rsA: number,
  csA: number,
  B: TypedArray,
  bOff: number,
  rsB: number,
  csB: number,
  beta: number,
  C: TypedArray,
  cOff: number,
  rsC: number,
  csC: number,
): void {
  if (M === 0 || N === 0) return;
  if (K === 0 || alpha === 0) {
    scaleMatrix(M, N, beta, C, cOff, rsC, csC);
    return;
  }
  if (
    A instanceof Float32Array && B instanceof Float32Array && C instanceof Float32Array &&
    sgemmWasm(M, N, K, alpha, A, aOff, rsA, csA, B, bOff, rsB, csB, beta, C, cOff, rsC, csC)
  ) {
    return;
  }
  const kcMax = Math.min(K, KC);
  const needB = kcMax * roundUp(Math.min(N, NC), NR);
  if (packB.length < needB) packB = new Float64Array(needB);
  const pA = packA;
  const pB = packB;

  for (let jc = 0; jc < N; jc += NC) {
    const nc = Math.min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = Math.min(KC, K - pc);
      // The first K slice applies the caller's beta; later slices add onto it.
      const betaSlice = pc === 0 ? beta : 1;
      packPanels(kc, nc, NR, B, bOff + pc * rsB + jc * csB, csB, rsB, pB);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = Math.min(MC, M - ic);
        packPanels(kc, mc, MR, A, aOff + ic * rsA + pc * csA, rsA, csA, pA);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = Math.min(NR, nc - jr);
          const bPanel = jr * kc; // panel jr/NR starts at (jr/NR)·kc·NR
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = Math.min(MR, mc - ir);
            const cTile = cOff + (ic + ir) * rsC + (jc + jr) * csC;
            microKernel4x4(kc, pA, ir * kc, pB, bPanel, alpha, betaSlice, C, cTile, rsC, csC, mr, nr);
          }
        }
      }
    }
  }
}

const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

/**
 * Packs `len` lines of a `depth`-long operand slice into W-wide panels:
 *   dst[(l/W)·depth·W + p·W + l%W] = X[xOff + l·lineStride + p·depthStride]
 * (for A, lines are rows of A and depth runs along K; for B, lines are columns of B).
 * The last panel is zero-padded to W lines.
 */
function packPanels(
  depth: number,
  len: number,
  W: number,
  X: TypedArray,
  xOff: number,
  lineStride: number,
  depthStride: number,
  dst: Float64Array,
): void {
  let d = 0;
  for (let l0 = 0; l0 < len; l0 += W) {
    const w = Math.min(W, len - l0);
    if (w === 4 && W === 4) {
      // Full 4-wide panel: four lines read in lockstep.
      let x0 = xOff + l0 * lineStride;
      let x1 = x0 + lineStride;
      let x2 = x1 + lineStride;
      let x3 = x2 + lineStride;
      for (let p = 0; p < depth; p++, d += 4) {
        dst[d] = X[x0];
        dst[d + 1] = X[x1];
        dst[d + 2] = X[x2];
        dst[d + 3] = X[x3];
        x0 += depthStride;
        x1 += depthStride;
        x2 += depthStride;
        x3 += depthStride;
      }
    } else {
      for (let p = 0; p < depth; p++, d += W) {
        const x = xOff + l0 * lineStride + p * depthStride;
        for (let l = 0; l < W; l++) dst[d + l] = l < w ? X[x + l * lineStride] : 0;
      }
    }
  }
}

/**
 * One MR×NR = 4×4 tile: acc[i][j] = Σ_p a[p·4+i] · b[p·4+j] over kc rank-1 updates,
 * then C_tile ← alpha·acc + beta·C_tile (beta = 0: plain store, C never read). The 16 accumulators are
 * locals so V8 keeps them in registers; each step loads 8 values and does 16 multiply-adds.
 */
function microKernel4x4(
  kc: number,
  a: Float64Array,
  ai: number,
  b: Float64Array,
  bi: number,
  alpha: number,
  beta: number,
  C: TypedArray,
  c: number,
  rsC: number,
  csC: number,
  mr: number,
  nr: number,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  const aEnd = ai + 4 * kc;
  for (; ai < aEnd; ai += 4, bi += 4) {
    const a0 = a[ai], a1 = a[ai + 1], a2 = a[ai + 2], a3 = a[ai + 3];
    const b0 = b[bi], b1 = b[bi + 1], b2 = b[bi + 2], b3 = b[bi + 3];
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
  }
  if (mr === 4 && nr === 4 && csC === 1) {
    // Interior tile of a row-major C: store straight from the registers.
    const c1 = c + rsC, c2 = c1 + rsC, c3 = c2 + rsC;
    if (beta === 0) {
      C[c] = alpha * c00; C[c + 1] = alpha * c01; C[c + 2] = alpha * c02; C[c + 3] = alpha * c03;
      C[c1] = alpha * c10; C[c1 + 1] = alpha * c11; C[c1 + 2] = alpha * c12; C[c1 + 3] = alpha * c13;
      C[c2] = alpha * c20; C[c2 + 1] = alpha * c21; C[c2 + 2] = alpha * c22; C[c2 + 3] = alpha * c23;
      C[c3] = alpha * c30; C[c3 + 1] = alpha * c31; C[c3 + 2] = alpha * c32; C[c3 + 3] = alpha * c33;
    } else {
      C[c] = alpha * c00 + beta * C[c]; C[c + 1] = alpha * c01 + beta * C[c + 1];
      C[c + 2] = alpha * c02 + beta * C[c + 2]; C[c + 3] = alpha * c03 + beta * C[c + 3];
      C[c1] = alpha * c10 + beta * C[c1]; C[c1 + 1] = alpha * c11 + beta * C[c1 + 1];
      C[c1 + 2] = alpha * c12 + beta * C[c1 + 2]; C[c1 + 3] = alpha * c13 + beta * C[c1 + 3];
      C[c2] = alpha * c20 + beta * C[c2]; C[c2 + 1] = alpha * c21 + beta * C[c2 + 1];
      C[c2 + 2] = alpha * c22 + beta * C[c2 + 2]; C[c2 + 3] = alpha * c23 + beta * C[c2 + 3];
      C[c3] = alpha * c30 + beta * C[c3]; C[c3 + 1] = alpha * c31 + beta * C[c3 + 1];
      C[c3 + 2] = alpha * c32 + beta * C[c3 + 2]; C[c3 + 3] = alpha * c33 + beta * C[c3 + 3];
    }
    return;
  }
  // Edge tile or strided C: spill to scratch, store the valid mr×nr part.
  const t = tile;
  t[0] = c00; t[1] = c01; t[2] = c02; t[3] = c03;
  t[4] = c10; t[5] = c11; t[6] = c12; t[7] = c13;
  t[8] = c20; t[9] = c21; t[10] = c22; t[11] = c23;
  t[12] = c30; t[13] = c31; t[14] = c32; t[15] = c33;
  storeTile(t, alpha, beta, C, c, rsC, csC, mr, nr);
}

/** C_tile[0:mr, 0:nr] ← alpha·t + beta·C_tile, never reading C when beta = 0. */
function storeTile(
  t: Float64Array,
  alpha: number,
  beta: number,
  C: TypedArray,
  c: number,
  rsC: number,
  csC: number,
  mr: number,
  nr: number,
): void {
  for (let i = 0; i < mr; i++, c += rsC) {
    let ci = c;
    if (beta === 0) {
      for (let j = 0; j < nr; j++, ci += csC) C[ci] = alpha * t[i * NR + j];
    } else {
      for (let j = 0; j < nr; j++, ci += csC) C[ci] = alpha * t[i * NR + j] + beta * C[ci];
    }
  }
}

/** C ← beta·C, with beta = 0 writing zeros (so NaN/Inf in C is cleared, as BLAS does). */
function scaleMatrix(M: number, N: number, beta: number, C: TypedArray, cOff: number, rsC: number, csC: number): void {
  if (beta === 1) return;
  for (let i = 0; i < M; i++) {
    let ci = cOff + i * rsC;
    for (let j = 0; j < N; j++, ci += csC) C[ci] = beta === 0 ? 0 : beta * C[ci];
  }
}
