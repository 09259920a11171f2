import { Tensor } from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';

// Shape ops are views forward; their VJPs put dy back where the values came from.

// y = permute(x, p)        dx = permute(dy, p⁻¹)
export const permuteOp: OpDef<{ axes: number[] }> = {
  name: 'permute',
  forward: ([x], { axes }) => ({ outputs: [x.permute(axes)], saved: [] }),
  vjp: ([dy], _s, { axes }) => {
    const inv = new Array<number>(axes.length);
    axes.forEach((a, i) => (inv[(a + axes.length) % axes.length] = i));
    return [dy.permute(inv)];
  },
};

export const permute = (x: Tensor, axes: number[]): Tensor => apply1(permuteOp, [x], { axes });
