import { Rng, Tensor, TensorError, normal, shapeStr } from '@unfold/tensor';
import { backward } from './backward';
import { Tape, noGrad } from './tape';
import { add } from './ops/add';
import { permute } from './ops/permute';
import { slice } from './ops/slice';

export interface GradCheckOptions {
  /** Finite-difference step. Default 1e-6 (float64) / 1e-3 (float32). */
  eps?: number;
  /** Pass when |analytic − numeric| ≤ tol · max(1, |analytic|, |numeric|). Default 1e-6 (float64) / 1e-2 (float32). */
  tol?: number;
  /** Random directions for the ⟨Jᵀu, v⟩ check. Default 3. */
  directions?: number;
  /** Check at most this many elements per input by central differences (a seeded random subset). Default 64. */
  maxElementsPerInput?: number;
  seed?: number;
  /**
   * Hand f non-contiguous views of the inputs (same values): rank ≥ 2 as a transposed copy seen
   * through the reversed axes, rank 1 through a step −1 slice. The views are built from
   * differentiable ops, so the check covers VJPs on strided inputs too.
   */
  strided?: boolean;
}

export interface GradCheckWorst {
  kind: 'element' | 'direction';
  input: number;
  index: number; // flat element index (or direction number)
  analytic: number;
  numeric: number;
  error: number;
}

export interface GradCheckReport {
  ok: boolean;
  maxError: number;
  worst: GradCheckWorst | null;
  checked: number;
  toString(): string;
}

/**
 * Checks reverse-mode gradients of f at `inputs` against central finite differences.
 *
 * f may return any tensor y; a fixed random cotangent u turns it into the scalar ⟨u, y⟩, whose
 * gradient is Jᵀu. Two checks:
 *  1. per element:  (Jᵀu)_i  vs  (⟨u, f(x + εeᵢ)⟩ − ⟨u, f(x − εeᵢ)⟩) / 2ε
 *  2. per direction v (random normal):  ⟨Jᵀu, v⟩  vs  (⟨u, f(x + εv)⟩ − ⟨u, f(x − εv)⟩) / 2ε
 * Error is |a − n| / max(1, |a|, |n|): absolute for small gradients, relative for large ones.
 *
 * Tolerance, in float64: central differences err by O(ε²·f''') (truncation) + O(δ·|f|/ε)
 * (round-off, δ ≈ 1.1e-16); at ε = 1e-6 both are ≲ 1e-9 for O(1) functions, so 1e-6 leaves
 * three orders of margin while a 1 % wrong VJP (error ≈ 1e-2·|a|) fails by four.
 * Run it in float64: in float32 round-off is δ ≈ 6e-8 and the test can say little below 1e-2.
 */
/** The same values through a non-contiguous view (see GradCheckOptions.strided). */
function stridedView(t: Tensor): Tensor {
  if (t.rank >= 2) {
    const rev = t.shape.map((_, i) => t.rank - 1 - i);
    return permute(add(permute(t, rev), 0), rev); // add(…, 0): a contiguous copy in transposed order
  }
  if (t.rank === 1 && t.size > 1) return slice(add(slice(t, { step: -1 }), 0), { step: -1 });
  return t;
}

export function gradCheck(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradCheckOptions = {}): GradCheckReport {
  if (inputs.length === 0) throw new TensorError('gradCheck', 'needs at least one input');
  const f64 = inputs.every((x) => x.dtype === 'float64');
  const eps = opts.eps ?? (f64 ? 1e-6 : 1e-3);
  const tol = opts.tol ?? (f64 ? 1e-6 : 1e-2);
  const rng = new Rng(opts.seed ?? 1234);
  if (opts.strided) {
    const g = f;
    f = (...ts: Tensor[]) => g(...ts.map(stridedView));
  }
  // Own contiguous copies: we perturb them in place.
  const xs = inputs.map((x) => x.clone());

  const y0 = noGrad(() => f(...xs));
  if (!(y0 instanceof Tensor)) throw new TensorError('gradCheck', `f returned ${typeof y0}, not a Tensor`);
  const u = normal(y0.shape, 0, 1, { rng, dtype: y0.dtype });
  const dot = (y: Tensor): number => {
    const a = y.toFlatArray();
    const b = u.data;
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i] * b[i];
    return s;
  };
  const scalar = (): number => dot(noGrad(() => f(...xs)));

  // Analytic Jᵀu by one backward pass.
  const tape = new Tape();
  tape.watch(...xs);
  const y = tape.run(() => f(...xs));
  if (!tape.isTracked(y) && y.size > 0) {
    // y does not depend on any input: every gradient is zero (checked numerically below).
  }
  const g = tape.isTracked(y) ? backward(tape, y, { seed: u }) : null;
  const grads = xs.map((x) => (g ? g.get(x).toFlatArray() : new Array<number>(x.size).fill(0)));

  let worst: GradCheckWorst | null = null;
  let checked = 0;
  const consider = (w: GradCheckWorst): void => {
    checked++;
    if (!worst || w.error > worst.error || Number.isNaN(w.error)) worst = w;
  };
  const errOf = (a: number, n: number): number => (Number.isFinite(a) && Number.isFinite(n) ? Math.abs(a - n) / Math.max(1, Math.abs(a), Math.abs(n)) : NaN);

  const maxEl = opts.maxElementsPerInput ?? 64;
  xs.forEach((x, k) => {
    const d = x.data;
    const idx = x.size <= maxEl ? Array.from({ length: x.size }, (_, i) => i) : Array.from({ length: maxEl }, () => rng.int(0, x.size));
    for (const i of idx) {
      const old = d[i];
      d[i] = old + eps;
      const fp = scalar();
      d[i] = old - eps;
      const fm = scalar();
      d[i] = old;
      const n = (fp - fm) / (2 * eps);
      consider({ kind: 'element', input: k, index: i, analytic: grads[k][i], numeric: n, error: errOf(grads[k][i], n) });
    }
  });

  for (let j = 0; j < (opts.directions ?? 3); j++) {
    const vs = xs.map((x) => normal(x.shape, 0, 1, { rng, dtype: x.dtype }).data);
    const saved = xs.map((x) => x.data.slice());
    const shift = (s: number): void => xs.forEach((x, k) => { for (let i = 0; i < x.size; i++) x.data[i] = saved[k][i] + s * vs[k][i]; });
    shift(eps);
    const fp = scalar();
    shift(-eps);
    const fm = scalar();
    shift(0);
    const n = (fp - fm) / (2 * eps);
    let a = 0;
    xs.forEach((_, k) => { for (let i = 0; i < vs[k].length; i++) a += grads[k][i] * vs[k][i]; });
    consider({ kind: 'direction', input: -1, index: j, analytic: a, numeric: n, error: errOf(a, n) });
  }

  const w = worst as GradCheckWorst | null;
  const maxError = w ? w.error : 0;
  const ok = w === null || (!Number.isNaN(w.error) && w.error <= tol);
  return {
    ok,
    maxError,
    worst: w,
    checked,
    toString: () =>
      w === null
        ? 'gradCheck: nothing to check'
        : `gradCheck ${ok ? 'passed' : 'FAILED'}: worst error ${w.error.toExponential(2)} (tol ${tol}) at ` +
          (w.kind === 'element' ? `input ${w.input} ${shapeStr(inputs[w.input].shape)} element ${w.index}` : `random direction ${w.index}`) +
          `: analytic ${w.analytic}, numeric ${w.numeric} (${checked} checks)`,
  };
}
