import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { Rng, Tensor, tensor } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { activeTape, gradCheck } from '@unfold/autodiff';
import { GRUCell, LSTMCell, RNNCell, loadPytorchJson } from '@unfold/rnn';
import { maxErr } from './max-err';

// torch.nn.RNNCell / LSTMCell / GRUCell against fixtures/torch_cells.py (Debian python3-torch,
// float64): values, and gradients of L = Σ_t Σ h_t ⊙ u_t for every parameter, input and state.
interface E { shape: number[]; data: number[] }
interface Case {
  name: string; kind: 'rnn' | 'lstm' | 'gru'; inputSize: number; hiddenSize: number; options: { bias?: boolean; nonlinearity?: 'tanh' | 'relu' };
  stateDict: Record<string, E>; xs: E; h0: E; c0?: E; us: E; hs: E; cs?: E; grads: Record<string, E>; dxs: E; dh0: E; dc0?: E;
}
const fx = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'torch_cells.json'), 'utf8')) as { source: string; cases: Case[] };
const T64 = (e: E) => tensor(e.data, e.shape, 'float64');

type AnyCell = RNNCell | LSTMCell | GRUCell;
function build(c: Case, fused: boolean): AnyCell {
  const o = { ...c.options, fused, dtype: 'float64' as const };
  return c.kind === 'lstm' ? new LSTMCell(c.inputSize, c.hiddenSize, o) : c.kind === 'gru' ? new GRUCell(c.inputSize, c.hiddenSize, o) : new RNNCell(c.inputSize, c.hiddenSize, o);
}
/** Runs the loop over t; returns the stacked h (and c) and L. */
function run(cell: AnyCell, xs: Tensor, h0: Tensor, c0: Tensor | undefined, us: Tensor) {
  const T = xs.shape[0];
  let h = h0;
  let c = c0;
  const hs: Tensor[] = [];
  const cs: Tensor[] = [];
  let loss: Tensor | null = null;
  for (let t = 0; t < T; t++) {
    const x = ad.slice(xs, t);
    if (cell instanceof LSTMCell) [h, c] = cell.forward(x, [h, c!]);
    else h = cell.forward(x, h);
    hs.push(h);
    if (c) cs.push(c);
    const l = ad.sum(ad.mul(h, ad.slice(us, t)));
    loss = loss ? ad.add(loss, l) : l;
  }
  return { hs: ad.stack(hs, 0), cs: cs.length ? ad.stack(cs, 0) : undefined, loss: loss! };
}

describe(`cell modules against ${fx.source}`, () => {
  test.each(fx.cases.flatMap((c) => [true, false].map((fused) => [c.name, fused, c] as const)))('%s (fused: %s)', (_, fused, c) => {
    const cell = build(c, fused);
    expect(cell.namedParameters().map(([n, p]) => [n, p.value.shape])).toEqual(Object.entries(c.stateDict).map(([n, e]) => [n, e.shape]));
    cell.loadStateDict(c.stateDict);
    const xs = T64(c.xs), h0 = T64(c.h0), c0 = c.c0 ? T64(c.c0) : undefined, us = T64(c.us);
    const params = cell.parameters();
    const f = (leaves: Tensor[]) => {
      const [x, h, cc, ...ps] = leaves;
      ps.forEach((p, i) => (params[i].value = p));
      return run(cell, x, h, c0 ? cc : undefined, us).loss;
    };
    const leaves = [xs, h0, c0 ?? h0, ...params.map((p) => p.value)];
    const originals = params.map((p) => p.value);
    const { grads } = ad.valueAndGrad(f)(leaves);
    params.forEach((p, i) => (p.value = originals[i]));
    const r = ad.noGrad(() => run(cell, xs, h0, c0, us));
    expect(maxErr(r.hs, T64(c.hs))).toBeLessThan(1e-13);
    if (c.cs) expect(maxErr(r.cs!, T64(c.cs))).toBeLessThan(1e-13);
    expect(maxErr(grads[0], T64(c.dxs))).toBeLessThan(1e-12);
    expect(maxErr(grads[1], T64(c.dh0))).toBeLessThan(1e-12);
    if (c.dc0) expect(maxErr(grads[2], T64(c.dc0))).toBeLessThan(1e-12);
    params.forEach((p, i) => expect(maxErr(grads[3 + i], T64(c.grads[p.name]))).toBeLessThan(1e-12));
  });

  test('negative control: the gate blocks in the wrong order do not match torch', () => {
    const c = fx.cases.find((k) => k.name === 'lstm')!;
    const cell = build(c, true);
    const H = c.hiddenSize;
    const sd = { ...c.stateDict };
    const w = sd.weight_ih;
    const rows = w.shape[1];
    const blocks = [0, 1, 2, 3].map((g) => w.data.slice(g * H * rows, (g + 1) * H * rows));
    sd.weight_ih = { shape: w.shape, data: [blocks[1], blocks[0], blocks[2], blocks[3]].flat() }; // f, i swapped
    cell.loadStateDict(sd);
    const r = ad.noGrad(() => run(cell, T64(c.xs), T64(c.h0), T64(c.c0!), T64(c.us)));
    expect(maxErr(r.hs, T64(c.hs))).toBeGreaterThan(1e-3);
  });

  test('loads a torch export through loadPytorchJson', () => {
    const c = fx.cases.find((k) => k.name === 'gru')!;
    const cell = build(c, true);
    cell.loadStateDict(loadPytorchJson(JSON.stringify(c.stateDict)));
    expect(maxErr(cell.weightHh, T64(c.stateDict.weight_hh))).toBe(0);
  });
});

describe('cell modules: gradCheck in float64 over generated shapes', () => {
  const arb = fc.record({ I: fc.integer({ min: 1, max: 3 }), H: fc.integer({ min: 1, max: 3 }), B: fc.integer({ min: 0, max: 3 }), kind: fc.constantFrom('rnn', 'relu', 'lstm', 'gru'), bias: fc.boolean(), fused: fc.boolean(), seed: fc.integer({ min: 1, max: 1000 }) });
  test('RNNCell / LSTMCell / GRUCell w.r.t. x, state and every parameter', () => {
    fc.assert(
      fc.property(arb, ({ I, H, B, kind, bias, fused, seed }) => {
        const o = { bias, fused, dtype: 'float64' as const, rng: new Rng(seed) };
        const cell = kind === 'lstm' ? new LSTMCell(I, H, o) : kind === 'gru' ? new GRUCell(I, H, o) : new RNNCell(I, H, { ...o, nonlinearity: kind === 'relu' ? 'relu' : 'tanh' });
        const rng = new Rng(seed + 1);
        const shape = (n: number) => (B === 0 ? [n] : [B, n]); // B = 0: unbatched input
        const rand = (n: number) => tensor(Array.from({ length: shape(n).reduce((a, b) => a * b, 1) }, () => rng.next() * 2 - 1), shape(n), 'float64');
        const x = rand(I), h = rand(H), c = rand(H);
        const params = cell.parameters();
        const originals = params.map((p) => p.value);
        const f = (xi: Tensor, hi: Tensor, ci: Tensor, ...ps: Tensor[]) => {
          ps.forEach((p, i) => (params[i].value = p));
          if (cell instanceof LSTMCell) return ad.concat(cell.forward(xi, [hi, ci]).map((t) => ad.reshape(t, [-1])), 0);
          return ad.add(ad.reshape(cell.forward(xi, hi), [-1]), ad.mul(ad.sum(ci), 0)); // c unused: gradient 0
        };
        try {
          const rep = gradCheck(f, [x, h, c, ...originals], { seed });
          if (!rep.ok) throw new Error(`${kind} I${I} H${H} B${B} bias ${bias} fused ${fused}: ${rep.toString()}`);
        } finally {
          params.forEach((p, i) => (p.value = originals[i]));
        }
      }),
      { numRuns: 24, seed: 17 },
    );
  });

  test('the check can fail: a 1 % error in the recorded (differentiated) path is caught', () => {
    const cell = new LSTMCell(2, 3, { dtype: 'float64', rng: new Rng(4) });
    const x = tensor([0.3, -0.2, 0.5, 0.1], [2, 2], 'float64');
    // the forward seen by finite differences (no tape) differs by 1 % from the one differentiated
    const f = (xi: Tensor) => {
      const [h] = cell.forward(xi);
      return activeTape() ? ad.mul(h, 1.01) : h;
    };
    expect(gradCheck(f, [x], { seed: 2 }).ok).toBe(false);
  });
});

describe('cell modules: bad input', () => {
  test('named errors', () => {
    const cell = new LSTMCell(3, 2);
    expect(() => cell.forward(tensor([1, 2], [1, 2]))).toThrow('LSTMCell: input must be [B, 3] or [3], got [1,2]');
    expect(() => cell.forward(tensor([1, 2, 3], [1, 3]), [tensor([1, 2, 3], [1, 3]), tensor([1, 2], [1, 2])])).toThrow('LSTMCell: h must be [1,2] for input [1,3], got [1,3]');
    expect(() => new GRUCell(3, 0)).toThrow('GRUCell: hiddenSize must be a positive integer, got 0');
    expect(() => new RNNCell(3, 2, { nonlinearity: 'sigmoid' as never })).toThrow("RNNCell: nonlinearity must be 'tanh' or 'relu'");
    expect(() => new RNNCell(3, 2, { bais: false } as never)).toThrow(/RNNCell: unknown option bais \(valid: bias, fused, rng, dtype, nonlinearity\)/);
    expect(() => cell.forward(tensor([1, 2, 3], [1, 3], 'float64'))).toThrow('LSTMCell: input is float64, the cell is float32');
  });
  test('names and counts as torch: weight_ih [4H, I], …', () => {
    const cell = new LSTMCell(3, 2, { bias: false });
    expect(cell.namedParameters().map(([n, p]) => `${n}:${p.value.shape.join('x')}`)).toEqual(['weight_ih:8x3', 'weight_hh:8x2']);
    expect(new GRUCell(3, 2).numParameters()).toBe(3 * 2 * (3 + 2 + 2));
  });
});
