import { Tensor, clip as clipK, mul as mulK, greaterEqual, lessEqual } from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';

// y = min(max(x, lo), hi)   dx = dy ⊙ [lo ≤ x ≤ hi]
export const clipOp: OpDef<{ lo: number; hi: number }> = {
  name: 'clip',
  forward: ([x], { lo, hi }) => ({ outputs: [clipK(x, lo, hi)], saved: [x] }),
  vjp: ([dy], [x], { lo, hi }) => [mulK(dy, mulK(greaterEqual(x, lo), lessEqual(x, hi)))],
};

export const clip = (x: Tensor, lo: number, hi: number): Tensor => apply1(clipOp, [x], { lo, hi });
