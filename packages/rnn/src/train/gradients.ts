import { Tensor, TensorError, shapeStr } from '@unfold/tensor';
import { Tape, backward } from '@unfold/autodiff';
import { Module, registeredParam } from '../nn/module';
import { checkOptions } from '../options';

/**
 * One reverse-mode pass: records `fn` on a fresh tape watching every parameter of `model`,
 * walks it back from the scalar it returns, and stores each parameter's gradient in `.grad`
 * (read them by PyTorch name: `model.param('rnn.weight_hh_l0').grad`).
 *
 * `releaseIntermediates: true` lets the tape own the large intermediate values fn's ops produce
 * (a fused recurrent layer's [T, B, H] outputs) and give their buffers back after backward, so a
 * training loop reuses them instead of allocating them each step. Reading such a value after
 * computeGradients returns then throws ('tensor used after its buffer was released'): use it
 * when fn returns only the loss and values it does not share (a model's own training step).
 */
export function computeGradients<R extends { loss: Tensor }>(model: Module, fn: () => R, opts: { checkNumerics?: boolean; releaseIntermediates?: boolean } = {}): R {
  checkOptions('computeGradients', opts, ['checkNumerics', 'releaseIntermediates']);
  if (opts.releaseIntermediates !== undefined && typeof opts.releaseIntermediates !== 'boolean') {
    throw new TensorError('computeGradients', `releaseIntermediates must be true or false, got ${String(opts.releaseIntermediates)}`);
  }
  const params = model.parameters();
  const tape = new Tape();
  tape.ownsOutputs = opts.releaseIntermediates === true;
  tape.watch(...params.map((p) => p.value));
  // A parameter of another module used inside fn would be a constant on this tape: no gradient,
  // and an optimizer over it would silently skip it. Name it instead.
  const foreign = new Map<Tensor, string>();
  tape.onInput = (t) => {
    if (tape.isTracked(t) || foreign.has(t)) return;
    const r = registeredParam(t);
    if (r) foreign.set(t, `'${r.param.name}' (${r.owner}, ${shapeStr(t.shape)})`);
  };
  let out: R;
  try {
    out = tape.run(fn);
  } finally {
    tape.onInput = undefined;
  }
  if (foreign.size) {
    throw new TensorError('computeGradients', `fn uses parameter${foreign.size > 1 ? 's' : ''} ${[...foreign.values()].join(', ')} that ${model.constructor.name} does not own, so ${foreign.size > 1 ? 'they' : 'it'} would get no gradient: register the module in the model (registerModule, ModuleList) or pass a model that holds it`);
  }
  if (!(out.loss instanceof Tensor) || out.loss.size !== 1) throw new TensorError('computeGradients', 'fn must return { loss } with a scalar loss tensor');
  const g = backward(tape, out.loss, { checkNumerics: opts.checkNumerics });
  for (const p of params) p.grad = g.get(p.value);
  return out;
}
