import { Tensor, tensor, zeros } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { Tape, backward, detach, grad, noGrad, unroll, valueAndGrad } from '@unfold/autodiff';

const W = () => tensor([[0.5, -0.3], [0.2, 0.8]], undefined, 'float64');

describe('the tape', () => {
  test('is a flat list of printable records tagged with their time step', () => {
    const w = W();
    const tape = new Tape();
    tape.watch(w);
    const h0 = zeros([1, 2], 'float64');
    const xs = [tensor([[1, 0]], undefined, 'float64'), tensor([[0, 1]], undefined, 'float64'), tensor([[1, 1]], undefined, 'float64')];
    const { states } = unroll(([h], x) => [ad.tanh(ad.add(ad.matmul(h, w, { transB: true }), x))], [h0], xs, tape);
    expect(states).toHaveLength(3);
    expect(tape.entries.map((r) => [r.op, r.step])).toEqual([
      ['matmul', 1], ['add', 1], ['tanh', 1],
      ['matmul', 2], ['add', 2], ['tanh', 2],
      ['matmul', 3], ['add', 3], ['tanh', 3],
    ]);
    const text = tape.toString();
    expect(text.split('\n')).toHaveLength(9);
    expect(text).toMatch(/^#0\s+t=1\s+%\d+\[1,2\] = matmul\(%\d+\[1,2\], %\d+\[2,2\]\)  saved 2/);
    expect(text).toMatch(/t=3\s+%\d+\[1,2\] = tanh\(%\d+\[1,2\]\)  saved 1/);
  });

  test('saved bytes count each storage once; records keep only what ops declare', () => {
    const w = W();
    const tape = new Tape();
    tape.watch(w);
    tape.run(() => ad.tanh(ad.matmul(w, w)));
    // matmul saves a, b (the same storage: 32 bytes); tanh saves its output (32 bytes)
    expect(tape.savedBytes()).toBe(64);
    expect(tape.entries[1].saved).toHaveLength(1);
  });

  test('adjoints accumulate over uses; disconnected inputs get zeros', () => {
    const [gx, gy] = grad(([x, y]: Tensor[]) => ad.add(ad.mul(x, x), ad.mul(x, 3)))([tensor(2, [], 'float64'), tensor(5, [], 'float64')]);
    expect(gx.item()).toBe(7); // d/dx (x² + 3x) = 2x + 3
    expect(gy.item()).toBe(0);
  });

  test('a tree of inputs gives a tree of gradients', () => {
    const { value, grads } = valueAndGrad((p: { a: Tensor; b: Tensor[] }) => ad.sum(ad.mul(p.a, p.b[0])))({ a: tensor([1, 2]), b: [tensor([3, 4])] });
    expect(value.item()).toBe(11);
    expect(grads.a.toFlatArray()).toEqual([3, 4]);
    expect(grads.b[0].toFlatArray()).toEqual([1, 2]);
  });

  test('constants get no adjoint work, and watched inputs the same gradients as when all are watched', () => {
    const x = tensor([[1, 0, 0], [0, 0, 1]], undefined, 'float64'); // a one-hot input: a constant
    const w = tensor([[0.1, 0.2, 0.3], [0.4, -0.5, 0.6]], undefined, 'float64');
    const f = () => ad.sum(ad.tanh(ad.matmul(x, w, { transB: true })));
    const only = new Tape();
    only.watch(w);
    const gw = backward(only, only.run(f)).get(w).toFlatArray();
    const all = new Tape();
    all.watch(w, x);
    const g = backward(all, all.run(f));
    expect(gw).toEqual(g.get(w).toFlatArray());
    expect(g.connected(x)).toBe(true);
    const again = new Tape();
    again.watch(w);
    const y = again.run(f);
    let vjpNeeds: boolean[] = [];
    backward(again, y, { onRecord: (r) => { if (r.op === 'matmul') vjpNeeds = r.inputs.map((i) => again.isTrackedId(i.id)); } });
    expect(vjpNeeds).toEqual([false, true]);
  });

  test('noGrad and detach stop recording', () => {
    const w = W();
    const tape = new Tape();
    tape.watch(w);
    const y = tape.run(() => {
      noGrad(() => ad.exp(w));
      return ad.mul(detach(w), 2);
    });
    expect(tape.entries).toHaveLength(0);
    expect(tape.isTracked(y)).toBe(false);
  });

  test('saved tensors are released after backward; a second backward throws', () => {
    const w = W();
    const tape = new Tape();
    tape.watch(w);
    const y = tape.run(() => ad.sum(ad.tanh(w)));
    backward(tape, y);
    expect(tape.savedBytes()).toBe(0);
    expect(() => backward(tape, y)).toThrow('backward: this tape was already walked and its saved tensors released');
  });

  test('retain keeps the tape for a second walk with identical results', () => {
    const w = W();
    const tape = new Tape();
    tape.watch(w);
    const y = tape.run(() => ad.sum(ad.tanh(w)));
    const g1 = backward(tape, y, { retain: true }).get(w).toFlatArray();
    expect(backward(tape, y).get(w).toFlatArray()).toEqual(g1);
  });
});

describe('bad input', () => {
  test('non-scalar output without a seed', () => {
    expect(() => grad((x: Tensor) => ad.mul(x, 2))(tensor([1, 2]))).toThrow('backward: output has shape [2]; a non-scalar output needs a seed');
  });
  test('a seed of the wrong shape', () => {
    expect(() => grad((x: Tensor) => ad.mul(x, 2), { seed: tensor([1, 2, 3]) })(tensor([1, 2]))).toThrow('backward: seed [3] float32 does not match output [2] float32');
  });
  test('a function that returns something not differentiable', () => {
    expect(() => grad(((x: Tensor) => x.toFlatArray()) as unknown as (x: Tensor) => Tensor)(tensor([1]))).toThrow('grad: the function returned object, not a Tensor');
  });
  test('inputs that are not tensors', () => {
    expect(() => grad((x: Tensor) => x)([1, 2] as unknown as Tensor)).toThrow('grad: inputs must be tensors');
  });
  test('checkNumerics names the op', () => {
    expect(() => grad((x: Tensor) => ad.sum(ad.sqrt(x)), { checkNumerics: true })(tensor([0, 1], undefined, 'float64'))).toThrow(
      'checkNumerics: Infinity in the adjoint of input 0 of sqrt',
    );
  });
  test('matmul shape errors come from the kernel with both shapes', () => {
    expect(() => ad.matmul(zeros([32, 65]), zeros([128, 512]))).toThrow('matmul: [32,65] × [128,512]: inner dimensions 65 ≠ 128');
  });
});
