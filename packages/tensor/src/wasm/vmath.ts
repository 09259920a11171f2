import { Expr, Func, V128, get, i32, uleb, vadd, vmul } from './emitter';

// f32x4 add/mul live in emitter.ts; re-exported so that kernels take all vector math from here.
export { vadd, vmul };

/**
 * Vector math on f32x4 for the emitter: the SIMD opcodes the gate kernels need beyond
 * emitter.ts's add/mul, and exp, sigmoid, tanh and relu as emitted code.
 *
 * Accuracy (measured by test/wasm-gates.test.ts over float32 inputs in [−90, 90], tiny and
 * denormal values, ±Infinity): relative error of exp ≲ 2 ulp, of sigmoid and tanh ≲ 4 ulp
 * (≤ 2.4e-7, well inside the 2e-6 contract); saturation to exactly 0, ±1; NaN in → NaN out.
 * Outputs in the denormal range (sigmoid below −87) carry one more rounding, of at most one
 * denormal step (2^-149): the format's own absolute precision there.
 */

const simd = (op: number, imm: readonly number[], ...args: Expr[]): Expr => (f) => {
  for (const a of args) a(f);
  f.body.push(0xfd);
  uleb(op, f.body);
  f.body.push(...imm);
};

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

export const vsub = (a: Expr, b: Expr): Expr => simd(OPS.f32x4Sub, [], a, b);
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
// tanh: |x| < 0.625 uses Cephes tanhf's odd polynomial x + x·x²·Q(x²) (no cancellation near 0);
// above, (1 − e)/(1 + e) with e = e^−2|x| ≤ 0.287, where 1 − e loses < 1 bit.
const TANH_SMALL = 0.625;
const Q = [-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1];
const SIGN = 0x80000000 | 0;

/**
 * Emits vector math into one function. Each method is a statement `dst ← op(x)` over
 * scratch locals shared by every call in the function (calls run one after another).
 * `x` is evaluated exactly once, so it may be a load.
 */
export class VMath {
  private readonly t: number[];

  constructor(private readonly f: Func) {
    this.t = Array.from({ length: 5 }, () => f.local(V128));
  }

  /** dst ← e^x: ±0 → 1, −∞ and x < −103.3 → 0 (denormals below −87.3), x > 88.72 or +∞ → +∞, NaN → NaN. */
  exp(dst: number, x: Expr): void {
    const f = this.f;
    const [xc, fn, r, n] = this.t;
    // pmin/pmax with x first let NaN through to the polynomial, which then yields NaN.
    f.set(xc, vpmax(vpmin(x, vconst(X_HI)), vconst(X_LO)));
    // fn = round(x·log2e) (+ MAGIC), n = its integer value
    f.set(fn, vadd(vmul(get(xc), vconst(LOG2E)), vconst(MAGIC)));
    f.set(n, isub(get(fn), iconst(MAGIC_BITS)));
    f.set(fn, vsub(get(fn), vconst(MAGIC)));
    f.set(r, vsub(vsub(get(xc), vmul(get(fn), vconst(C1))), vmul(get(fn), vconst(C2)))); // r = x − n·ln2
    // e^r ≈ 1 + r + r²·P(r)
    let p: Expr = vconst(P[0]);
    for (let k = 1; k < P.length; k++) p = vadd(vmul(p, get(r)), vconst(P[k]));
    f.set(xc, vadd(vadd(vmul(p, vmul(get(r), get(r))), get(r)), vconst(1)));
    // e^x = e^r · 2^n1 · 2^n2, n1 = ⌊n/2⌋, n2 = n − n1: each factor a normal float for n ∈ [−159, 130],
    // so results down in the denormals round once, and beyond them to 0.
    f.set(fn, ishrS(get(n), 1));
    f.set(n, isub(get(n), get(fn)));
    const pow2 = (k: number): Expr => ishl(iadd(get(k), iconst(127)), 23);
    f.set(dst, vmul(vmul(get(xc), pow2(fn)), pow2(n)));
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
    this.exp(e, vneg(vabs(get(v))));
    const q = this.t[0];
    f.set(q, vdiv(vconst(1), vadd(vconst(1), get(e))));
    f.set(dst, vselect(get(q), vmul(get(e), get(q)), vge(get(v), vzero())));
  }

  /** dst ← tanh(x): odd (−0 → −0), |tanh x| rounds to exactly 1 for |x| ≥ 9.01, ±∞ → ±1, NaN → NaN; x → x below 2^-12. */
  tanh(dst: number, x: Expr): void {
    const f = this.f;
    const [z, , , , v] = this.t;
    const ax = this.t[3]; // exp's last scratch: free again once exp has returned
    f.set(v, x);
    this.exp(dst, vmul(vabs(get(v)), vconst(-2))); // e = e^−2|x|
    f.set(ax, vabs(get(v)));
    f.set(dst, vdiv(vsub(vconst(1), get(dst)), vadd(vconst(1), get(dst)))); // (1 − e)/(1 + e)
    // |x| + |x|·z·Q(z), z = x²
    f.set(z, vmul(get(v), get(v)));
    let q: Expr = vconst(Q[0]);
    for (let k = 1; k < Q.length; k++) q = vadd(vmul(q, get(z)), vconst(Q[k]));
    const small = vadd(vmul(vmul(q, get(z)), get(ax)), get(ax));
    f.set(dst, vselect(small, get(dst), vlt(get(ax), vconst(TANH_SMALL))));
    f.set(dst, vor(get(dst), vand(get(v), iconst(SIGN)))); // both branches are ≥ 0 (or NaN): x's sign goes on last
  }

  /** dst ← x < 0 ? 0 : x, as the JS relu: NaN and −0 pass through. */
  relu(dst: number, x: Expr): void {
    const v = this.t[4];
    this.f.set(v, x).set(dst, vandnot(get(v), vlt(get(v), vzero())));
  }
}
