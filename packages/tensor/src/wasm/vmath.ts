import { Expr, Func, V128, get, i32, vadd, vmul, withSimd } from './emitter';

// f32x4 add/mul live in emitter.ts; re-exported so that kernels take all vector math from here.
export { vadd, vmul };

/**
 * Vector math on f32x4 for the emitter: the SIMD opcodes the gate kernels need beyond
 * emitter.ts's add/mul, and exp, sigmoid, tanh and relu as emitted code.
 *
 * Accuracy (test/wasm-gates.test.ts samples float32 inputs in [−90, 90], tiny and denormal
 * values, ±Infinity; an exhaustive sweep over all 2.24e9 of them gave, mul+add / fused:
 * exp 1.37 / 1.42 ulp, sigmoid 3.41 / 3.37 ulp, tanh 6.80 / 5.89 ulp — at most 4.1e-7, inside
 * the 2e-6 contract); saturation to exactly 0, ±1; NaN in → NaN out.
 * Outputs in the denormal range (sigmoid below −87) carry one more rounding, of at most one
 * denormal step (2^-149): the format's own absolute precision there.
 */

const simd = withSimd;

/** SIMD opcodes (after the 0xFD prefix), final numbering of the SIMD proposal. */
const OPS = {
  v128Const: 0x0c, f32x4ExtractLane: 0x1f, f32x4ReplaceLane: 0x20,
  f32x4Eq: 0x41, f32x4Lt: 0x43, f32x4Gt: 0x44, f32x4Ge: 0x46,
  v128And: 0x4e, v128AndNot: 0x4f, v128Or: 0x50, v128Bitselect: 0x52,
  i32x4Shl: 0xab, i32x4ShrS: 0xac, i32x4Add: 0xae, i32x4Sub: 0xb1,
  f32x4Abs: 0xe0, f32x4Neg: 0xe1, f32x4Sub: 0xe5, f32x4Div: 0xe7, f32x4Pmin: 0xea, f32x4Pmax: 0xeb,
} as const;

const f32Scratch = new Float32Array(1);
const i32Scratch = new Int32Array(f32Scratch.buffer);

/** v128.const with four equal i32 lanes. */
export const iconst = (n: number): Expr => {
  const imm: number[] = [];
  for (let k = 0; k < 4; k++) for (let s = 0; s < 32; s += 8) imm.push((n >>> s) & 0xff);
  return simd(OPS.v128Const, imm);
};
/** v128.const with four equal f32 lanes (x rounded to float32). */
export const vconst = (x: number): Expr => {
  f32Scratch[0] = x;
  return iconst(i32Scratch[0]);
};
export const vzero = (): Expr => iconst(0);
/** vconst(x) as a local of f set once on entry (Func.constant): for constants used inside loops. */
export const vconstIn = (f: Func, x: number): Expr => {
  f32Scratch[0] = x;
  const n = i32Scratch[0];
  return get(f.constant(`v128:${n | 0}`, V128, iconst(n)));
};

export const vsub = (a: Expr, b: Expr): Expr => simd(OPS.f32x4Sub, [], a, b);
/** relaxed_madd(a, b, c) = a·b + c, fused or not at the runtime's choice (f32x4.relaxed_madd, 0xFD 0x105; needs relaxed SIMD). */
export const vmadd = (a: Expr, b: Expr, c: Expr): Expr => simd(0x105, [], a, b, c);
export const vdiv = (a: Expr, b: Expr): Expr => simd(OPS.f32x4Div, [], a, b);
export const vabs = (a: Expr): Expr => simd(OPS.f32x4Abs, [], a);
export const vneg = (a: Expr): Expr => simd(OPS.f32x4Neg, [], a);
/** pmin(a, b) = b < a ? b : a, pmax(a, b) = a < b ? b : a: a NaN in `a` comes out unchanged. */
export const vpmin = (a: Expr, b: Expr): Expr => simd(OPS.f32x4Pmin, [], a, b);
export const vpmax = (a: Expr, b: Expr): Expr => simd(OPS.f32x4Pmax, [], a, b);
/** Lane masks: all ones where the comparison holds (false for NaN operands). */
export const veq = (a: Expr, b: Expr): Expr => simd(OPS.f32x4Eq, [], a, b);
export const vlt = (a: Expr, b: Expr): Expr => simd(OPS.f32x4Lt, [], a, b);
export const vgt = (a: Expr, b: Expr): Expr => simd(OPS.f32x4Gt, [], a, b);
export const vge = (a: Expr, b: Expr): Expr => simd(OPS.f32x4Ge, [], a, b);
export const vand = (a: Expr, b: Expr): Expr => simd(OPS.v128And, [], a, b);
/** a & ~b */
export const vandnot = (a: Expr, b: Expr): Expr => simd(OPS.v128AndNot, [], a, b);
export const vor = (a: Expr, b: Expr): Expr => simd(OPS.v128Or, [], a, b);
/** mask ? a : b, bit by bit. */
export const vselect = (a: Expr, b: Expr, mask: Expr): Expr => simd(OPS.v128Bitselect, [], a, b, mask);
export const ishl = (a: Expr, n: number): Expr => simd(OPS.i32x4Shl, [], a, i32(n));
export const ishrS = (a: Expr, n: number): Expr => simd(OPS.i32x4ShrS, [], a, i32(n));
export const iadd = (a: Expr, b: Expr): Expr => simd(OPS.i32x4Add, [], a, b);
export const isub = (a: Expr, b: Expr): Expr => simd(OPS.i32x4Sub, [], a, b);
export const extractLane = (v: Expr, lane: number): Expr => simd(OPS.f32x4ExtractLane, [lane], v);
export const replaceLane = (v: Expr, lane: number, x: Expr): Expr => simd(OPS.f32x4ReplaceLane, [lane], v, x);

// exp: Cephes expf. x = n·ln2 + r, |r| ≤ ln2/2, with ln2 split in two so that n·C1 is exact
// (C1 has 9 significant bits, |n| < 2^8); e^r by a degree-7 polynomial (rel. error < 1 ulp).
const LOG2E = 1.4426950408889634;
const C1 = 0.693359375;
const C2 = -2.12194440e-4;
const P = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
// x·log2e + 1.5·2^23 rounds to an integer (round-to-nearest-even) held in the low mantissa bits.
const MAGIC = 12582912;
const MAGIC_BITS = 0x4b400000;
// Clamp: e^-110 = 2^-158.7 underflows to exactly 0, e^90 = 2^129.8 overflows to Infinity, and
// n ∈ [−159, 130] stays far inside the magic trick's ±2^22.
const X_LO = -110;
const X_HI = 90;
// tanh(x) = x·P(x²)/Q(x²) on |x| < 9.01, a rational fitted for relative error by
// ../../scripts/fit-tanh.mjs (float64 6.2e-8; float32 evaluation 3.8e-7 mul+add, 3.3e-7 fused);
// P(0) = Q(0) = 1 exactly, so below 2^-12 both round to 1 and tanh(x) = x, denormals included.
// Beyond 9.01 tanh rounds to ±1. (Was: e^−2|x| and a division, with a second polynomial for
// |x| < 0.625 — 52 vector ops against 28 here, 20 fused.)
const TANH_P = [0.129220545, 0.0029236495, 0.00000929091311, -1.28403359e-8, 1.83825039e-11];
const TANH_Q = [0.462553561, 0.0237753931, 0.000228479854];
const TANH_ONE = 9.01;
const SIGN = 0x80000000 | 0;

/**
 * Emits vector math into one function. Each method is a statement `dst ← op(x)` over
 * scratch locals shared by every call in the function (calls run one after another).
 * `x` is evaluated exactly once, so it may be a load.
 */
export class VMath {
  private readonly t: number[];
  private readonly fma: boolean;

  /** fma: polynomials and range reduction with f32x4.relaxed_madd (fused or not at the runtime's choice: see ./sgemm.ts). */
  constructor(private readonly f: Func, opts: { fma?: boolean } = {}) {
    this.t = Array.from({ length: 5 }, () => f.local(V128));
    this.fma = opts.fma === true;
  }

  /** A float32 constant in all four lanes, as a local set once on entry (Func.constant). */
  private vc(x: number): Expr {
    return vconstIn(this.f, x);
  }

  private ic(n: number): Expr {
    return get(this.f.constant(`v128:${n | 0}`, V128, iconst(n)));
  }

  /** a·b + c */
  private madd(a: Expr, b: Expr, c: Expr): Expr {
    return this.fma ? vmadd(a, b, c) : vadd(vmul(a, b), c);
  }

  /** Horner: c[n−1]·z^(n−1) + … + c[0] (z evaluated n − 1 times: pass a local). */
  private poly(c: readonly number[], z: () => Expr): Expr {
    let p: Expr = this.vc(c[c.length - 1]);
    for (let k = c.length - 2; k >= 0; k--) p = this.madd(p, z(), this.vc(c[k]));
    return p;
  }

  /** dst ← e^x: ±0 → 1, −∞ and x < −103.3 → 0 (denormals below −87.3), x > 88.72 or +∞ → +∞, NaN → NaN. */
  exp(dst: number, x: Expr): void {
    this.expOf(dst, x, true);
  }

  /** dst ← e^x for x ≤ 0 (or NaN, −∞): the same numbers as exp, in fewer operations. */
  expNeg(dst: number, x: Expr): void {
    this.expOf(dst, x, false);
  }

  private expOf(dst: number, x: Expr, clampHigh: boolean): void {
    const f = this.f;
    const [xc, fn, r, n] = this.t;
    // pmin/pmax with x first let NaN through to the polynomial, which then yields NaN.
    f.set(xc, vpmax(clampHigh ? vpmin(x, this.vc(X_HI)) : x, this.vc(X_LO)));
    // fn = round(x·log2e) (+ MAGIC), n = its integer value
    f.set(fn, this.madd(get(xc), this.vc(LOG2E), this.vc(MAGIC)));
    f.set(n, isub(get(fn), this.ic(MAGIC_BITS)));
    f.set(fn, vsub(get(fn), this.vc(MAGIC)));
    // r = x − n·ln2, ln2 = C1 + C2 (n·C1 exact)
    f.set(r, this.fma ? vmadd(get(fn), this.vc(-C2), vmadd(get(fn), this.vc(-C1), get(xc))) : vsub(vsub(get(xc), vmul(get(fn), this.vc(C1))), vmul(get(fn), this.vc(C2))));
    // e^r ≈ 1 + r + r²·P(r)
    const p = this.poly([...P].reverse(), () => get(r));
    f.set(xc, vadd(this.madd(p, vmul(get(r), get(r)), get(r)), this.vc(1)));
    const pow2 = (k: number, bias: number): Expr => ishl(iadd(get(k), this.ic(127 + bias)), 23);
    if (clampHigh) {
      // e^x = e^r · 2^n1 · 2^n2, n1 = ⌊n/2⌋, n2 = n − n1: each factor a normal float for n ∈ [−159, 130],
      // so results down in the denormals round once, and beyond them to 0.
      f.set(fn, ishrS(get(n), 1));
      f.set(n, isub(get(n), get(fn)));
      f.set(dst, vmul(vmul(get(xc), pow2(fn, 0)), pow2(n, 0)));
    } else {
      // n ∈ [−159, 0]: e^r · 2^(n+64) is normal and exact, · 2^−64 then rounds once — the same
      // numbers as the split above, in half the operations.
      f.set(dst, vmul(vmul(get(xc), pow2(n, 64)), this.vc(2 ** -64)));
    }
  }

  /**
   * dst ← σ(x) = 1/(1 + e^−x), as the JS kernels: e = e^−|x| ∈ (0, 1], q = 1/(1 + e),
   * σ = q for x ≥ 0, e·q below; never overflows. ±∞ → 1, 0 exactly; NaN → NaN.
   */
  sigmoid(dst: number, x: Expr): void {
    const f = this.f;
    const [, , , , v] = this.t;
    const e = dst; // dst holds e until the final select
    f.set(v, x);
    this.expOf(e, vor(get(v), this.ic(SIGN)), false); // e^−|x| (NaN stays NaN)
    const q = this.t[0];
    f.set(q, vdiv(this.vc(1), vadd(this.vc(1), get(e))));
    f.set(dst, vselect(get(q), vmul(get(e), get(q)), vge(get(v), vzero())));
  }

  /** dst ← tanh(x): odd (−0 → −0), exactly ±1 for |x| ≥ 9.01 and ±∞, never above 1, NaN → NaN; x → x below 2^-12. */
  tanh(dst: number, x: Expr): void {
    const f = this.f;
    const [ax, z, p, , v] = this.t;
    f.set(v, x);
    f.set(ax, vabs(get(v)));
    f.set(z, vmul(get(ax), get(ax)));
    f.set(p, vmul(this.madd(this.poly(TANH_P, () => get(z)), get(z), this.vc(1)), get(ax))); // |x|·P(z)
    f.set(dst, vdiv(get(p), this.madd(this.poly(TANH_Q, () => get(z)), get(z), this.vc(1)))); // / Q(z)
    // (|x| ≥ 9.01, ∞ included: P/Q may be ∞/∞ there) → 1; a rounding above 1 → 1; NaN stays
    f.set(dst, vselect(this.vc(1), vpmin(get(dst), this.vc(1)), vge(get(ax), this.vc(TANH_ONE))));
    f.set(dst, vor(get(dst), vand(get(v), this.ic(SIGN)))); // x's sign goes on last
  }

  /** dst ← x < 0 ? 0 : x, as the JS relu: NaN and −0 pass through. */
  relu(dst: number, x: Expr): void {
    const v = this.t[4];
    this.f.set(v, x).set(dst, vandnot(get(v), vlt(get(v), vzero())));
  }
}
