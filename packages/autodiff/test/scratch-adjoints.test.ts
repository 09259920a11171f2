import { Tensor, arenaStats, backendInfo, isResident, scratchEmpty, setBackend, tensor } from '@unfold/tensor';
import { OpDef, Tape, add, apply, apply1, backward, reshape, sum } from '@unfold/autodiff';

// Adjoints a vjp returns in scratch buffers (scratchEmpty: arena blocks marked Storage.scratch)
// have one holder and are given back once consumed (backward.ts). These tests use ops whose
// vjps return scratch buffers and check: the gradients, that every block goes back (the arena's
// live bytes return to where they were), and the aliasing rules — a pass-through view inherits
// the buffer, two holders drop the mark, a hook and a leaf get plain copies.

const wasm = backendInfo().simd;

/** y = 2x; its vjp returns dx = 2·dy in a fresh scratch buffer. */
const doubleOp: OpDef = {
  name: 'double',
  forward: ([x]) => {
    const y = Tensor.empty(x.shape, x.dtype);
    const xd = x.contiguous();
    for (let i = 0; i < y.size; i++) y.data[i] = 2 * xd.data[xd.offset + i];
    return { outputs: [y], saved: [] };
  },
  vjp: ([dy]) => {
    const dx = scratchEmpty(dy.shape, dy.dtype);
    const d = dy.contiguous();
    for (let i = 0; i < dx.size; i++) dx.data[dx.offset + i] = 2 * d.data[d.offset + i];
    return [dx];
  },
};
const double = (x: Tensor): Tensor => apply1(doubleOp, [x], {});

/** (a, b) = (x, x) as copies; its vjp returns dy0 + dy1 in a scratch buffer. */
const forkOp: OpDef = {
  name: 'fork',
  forward: ([x]) => ({ outputs: [x.clone(), x.clone()], saved: [] }),
  vjp: ([d0, d1]) => {
    const dx = scratchEmpty(d0.shape, d0.dtype);
    const a = d0.contiguous(), b = d1.contiguous();
    for (let i = 0; i < dx.size; i++) dx.data[dx.offset + i] = a.data[a.offset + i] + b.data[b.offset + i];
    return [dx];
  },
};

/** z = x + y (same shapes); its vjp hands dy itself to both inputs: two holders of one buffer. */
const passBothOp: OpDef = {
  name: 'passBoth',
  forward: ([x, y]) => {
    const z = Tensor.empty(x.shape, x.dtype);
    for (let i = 0; i < z.size; i++) z.data[i] = x.data[x.offset + i] + y.data[y.offset + i];
    return { outputs: [z], saved: [] };
  },
  vjp: ([dy]) => [dy, dy],
};

const f32 = (v: number[], shape: number[]): Tensor => tensor(v, shape, 'float32');
const values = (t: Tensor): number[] => Array.from(t.contiguous().data.subarray(t.contiguous().offset, t.contiguous().offset + t.size));

function grads(x: Tensor[], f: () => Tensor, opts: Parameters<typeof backward>[2] = {}): { g: Tensor[]; live: number } {
  const before = arenaStats().liveBytes;
  const tape = new Tape();
  tape.watch(...x);
  const y = tape.run(f);
  const g = backward(tape, y, opts);
  return { g: x.map((t) => g.get(t)), live: arenaStats().liveBytes - before };
}

(wasm ? describe : describe.skip)('scratch adjoints on the wasm arena', () => {
  beforeAll(() => setBackend('wasm'));
  afterAll(() => setBackend('auto'));

  test('scratchEmpty marks an arena block; float64 gets a plain unmarked array', () => {
    const s = scratchEmpty([3, 4], 'float32');
    expect(s.storage.scratch).toBe(true);
    expect(isResident(s)).toBe(true);
    s.storage.release();
    const p = scratchEmpty([3], 'float64');
    expect(p.storage.scratch).toBe(false);
    expect(isResident(p)).toBe(false);
  });

  test('a chain: each scratch dy goes back once the next vjp has run; the leaf gets a plain copy', () => {
    const x = f32([1, -2, 3, 0.5, 7, -1], [2, 3]);
    const { g, live } = grads([x], () => sum(double(double(double(x)))));
    expect(values(g[0])).toEqual([8, 8, 8, 8, 8, 8]);
    expect(isResident(g[0])).toBe(false); // what outlives backward is ordinary memory
    expect(live).toBe(0); // every scratch block went back
  });

  test('a pass-through view (reshape) inherits the buffer, then gives it back', () => {
    const x = f32([1, 2, 3, 4, 5, 6], [2, 3]);
    const { g, live } = grads([x], () => sum(double(reshape(double(x), [3, 2]))));
    expect(values(g[0])).toEqual([4, 4, 4, 4, 4, 4]);
    expect(live).toBe(0);
  });

  test('one buffer handed to two inputs has two holders: both gradients are right, then it goes back', () => {
    const x = f32([1, 2, 3], [3]);
    const w = f32([4, 5, 6], [3]);
    // d(sum(double(passBoth(double(x), double(w)))))/dx = 4 through both branches
    const { g, live } = grads([x, w], () => sum(double(apply1(passBothOp, [double(x), double(w)], {}))));
    expect(values(g[0])).toEqual([4, 4, 4]);
    expect(values(g[1])).toEqual([4, 4, 4]);
    expect(live).toBe(0);
  });

  test('a shared buffer is not added into in place while another holder reads it', () => {
    const x = f32([1, 2], [2]);
    const w = f32([3, 4], [2]);
    // u = double(x) feeds passBoth twice over (z2 = u + x, then z1 = u + w): walked backwards,
    // u's adjoint first receives the scratch buffer passBoth(u, w) also hands to w, then z2's
    const { g, live } = grads([x, w], () => {
      const u = double(x);
      const s2 = sum(apply1(passBothOp, [u, x], {}));
      const s1 = sum(double(apply1(passBothOp, [u, w], {})));
      return add(s2, s1);
    });
    expect(values(g[1])).toEqual([2, 2]); // ∂/∂w: 2 through the first double
    expect(values(g[0])).toEqual([7, 7]); // ∂/∂x: 2·(2 + 1) through u, + 1 directly
    expect(live).toBe(0);
  });

  test('contributions to a value used twice add into the scratch buffer; nothing is left behind', () => {
    const x = f32([1, 2, 3, 4], [4]);
    const { g, live } = grads([x], () => {
      const [a, b] = apply(forkOp, [double(x)], {});
      const h = double(x);
      return add(sum(apply1(passBothOp, [double(a), double(b)], {})), sum(double(h)));
    });
    // fork path: 2·(2 + 2) = 8; second path: 2·2 = 4
    expect(values(g[0])).toEqual([12, 12, 12, 12]);
    expect(live).toBe(0);
  });

  test('a hook (onRecord) is shown plain copies it may keep', () => {
    const x = f32([1, 2], [2]);
    const kept: Tensor[] = [];
    grads([x], () => sum(double(double(x))), { onRecord: (_r, _i, dys) => kept.push(...dys) });
    for (const d of kept) {
      expect(d.storage.scratch).toBe(false);
      expect(() => d.data).not.toThrow();
    }
    expect(kept.map(values)).toContainEqual([2, 2]); // ∂L/∂(inner double) after the outer one
  });
});

test('gradients of two leaves that receive one adjoint tensor (add hands dy to both) get buffers of their own', () => {
  const a = tensor([1, 2, 3], [3], 'float64');
  const b = tensor([4, 5, 6], [3], 'float64');
  const tape = new Tape();
  tape.watch(a, b);
  const y = tape.run(() => sum(add(a, b)));
  const g = backward(tape, y);
  const ga = g.get(a), gb = g.get(b);
  expect(ga.storage).not.toBe(gb.storage); // scaling one in place (clipping) must not scale the other
  expect(values(ga)).toEqual([1, 1, 1]);
  expect(values(gb)).toEqual([1, 1, 1]);
});
