import { Rng, arenaAlloc, arenaFree, backendInfo, recurrence, RecurrenceCall, setBackend, setThreads } from '@unfold/tensor';

// The recurrence module on its own (packages/tensor/src/wasm/recurrence.ts): an Elman tanh
// forward and backward against a float64 loop written here, for several row splits and thread
// counts; a trap inside a part (a bad address) is an error on the caller, and the pool keeps working.
// (The LSTM/GRU paths and masking are tested through the layers: packages/rnn/test/layers-sequence-wasm.test.ts.)

const wasm = backendInfo().simd;
(wasm ? describe : describe.skip)('recurrence kernels', () => {
  beforeAll(() => setBackend('wasm'));
  afterAll(() => {
    setThreads(1);
    setBackend('auto');
  });

  const [T, B, H] = [4, 6, 5];
  const rng = new Rng(3);
  const draw = (n: number, s: number) => Float64Array.from({ length: n }, () => (rng.next() * 2 - 1) * s);
  const xp = draw(T * B * H, 1), h0 = draw(B * H, 0.5), W = draw(H * H, 0.4), dOut = draw(T * B * H, 1); // W: [H, H] = W_hh
  const f32 = (a: Float64Array) => Float32Array.from(a);

  /** h_{t+1} = tanh(xp_t + h_t W_hhᵀ); backward of Σ dOut ⊙ out with no dhN: dh0 and dxp (dW_hh is the caller's one GEMM afterwards). */
  function reference() {
    const S = [Float64Array.from(h0)];
    for (let t = 0; t < T; t++) {
      const h = new Float64Array(B * H);
      for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) {
        let a = xp[(t * B + b) * H + j];
        for (let k = 0; k < H; k++) a += S[t][b * H + k] * W[j * H + k];
        h[b * H + j] = Math.tanh(a);
      }
      S.push(h);
    }
    const dxp = new Float64Array(T * B * H);
    let dh = new Float64Array(B * H);
    for (let t = T - 1; t >= 0; t--) {
      const da = new Float64Array(B * H), prev = new Float64Array(B * H);
      for (let i = 0; i < B * H; i++) {
        const y = S[t + 1][i];
        da[i] = (dh[i] + dOut[t * B * H + i]) * (1 - y * y);
        dxp[t * B * H + i] = da[i];
      }
      for (let b = 0; b < B; b++) for (let k = 0; k < H; k++) for (let j = 0; j < H; j++) {
        prev[b * H + k] += da[b * H + j] * W[j * H + k];
      }
      dh = prev;
    }
    return { out: S.slice(1), dxp, dh0: dh };
  }

  function runKernels(parts: number) {
    const r = recurrence()!;
    const blocks: number[] = [];
    const blk = (floats: number) => {
      const a = arenaAlloc(4 * floats);
      blocks.push(a);
      return a;
    };
    const c: RecurrenceCall = {
      kind: 'rnn_tanh', T, B, H, reverse: false, xp: blk(T * B * H), pW: blk(r.packedFloats(H, H)), S: blk((T + 1) * B * H), sRing: T + 1,
      act: 0, actRing: T, C: 0, TC: 0, bhh: 0, lengths: 0, out: blk(T * B * H), dOut: blk(T * B * H), carry: blk(4 * B * H), DA: blk(T * B * H), DX: 0,
    };
    const w = blk(H * H);
    const heap = r.heap();
    heap.set(f32(xp), c.xp >> 2);
    heap.set(f32(h0), c.S >> 2);
    heap.set(f32(W), w >> 2);
    heap.set(f32(dOut), c.dOut >> 2);
    heap.fill(0, c.carry >> 2, (c.carry >> 2) + 4 * B * H);
    try {
      r.packB(w >> 2, 1, H, H, H, c.pW); // W_hhᵀ
      r.forward(c, parts);
      const out = heap.slice(c.out >> 2, (c.out >> 2) + T * B * H);
      r.packB(w >> 2, H, 1, H, H, c.pW); // W_hh
      r.backward(c, parts);
      const dxp = heap.slice(c.DA >> 2, (c.DA >> 2) + T * B * H);
      const dh0 = heap.slice((c.carry >> 2) + (T % 2) * B * H, (c.carry >> 2) + (T % 2 + 1) * B * H);
      return { out, dxp, dh0 };
    } finally {
      blocks.forEach(arenaFree);
    }
  }

  const close = (a: Float32Array, b: ArrayLike<number>, tol: number) => {
    let e = 0;
    for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]));
    expect(e).toBeLessThan(tol);
  };

  test.each([[1, 1], [2, 1], [3, 1], [2, 2]])('Elman tanh forward and backward equal a float64 loop (%i parts, %i threads)', (parts, threads) => {
    setThreads(threads);
    expect(recurrence()!.threads()).toBe(threads);
    const ref = reference();
    const k = runKernels(parts);
    const outRef = new Float64Array(T * B * H);
    ref.out.forEach((s, t) => outRef.set(s, t * B * H));
    close(k.out, outRef, 1e-5);
    close(k.dxp, ref.dxp, 1e-5);
    close(k.dh0, ref.dh0, 1e-5);
    setThreads(1);
  });

  test('a trap inside a part (address past the memory) is an error on the caller; the pool keeps working', () => {
    setThreads(2);
    const r = recurrence()!;
    const bad = 0x7ff00000;
    const c: RecurrenceCall = {
      kind: 'rnn_tanh', T: 2, B: 8, H: 4, reverse: false, xp: bad, pW: bad, S: bad, sRing: 3, act: 0, actRing: 2, C: 0, TC: 0, bhh: 0,
      lengths: 0, out: 0, dOut: 0, carry: 0, DA: 0, DX: 0,
    };
    expect(() => r.forward(c, 2)).toThrow(/out of bounds|failed/);
    const ref = reference();
    const k = runKernels(2);
    close(k.dh0, ref.dh0, 1e-5);
    setThreads(1);
  });
});
