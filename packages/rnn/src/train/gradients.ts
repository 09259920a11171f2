import { Tensor, TensorError } from '@unfold/tensor';
import { Tape, backward } from '@unfold/autodiff';
import { Module } from '../nn/module';

/**
 * One reverse-mode pass: records `fn` on a fresh tape watching every parameter of `model`,
 * walks it back from the scalar it returns, and stores each parameter's gradient in `.grad`
 * (read them by PyTorch name: `model.param('rnn.weight_hh_l0').grad`).
 */
export function computeGradients<R extends { loss: Tensor }>(model: Module, fn: () => R, opts: { checkNumerics?: boolean } = {}): R {
  const params = model.parameters();
  const tape = new Tape();
  tape.watch(...params.map((p) => p.value));
  const out = tape.run(fn);
  if (!(out.loss instanceof Tensor) || out.loss.size !== 1) throw new TensorError('computeGradients', 'fn must return { loss } with a scalar loss tensor');
  const g = backward(tape, out.loss, { checkNumerics: opts.checkNumerics });
  for (const p of params) p.grad = g.get(p.value);
  return out;
}
