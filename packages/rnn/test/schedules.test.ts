import { TensorError, zeros } from '@unfold/tensor';
import { SGD, Schedule, compose, constant, cosine, cyclic, exponential, linearWarmup, sequential, stepDecay } from '../src/optim';

const at = (s: Schedule, steps: number[]): number[] => steps.map((t) => s(t));
const close = (got: number[], want: number[]): void => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 12));
};

describe('schedule values at known steps', () => {
  test('constant', () => close(at(constant(0.3), [0, 1, 1000]), [0.3, 0.3, 0.3]));
  test('stepDecay (StepLR)', () => close(at(stepDecay(1, 3, 0.5), [0, 2, 3, 5, 6, 9]), [1, 1, 0.5, 0.5, 0.25, 0.125]));
  test('exponential (ExponentialLR)', () => close(at(exponential(2, 0.9), [0, 1, 2, 10]), [2, 1.8, 1.62, 2 * 0.9 ** 10]));
  test('cosine (CosineAnnealingLR closed form), held at minLr after totalSteps', () => {
    close(at(cosine(1, 4, 0.2), [0, 1, 2, 3, 4, 5, 100]), [1, 0.2 + 0.8 * (1 + Math.SQRT1_2) / 2, 0.6, 0.2 + 0.8 * (1 - Math.SQRT1_2) / 2, 0.2, 0.2, 0.2]);
    close(at(cosine(0.1, 10), [0, 5, 10]), [0.1, 0.05, 0]);
  });
  test('cyclic triangular (CyclicLR): base → max at stepSize → base at 2·stepSize, repeating', () => {
    close(at(cyclic(0.1, 0.5, 4), [0, 1, 2, 4, 6, 8, 10, 12, 16]), [0.1, 0.2, 0.3, 0.5, 0.3, 0.1, 0.3, 0.5, 0.1]);
  });
  test('cyclic triangular2: amplitude halves every cycle', () => {
    close(at(cyclic(0, 1, 2, 'triangular2'), [0, 1, 2, 3, 4, 5, 6, 8, 10, 12]), [0, 0.5, 1, 0.5, 0, 0.25, 0.5, 0, 0.25, 0]);
  });
  test('linearWarmup: (step+1)/warmup · then(0), then then() on its own clock', () => {
    const s = linearWarmup(4, stepDecay(0.8, 2, 0.5));
    close(at(s, [0, 1, 2, 3, 4, 5, 6, 7, 8]), [0.2, 0.4, 0.6, 0.8, 0.8, 0.8, 0.4, 0.4, 0.2]);
    const wc = linearWarmup(2, cosine(1, 4));
    close(at(wc, [0, 1, 2, 4, 6]), [0.5, 1, 1, 0.5, 0]);
  });
  test('sequential (SequentialLR): each schedule restarts at its milestone', () => {
    const s = sequential([constant(0.01), exponential(1, 0.5), constant(0.3)], [2, 5]);
    close(at(s, [0, 1, 2, 3, 4, 5, 99]), [0.01, 0.01, 1, 0.5, 0.25, 0.3, 0.3]);
    close(at(sequential([constant(7)], []), [0, 50]), [7, 7]);
  });
  test('compose: pointwise product (multipliers built with lr 1)', () => {
    const s = compose(cosine(2, 8), cyclic(0.5, 1, 2));
    close(at(s, [0, 2, 4, 8]), [2 * 0.5, (1 + Math.SQRT1_2) * 1, 1 * 0.5, 0]);
    close(at(compose(constant(3), exponential(1, 0.5)), [0, 3]), [3, 0.375]);
  });
});

describe('schedule arguments', () => {
  test.each([
    [() => constant(-1), /constant: lr must be a finite number >= 0, got -1/],
    [() => constant(NaN), /constant: lr must be/],
    [() => stepDecay(1, 0, 0.5), /stepDecay: stepSize must be an integer >= 1, got 0/],
    [() => stepDecay(1, 2.5, 0.5), /stepSize must be an integer >= 1, got 2.5/],
    [() => stepDecay(1, 2, 0), /gamma must be a finite number > 0, got 0/],
    [() => exponential(1, -0.5), /exponential: gamma/],
    [() => cosine(1, 0), /cosine: totalSteps must be an integer >= 1/],
    [() => cosine(1, 10, -1), /cosine: minLr must be a finite number >= 0/],
    [() => cyclic(0.5, 0.1, 4), /cyclic: maxLr must be >= baseLr, got maxLr 0.1 < baseLr 0.5/],
    [() => cyclic(0.1, 0.5, 4, 'exp_range' as 'triangular'), /cyclic: mode must be 'triangular' or 'triangular2', got 'exp_range'/],
    [() => linearWarmup(0, constant(1)), /linearWarmup: warmupSteps must be an integer >= 1, got 0/],
    [() => linearWarmup(3, 0.1 as unknown as Schedule), /linearWarmup: then must be a schedule/],
    [() => sequential([constant(1), constant(2)], []), /sequential: 2 schedules need 1 milestones, got 0/],
    [() => sequential([constant(1), constant(2), constant(3)], [5, 5]), /milestones must increase strictly, got \[5, 5\]/],
    [() => sequential([], []), /sequential: needs at least one schedule/],
    [() => compose(), /compose: needs at least one schedule/],
  ])('%#: %p', (make, msg) => {
    expect(make).toThrow(TensorError);
    expect(make).toThrow(msg);
  });
  test.each([-1, 1.5, NaN])('step %p is rejected', (t) => {
    expect(() => cosine(1, 10)(t)).toThrow(/cosine: step must be a non-negative integer/);
  });
});

test('driving an optimizer: opt.lr = schedule(step)', () => {
  const p = { name: 'w', value: zeros([1], 'float64'), grad: zeros([1], 'float64') };
  p.grad.data[0] = -1; // each step moves w by +lr
  const sched = linearWarmup(2, cosine(0.1, 4));
  const opt = new SGD([p], { lr: 1 });
  let want = 0;
  for (let t = 0; t < 8; t++) {
    opt.lr = sched(t);
    want += sched(t);
    opt.step();
  }
  expect(p.value.data[0]).toBeCloseTo(want, 14);
  expect(opt.lr).toBe(0); // cosine reached minLr = 0 and the setter accepted it
});
