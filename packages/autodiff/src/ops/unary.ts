import {
  Tensor, abs as absK, exp as expK, log as logK, mul as mulK, neg as negK, relu as reluK, sigmoid as sigmoidK,
  sqrt as sqrtK, tanh as tanhK, div as divK, sub as subK, greater, pow as powK, clip as clipK, greaterEqual, lessEqual,
} from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';
import { NONE, NoAttrs } from './_util';

// Elementwise primitives. Each saves what its derivative is cheapest from: the output where
// the derivative is a function of it (exp, tanh, sigmoid, relu, sqrt), else the input.

// y = −x              dx = −dy
export const negOp: OpDef<NoAttrs> = {
  name: 'neg',
  forward: ([x]) => ({ outputs: [negK(x)], saved: [] }),
  vjp: ([dy]) => [negK(dy)],
};

// y = eˣ              dx = dy ⊙ y
export const expOp: OpDef<NoAttrs> = {
  name: 'exp',
  forward: ([x]) => {
    const y = expK(x);
    return { outputs: [y], saved: [y] };
  },
  vjp: ([dy], [y]) => [mulK(dy, y)],
};

// y = ln x            dx = dy / x
export const logOp: OpDef<NoAttrs> = {
  name: 'log',
  forward: ([x]) => ({ outputs: [logK(x)], saved: [x] }),
  vjp: ([dy], [x]) => [divK(dy, x)],
};

// y = tanh x          dx = dy ⊙ (1 − y²)
export const tanhOp: OpDef<NoAttrs> = {
  name: 'tanh',
  forward: ([x]) => {
    const y = tanhK(x);
    return { outputs: [y], saved: [y] };
  },
  vjp: ([dy], [y]) => [mulK(dy, subK(1, mulK(y, y)))],
};

// y = σ(x)            dx = dy ⊙ y ⊙ (1 − y)
export const sigmoidOp: OpDef<NoAttrs> = {
  name: 'sigmoid',
  forward: ([x]) => {
    const y = sigmoidK(x);
    return { outputs: [y], saved: [y] };
  },
  vjp: ([dy], [y]) => [mulK(dy, mulK(y, subK(1, y)))],
};

// y = max(x, 0)       dx = dy ⊙ [y > 0]   (subgradient 0 at x = 0, as PyTorch)
export const reluOp: OpDef<NoAttrs> = {
  name: 'relu',
  forward: ([x]) => {
    const y = reluK(x);
    return { outputs: [y], saved: [y] };
  },
  vjp: ([dy], [y]) => [mulK(dy, greater(y, 0))],
};

// y = √x              dx = dy / (2y)
export const sqrtOp: OpDef<NoAttrs> = {
  name: 'sqrt',
  forward: ([x]) => {
    const y = sqrtK(x);
    return { outputs: [y], saved: [y] };
  },
  vjp: ([dy], [y]) => [divK(dy, mulK(y, 2))],
};

// y = |x|             dx = dy ⊙ sign(x)   (0 at x = 0)
export const absOp: OpDef<NoAttrs> = {
  name: 'abs',
  forward: ([x]) => ({ outputs: [absK(x)], saved: [x] }),
  vjp: ([dy], [x]) => [mulK(dy, subK(greater(x, 0), greater(negK(x), 0)))],
};

// y = xᵖ (p a constant)   dx = dy ⊙ p xᵖ⁻¹
export const powOp: OpDef<{ p: number }> = {
  name: 'pow',
  forward: ([x], { p }) => ({ outputs: [powK(x, p)], saved: [x] }),
  vjp: ([dy], [x], { p }) => [mulK(dy, mulK(powK(x, p - 1), p))],
};

// y = min(max(x, lo), hi)   dx = dy ⊙ [lo ≤ x ≤ hi]
export const clipOp: OpDef<{ lo: number; hi: number }> = {
  name: 'clip',
  forward: ([x], { lo, hi }) => ({ outputs: [clipK(x, lo, hi)], saved: [x] }),
  vjp: ([dy], [x], { lo, hi }) => [mulK(dy, mulK(greaterEqual(x, lo), lessEqual(x, hi)))],
};

export const neg = (x: Tensor): Tensor => apply1(negOp, [x], NONE);
export const exp = (x: Tensor): Tensor => apply1(expOp, [x], NONE);
export const log = (x: Tensor): Tensor => apply1(logOp, [x], NONE);
export const tanh = (x: Tensor): Tensor => apply1(tanhOp, [x], NONE);
export const sigmoid = (x: Tensor): Tensor => apply1(sigmoidOp, [x], NONE);
export const relu = (x: Tensor): Tensor => apply1(reluOp, [x], NONE);
export const sqrt = (x: Tensor): Tensor => apply1(sqrtOp, [x], NONE);
export const abs = (x: Tensor): Tensor => apply1(absOp, [x], NONE);
export const pow = (x: Tensor, p: number): Tensor => apply1(powOp, [x], { p });
export const clip = (x: Tensor, lo: number, hi: number): Tensor => apply1(clipOp, [x], { lo, hi });
