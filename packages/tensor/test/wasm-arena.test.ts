import fc from 'fast-check';
import {
  Rng, Tensor, TensorError, WasmStorage, addressOf, arenaAlloc, arenaFree, arenaStats, backendInfo, gemmArrays, isResident, withPackedOperand,
  matmul, normal, residentEmpty, setArenaLimit, setBackend, toResident, transientEmpty,
} from '@unfold/tensor';
import { RESERVED } from '../src/wasm/arena';

// The arena (packages/tensor/src/wasm/arena.ts): blocks, reuse, growth, release, running out;
// resident tensors as GEMM operands (addressed in place) give the same bits as copied ones.

const wasm = backendInfo().simd;
const describeWasm = wasm ? describe : describe.skip;

describe('arena allocator', () => {
  test('blocks are 64-byte aligned, above the reserved kernel area, and an exact-size free block is reused', () => {
    const a = arenaAlloc(100);
    const b = arenaAlloc(100);
    expect(a % 64).toBe(0);
    expect(a).toBeGreaterThanOrEqual(RESERVED);
    expect(Math.abs(b - a)).toBeGreaterThanOrEqual(128); // 100 rounds up to 128
    arenaFree(a);
    expect(arenaAlloc(128)).toBe(a);
    arenaFree(a);
    arenaFree(b);
  });

  test('freeing what is not a live block is an error that says so', () => {
    const a = arenaAlloc(64);
    arenaFree(a);
    expect(() => arenaFree(a)).toThrow(/free of address \d+: not a live block \(double free\?\)/);
    expect(() => arenaFree(12345)).toThrow(TensorError);
    expect(() => arenaAlloc(-1)).toThrow(/cannot allocate -1 bytes/);
  });

  test('random alloc/free sequences: live blocks never overlap and keep their contents', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 300_000 })), { minLength: 1, maxLength: 60 }), (ops) => {
        const blocks: WasmStorage[] = [];
        let stamp = 1;
        const stamps = new Map<WasmStorage, number>();
        for (const [alloc, n] of ops) {
          if (alloc || blocks.length === 0) {
            const s = new WasmStorage(n >> 2 || 1);
            s.data.fill(stamp);
            stamps.set(s, stamp++);
            blocks.push(s);
          } else {
            const s = blocks.splice(n % blocks.length, 1)[0];
            expect(s.data.every((v) => v === stamps.get(s))).toBe(true);
            s.release();
          }
        }
        const spans = blocks.map((s) => [s.byteOffset, s.byteOffset + 4 * s.length] as const).sort((p, q) => p[0] - q[0]);
        for (let i = 1; i < spans.length; i++) expect(spans[i][0]).toBeGreaterThanOrEqual(spans[i - 1][1]);
        for (const s of blocks) {
          expect(s.data.every((v) => v === stamps.get(s))).toBe(true);
          s.release();
        }
      }),
      { numRuns: 40 },
    );
  });

  test('a view made before the memory grows still reads and writes the same elements', () => {
    const t = residentEmpty([4]);
    t.data.set([1, 2, 3, 4]);
    const before = t.data;
    const big = new WasmStorage((arenaStats().capacityBytes >> 2) + 1_000_000); // forces a grow
    expect(Array.from(t.data)).toEqual([1, 2, 3, 4]);
    before[0] = 9; // the old view (or, on a non-shared memory, the re-made one) is the same memory
    expect(t.get(0)).toBe(arenaStats().shared ? 9 : t.get(0));
    big.release();
    t.storage.release();
  });

  test('out of memory names the request and what is held', () => {
    const held = new WasmStorage(1 << 18); // 1 MiB
    setArenaLimit(arenaStats().capacityBytes);
    try {
      expect(() => new WasmStorage(1 << 28)).toThrow(/arena: out of memory: requested 1073741824 bytes \(1024\.0 MiB\); the arena holds \d+\.\d MiB in \d+ live blocks/);
    } finally {
      setArenaLimit();
      held.release();
    }
  });

  test('a released resident tensor throws on use instead of reading the reused block', () => {
    const t = residentEmpty([2, 3]);
    t.data.fill(1);
    const v = t.transpose();
    t.storage.release();
    t.storage.release(); // twice is harmless
    const other = residentEmpty([2, 3]); // likely the same block
    other.data.fill(7);
    expect(() => v.get(0, 0)).toThrow(/tensor used after its buffer was released/);
    expect(() => t.data).toThrow(TensorError);
    other.storage.release();
  });

  test('toResident copies any view; isResident tells arena tensors from plain ones; float64 is refused', () => {
    const x = normal([3, 5], 0, 1, { rng: new Rng(3) }).transpose().slice({ step: -1 });
    const r = toResident(x);
    expect(isResident(r)).toBe(true);
    expect(isResident(x)).toBe(false);
    expect(addressOf(r.data)).toBe((r.storage as WasmStorage).byteOffset);
    expect(r.toArray()).toEqual(x.toArray());
    expect(() => toResident(Tensor.empty([2], 'float64'))).toThrow(/toResident: \[2\] is float64; the wasm arena holds float32 only/);
    r.storage.release();
  });

  test('transientEmpty marks its storage transient; float64 stays a plain array', () => {
    const t = transientEmpty([2, 2], 'float32');
    expect(t.storage.transient).toBe(true);
    expect(isResident(t)).toBe(backendInfo().gemm === 'wasm-simd');
    const d = transientEmpty([2], 'float64');
    expect(d.storage.transient).toBe(true);
    expect(isResident(d)).toBe(false);
    t.storage.release();
  });
});

describeWasm('resident GEMM operands', () => {
  afterAll(() => setBackend('auto'));

  test('A, B, C in the arena (addressed in place) give the same bits as copied operands, in every transpose form', () => {
    setBackend('wasm', { minFlops: 0 });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 300 }),
        fc.boolean(), fc.boolean(), fc.constantFrom(0, 1, 0.5), fc.integer({ min: 0, max: 1000 }),
        (M, N, K, tA, tB, beta, seed) => {
          const rng = new Rng(seed);
          const A = normal(tA ? [K, M] : [M, K], 0, 1, { rng });
          const B = normal(tB ? [N, K] : [K, N], 0, 1, { rng });
          const C0 = normal([M, N], 0, 1, { rng });
          const lda = tA ? M : K, ldb = tB ? K : N;
          const plain = C0.clone();
          gemmArrays(tA, tB, M, N, K, 1.5, A.data, 0, lda, B.data, 0, ldb, beta, plain.data, 0, N);
          const [rA, rB, rC] = [toResident(A), toResident(B), toResident(C0)];
          gemmArrays(tA, tB, M, N, K, 1.5, rA.data, 0, lda, rB.data, 0, ldb, beta, rC.data, 0, N);
          expect(Array.from(rC.data)).toEqual(Array.from(plain.data));
          // Mixed: only the weight resident, C a plain array.
          const mixed = C0.clone();
          gemmArrays(tA, tB, M, N, K, 1.5, A.data, 0, lda, rB.data, 0, ldb, beta, mixed.data, 0, N);
          expect(Array.from(mixed.data)).toEqual(Array.from(plain.data));
          for (const r of [rA, rB, rC]) r.storage.release();
        },
      ),
      { numRuns: 60 },
    );
  });

  test('matmul of resident tensors equals matmul of plain ones', () => {
    setBackend('wasm', { minFlops: 0 });
    const rng = new Rng(11);
    const a = normal([7, 33], 0, 1, { rng });
    const b = normal([33, 9], 0, 1, { rng });
    const ra = toResident(a);
    const rb = toResident(b);
    expect(matmul(ra, rb).toArray()).toEqual(matmul(a, b).toArray());
    ra.storage.release();
    rb.storage.release();
  });
});

describeWasm('withPackedOperand: a B operand packed once for many products', () => {
  afterAll(() => setBackend('auto'));

  test('products inside the scope give the same bits as outside; other operands are untouched; the panels are freed', () => {
    setBackend('wasm', { minFlops: 0 });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 300 }), fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 1000 }),
        (M, N, K, trans, resident, seed) => {
          const rng = new Rng(seed);
          const w0 = normal(trans ? [N, K] : [K, N], 0, 1, { rng });
          const w = resident ? toResident(w0) : w0;
          const a = normal([M, K], 0, 1, { rng });
          const other = normal(trans ? [N, K] : [K, N], 0, 1, { rng });
          const plain = matmul(a, w, { transB: trans });
          const plainOther = matmul(a, other, { transB: trans });
          const live = arenaStats().liveBytes;
          const saved = w.data.slice();
          const [inside, insideOther] = withPackedOperand(w, trans, () => {
            // Breaking the scope's promise on purpose: w changes after it was packed. The product
            // must still see the packed (old) values — proof that the panels are what it read.
            w.data.fill(0);
            return [matmul(a, w, { transB: trans }), matmul(a, other, { transB: trans })];
          });
          w.data.set(saved);
          expect(Array.from(inside.data)).toEqual(Array.from(plain.data));
          expect(Array.from(insideOther.data)).toEqual(Array.from(plainOther.data));
          expect(arenaStats().liveBytes).toBe(live);
          if (resident) w.storage.release();
        },
      ),
      { numRuns: 40 },
    );
  });
});
