import { Tensor, gather as gatherK, scatterAdd } from '@unfold/tensor';
import { ACCUMULATED, OpDef } from '../op';
import { apply1 } from '../tape';

export type Indices = Tensor | ArrayLike<number>;

// y = table[idx] (rows; an embedding lookup)    dtable += scatterAdd(idx, dy)
// Repeated indices accumulate: a character seen twice in a batch gets both gradients. The rows
// are added straight into the table's adjoint buffer (ACCUMULATED): a table gathered at every
// time step gets T scatter-adds into one buffer, not T table-sized tensors.
export const gatherOp: OpDef<{ indices: Indices }> = {
  name: 'gather',
  forward: ([table], { indices }) => ({ outputs: [gatherK(table, indices)], saved: [] }),
  vjp: ([dy], _s, { indices }, [tRef], needs, acc) => {
    if (!needs[0]) return [null];
    const rows = tRef.shape.slice(1);
    scatterAdd(acc(0), indices, dy.reshape([-1, ...rows]));
    return [ACCUMULATED];
  },
};

export const gather = (table: Tensor, indices: Indices): Tensor => apply1(gatherOp, [table], { indices });
