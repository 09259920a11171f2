import { Tensor, gather as gatherK, scatterAdd, zeros } from '@unfold/tensor';
import { OpDef } from '../op';
import { apply1 } from '../tape';

export type Indices = Tensor | ArrayLike<number>;

// y = table[idx] (rows; an embedding lookup)    dtable = scatterAdd(zeros, idx, dy)
// Repeated indices accumulate: a character seen twice in a batch gets both gradients.
export const gatherOp: OpDef<{ indices: Indices }> = {
  name: 'gather',
  forward: ([table], { indices }) => ({ outputs: [gatherK(table, indices)], saved: [] }),
  vjp: ([dy], _s, { indices }, [tRef]) => {
    const dt = zeros(tRef.shape, tRef.dtype);
    const rows = tRef.shape.slice(1);
    scatterAdd(dt, indices, dy.reshape([-1, ...rows]));
    return [dt];
  },
};

export const gather = (table: Tensor, indices: Indices): Tensor => apply1(gatherOp, [table], { indices });
