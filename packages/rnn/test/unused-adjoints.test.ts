import { DType, Rng, Tensor, arenaStats, normal, recurrence, scratchEmpty, setBackend } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { valueAndGrad } from '@unfold/autodiff';
import { GRU, LSTM, RecurrentLayer, SimpleRNN, recurrentSequenceOp } from '@unfold/rnn';

// The sequence op declares readsAdjointsOnly: an output the loss does not read (hN, cN in a
// many-to-many loss; the [T, B, H] output in a many-to-one one) gets a zero adjoint in a scratch
// buffer — under the wasm backend an arena block, reused and so holding old numbers, that
// backward zeroes and gives back right after the op's vjp. The gradients must be those of an
// explicit zero adjoint (0 · the unused output added to the loss), bit for bit, whatever the
// arena held before; and no block may stay behind.

type Kind = 'lstm' | 'gru' | 'rnn';
const make = (kind: Kind, dtype: DType): RecurrentLayer => {
  const c = { inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true, dtype, seed: 2 };
  return kind === 'lstm' ? new LSTM(c) : kind === 'gru' ? new GRU(c) : new SimpleRNN(c);
};

type Use = 'output' | 'final';
/** Gradients w.r.t. x, h0 and the parameters of a loss on the outputs only or the final states only; `explicit`: the others added times 0. */
function grads(layer: RecurrentLayer, x: Tensor, h0: Tensor, use: Use, explicit: boolean): number[][] {
  const params = layer.parameters();
  const originals = params.map((p) => p.value);
  const { grads: g } = valueAndGrad((ls: Tensor[]) => {
    ls.slice(2).forEach((v, i) => (params[i].value = v));
    const r = layer.forward(ls[0], { h0: ls[1] });
    const finals = [r.hN, ...(r.cN ? [r.cN] : [])];
    const rng = new Rng(9);
    const dot = (o: Tensor): Tensor => ad.sum(ad.mul(o, normal(o.shape, 0, 1, { rng, dtype: o.dtype })));
    const used = use === 'output' ? [r.output] : finals;
    const unused = use === 'output' ? finals : [r.output];
    let loss = used.map(dot).reduce((a, b) => ad.add(a, b));
    if (explicit) for (const u of unused) loss = ad.add(loss, ad.mul(ad.sum(u), 0));
    return loss;
  })([x, h0, ...originals]);
  params.forEach((p, i) => (p.value = originals[i]));
  return g.map((t) => Array.from(t.toFlatArray()));
}

/** Leaves dirty blocks in the arena: NaN in every float of a few scratch blocks, given back. */
function poisonArena(n: number): void {
  const ts = Array.from({ length: 8 }, () => scratchEmpty([n], 'float32'));
  for (const t of ts) t.data.fill(NaN);
  for (const t of ts) t.storage.release();
}

test('the sequence op reads its adjoints only', () => {
  expect(recurrentSequenceOp.readsAdjointsOnly).toBe(true);
});

describe.each(['js', 'wasm'] as const)('unused outputs of the sequence op (%s backend)', (backend) => {
  beforeAll(() => setBackend(backend));
  afterAll(() => setBackend('auto'));
  const [T, B, H] = [4, 3, 5];

  test.each(['lstm', 'gru', 'rnn'] as Kind[])('%s: the same gradients as explicit zero adjoints, after the arena held NaN', (kind) => {
    for (const dtype of ['float32', 'float64'] as DType[]) {
      const layer = make(kind, dtype);
      const x = normal([T, B, 3], 0, 1, { rng: new Rng(4), dtype });
      const h0 = normal([4, B, H], 0, 0.5, { rng: new Rng(5), dtype });
      for (const use of ['output', 'final'] as Use[]) {
        const want = grads(layer, x, h0, use, true);
        const live = backend === 'wasm' && recurrence() ? arenaStats().liveBlocks : 0;
        poisonArena(T * B * H);
        const got = grads(layer, x, h0, use, false);
        expect(got).toEqual(want);
        for (const g of got) expect(g.every(Number.isFinite)).toBe(true);
        if (backend === 'wasm' && recurrence()) expect(arenaStats().liveBlocks).toBe(live); // every scratch zero given back
      }
    }
  });

  test('negative control: the poisoned blocks are what a scratch buffer gets next, so a missing fill would show', () => {
    poisonArena(T * B * H);
    const t = scratchEmpty([T * B * H], 'float32');
    try {
      if (backend === 'wasm' && recurrence()) expect(Array.from(t.data.subarray(t.offset, t.offset + t.size)).some(Number.isNaN)).toBe(true);
      else expect(Array.from(t.data).every((v) => v === 0)).toBe(true); // a fresh array: zeros by construction
    } finally {
      t.storage.release();
    }
  });
});
