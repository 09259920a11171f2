import { Rng, Tensor, tensor } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { Adam, Dropout, Embedding, GRU, LSTM, Lambda, LastStep, Linear, ModuleDict, ModuleList, Module, Sequential, computeGradients, summary, summaryRows } from '@unfold/rnn';

describe('ModuleList / ModuleDict', () => {
  test('qualified names: two Linears share one optimizer and one state dict', () => {
    const list = new ModuleList([new Linear(3, 4), new Linear(4, 2, { rng: new Rng(1) })]);
    expect(list.parameters().map((p) => p.name)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias']);
    expect(() => new Adam(list.parameters())).not.toThrow();
    // without a container the same two layers collide, which is what the container fixes
    expect(() => new Adam([...new Linear(3, 4).parameters(), ...new Linear(4, 2).parameters()])).toThrow(/appears twice/);
    const dict = new ModuleDict({ encoder: new Linear(2, 3), decoder: new Linear(3, 2) });
    expect(Object.keys(dict.stateDict())).toEqual(['encoder.weight', 'encoder.bias', 'decoder.weight', 'decoder.bias']);
    expect(dict.get('decoder').outFeatures).toBe(2);
    expect(list.get(-1)).toBe(list.get(1));
    expect([...list].length).toBe(2);
  });

  test('a model holding a ModuleList gets gradients for every child (none is foreign)', () => {
    class Stack extends Module {
      readonly layers = this.registerModule('layers', new ModuleList([new Linear(2, 2, { dtype: 'float64' }), new Linear(2, 1, { dtype: 'float64' })]));
    }
    const m = new Stack();
    const x = tensor([1, 2], [1, 2], 'float64');
    computeGradients(m, () => ({ loss: ad.sum(m.layers.get(1).forward(m.layers.get(0).forward(x))) }));
    expect(m.parameters().map((p) => p.name)).toEqual(['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias']);
    expect(m.parameters().every((p) => p.grad !== null)).toBe(true);
  });

  test('bad input is named', () => {
    expect(() => new ModuleList([{} as never])).toThrow('ModuleList: item 0 is not a Module');
    expect(() => new ModuleList([]).get(0)).toThrow('ModuleList: index 0 is out of range for 0 modules');
    expect(() => new ModuleDict({ 'a.b': new Linear(1, 1) })).toThrow("key must be a non-empty string without '.'");
    expect(() => new ModuleDict({}).get('x')).toThrow("ModuleDict: no module 'x'");
  });
});

describe('Sequential', () => {
  test('chains layers; a recurrent layer passes its output on, LastStep its final state', () => {
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 4, dtype: 'float64', seed: 2 });
    const fc = new Linear(4, 2, { dtype: 'float64' });
    const seq = new Sequential(new LastStep(lstm), fc);
    const x = tensor(Array.from({ length: 5 * 2 * 3 }, (_, i) => Math.sin(i)), [5, 2, 3], 'float64');
    const y = seq.forward(x);
    const ref = fc.forward(ad.slice(lstm.forward(x).output, 4)); // the last step's output
    expect(y.shape).toEqual([2, 2]);
    expect(Array.from(y.toFlatArray())).toEqual(Array.from(ref.toFlatArray()));
    expect(Object.keys(seq.stateDict())).toEqual(['0.layer.weight_ih_l0', '0.layer.weight_hh_l0', '0.layer.bias_ih_l0', '0.layer.bias_hh_l0', '1.weight', '1.bias']);
  });

  test('lengths reach the recurrent layers; bidirectional LastStep concatenates both directions', () => {
    const gru = new GRU({ inputSize: 2, hiddenSize: 3, bidirectional: true, dtype: 'float64', seed: 4 });
    const seq = new Sequential(new LastStep(gru));
    const x = tensor(Array.from({ length: 4 * 2 * 2 }, (_, i) => Math.cos(i)), [4, 2, 2], 'float64');
    const y = seq.forward(x, { lengths: [4, 2] });
    const { hN } = gru.forward(x, { lengths: [4, 2] });
    expect(y.shape).toEqual([2, 6]);
    expect(Array.from(ad.slice(y, null, { start: 3, stop: 6 }).toFlatArray())).toEqual(Array.from(ad.slice(hN, 1).toFlatArray()));
  });

  test('LastStep merges the two directions as the layer\'s mergeMode says', () => {
    const x = tensor(Array.from({ length: 3 * 2 * 2 }, (_, i) => Math.sin(i)), [3, 2, 2], 'float64');
    const mk = (mergeMode: 'concat' | 'sum') => new GRU({ inputSize: 2, hiddenSize: 3, bidirectional: true, mergeMode, dtype: 'float64', seed: 6 });
    const { hN } = mk('sum').forward(x);
    const y = new LastStep(mk('sum')).forward(x);
    expect(y.shape).toEqual([2, 3]);
    expect(Array.from(y.toFlatArray())).toEqual(Array.from(ad.add(ad.slice(hN, 0), ad.slice(hN, 1)).toFlatArray()));
    expect(new LastStep(mk('concat')).forward(x).shape).toEqual([2, 6]);
  });

  test('summary: layers, output shapes and parameter counts; dropout streams untouched', () => {
    const drop = new Dropout(0.5, new Rng(3));
    const seq = new Sequential(new Embedding(10, 4), new LastStep(new LSTM({ inputSize: 4, hiddenSize: 5 })), drop, new Lambda(ad.tanh, 'tanh'), new Linear(5, 3));
    const ids = tensor([1, 2, 3, 4, 5, 6], [3, 2]);
    const before = drop.rngStates();
    const rows = summaryRows(seq, ids);
    expect(drop.rngStates()).toEqual(before);
    expect(seq.training).toBe(true);
    expect(rows.map((r) => [r.name, r.type, r.outputShape, r.params])).toEqual([
      ['0', 'Embedding', [3, 2, 4], 40],
      ['1', 'LastStep', [2, 5], 4 * 5 * (4 + 5 + 2)],
      ['2', 'Dropout', [2, 5], 0],
      ['3', 'Lambda', [2, 5], 0],
      ['4', 'Linear', [2, 3], 18],
    ]);
    const text = seq.summary(ids);
    expect(text).toBe(summary(seq, ids));
    expect(text).toContain('1 (LastStep)');
    expect(text).toContain('[2, 5]');
    expect(text.split('\n').pop()).toBe(`Total params: ${(40 + 220 + 18).toLocaleString('en-US')}`);
    // any module, without shapes
    expect(summary(new ModuleDict({ a: new Linear(2, 2) }))).toMatch(/a \(Linear\)\s+-\s+6/);
    expect(() => summary(new ModuleDict({}), ids)).toThrow('output shapes need a Sequential');
  });

  test('bad layers are named', () => {
    expect(() => new Sequential({ forward: (x: Tensor) => x } as never)).toThrow('Sequential: layer 0 must be a Module');
    expect(() => new Sequential().forward(tensor([1], [1]))).toThrow('Sequential: has no layers');
  });
});
