import { Tensor, TensorError, fillInPlace, sameShape, shapeStr, zeros } from '@unfold/tensor';
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
 *
 * `reuseGradBuffers: true` writes each gradient into the parameter's existing `.grad` tensor
 * (when it has the parameter's shape and dtype) instead of a new one, as PyTorch's `.grad`
 * persists across steps; a `.grad` kept from the previous call is then overwritten.
 */
export function computeGradients<R extends { loss: Tensor }>(
  model: Module, fn: () => R, opts: { checkNumerics?: boolean; releaseIntermediates?: boolean; reuseGradBuffers?: boolean } = {},
): R {
  checkOptions('computeGradients', opts, ['checkNumerics', 'releaseIntermediates', 'reuseGradBuffers']);
  for (const k of ['releaseIntermediates', 'reuseGradBuffers'] as const) {
    if (opts[k] !== undefined && typeof opts[k] !== 'boolean') throw new TensorError('computeGradients', `${k} must be true or false, got ${String(opts[k])}`);
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
  const gradBuffers = opts.reuseGradBuffers ? new Map(params.map((p) => [p.value, gradBuffer(p.value, p.grad)])) : undefined;
  const g = backward(tape, out.loss, { checkNumerics: opts.checkNumerics, gradBuffers });
  // (backward gives each parameter's gradient a buffer of its own: Adjoints.settleScratch)
  for (const p of params) {
    const b = gradBuffers?.get(p.value);
    p.grad = b && !g.connected(p.value) ? fillInPlace(b, 0) : g.get(p.value); // no path to the loss: zeros, in the same buffer
  }
  return out;
}

/**
 * The parameter's last gradient when it can be written into again, else a new buffer. (Plain
 * memory, not the arena: the optimizer's kernel copies it in, which costs no measurable time,
 * and arena-backed gradients made V8 deoptimize the inference path's kernels at every major GC.)
 */
function gradBuffer(value: Tensor, grad: Tensor | null): Tensor {
  if (grad instanceof Tensor && !grad.storage.released && sameShape(grad.shape, value.shape) && grad.dtype === value.dtype && grad.isContiguous()) return grad;
  return zeros(value.shape, value.dtype);
}
