import { Rng, Tensor, normal } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { valueAndGrad } from '@unfold/autodiff';
import { RecurrentLayer, setSequenceKernels } from '@unfold/rnn';

/** One layer call's values and gradients, copied by `copy` (number[] for float64 checks, Float32Array for float32). */
export interface LayerRun<A> { values: A[]; grads: A[]; records: string[] }

/**
 * Outputs and the gradients of Σ u ⊙ (output, hN, cN) w.r.t. x, h0, c0 and every parameter
 * (u a seeded normal draw), on the sequence op (`sequence`) or the per-step path.
 */
export function runLayer<A>(
  layer: RecurrentLayer, x: Tensor, h0: Tensor, c0: Tensor | undefined, lengths: number[] | undefined,
  sequence: boolean, seed: number, copy: (a: ArrayLike<number>) => A,
): LayerRun<A> {
  const was = setSequenceKernels(sequence);
  try {
    const params = layer.parameters();
    const originals = params.map((p) => p.value);
    const leaves = [x, h0, ...(c0 ? [c0] : []), ...originals];
    let values: A[] = [];
    const { grads, tape } = valueAndGrad((ls: Tensor[]) => {
      ls.slice(c0 ? 3 : 2).forEach((v, i) => (params[i].value = v));
      const r = layer.forward(ls[0], { h0: ls[1], c0: c0 ? ls[2] : undefined, lengths });
      const outs = [r.output, r.hN, ...(r.cN ? [r.cN] : [])];
      values = outs.map((o) => copy(o.toFlatArray()));
      const rng = new Rng(seed);
      return outs.map((o) => ad.sum(ad.mul(o, normal(o.shape, 0, 1, { rng, dtype: o.dtype })))).reduce((a, b) => ad.add(a, b));
    })(leaves);
    params.forEach((p, i) => (p.value = originals[i]));
    return { values, grads: grads.map((g) => copy(g.toFlatArray())), records: tape.entries.map((e) => e.op) };
  } finally {
    setSequenceKernels(was);
  }
}
