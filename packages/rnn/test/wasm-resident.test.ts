import { arenaStats, backendInfo, isResident, setBackend, sum, tensor } from '@unfold/tensor';
import { Tape, backward, noGrad } from '@unfold/autodiff';
import { Adam, CharRNN, LSTM, setSequenceKernels } from '@unfold/rnn';

// With the wasm backend: weights live in the arena, the fused cells' saved gate buffers are
// arena blocks the tape gives back, so a training loop holds a steady amount of arena memory.

const wasm = backendInfo().simd;
(wasm ? describe : describe.skip)('resident weights and transient saved buffers', () => {
  beforeAll(() => setBackend('wasm'));
  afterAll(() => setBackend('auto'));

  test.each(['lstm', 'gru', 'rnn'] as const)('%s: weights are resident; arena live bytes are the same after every training step', (cell) => {
    const m = new CharRNN({ cell, vocabSize: 11, hiddenSize: 16, numLayers: 2, input: 'onehot', seed: 1 });
    for (const p of m.parameters()) expect(isResident(p.value)).toBe(true);
    const opt = new Adam(m.parameters(), { lr: 1e-2 });
    const [T, B] = [7, 3];
    const x = Array.from({ length: T * B }, (_, i) => (i * 5) % 11);
    const y = Array.from({ length: T * B }, (_, i) => (i * 3) % 11);
    const live: number[] = [];
    for (let s = 0; s < 4; s++) {
      m.trainStep(x, y, [T, B], opt);
      m.evaluate(x, y, [T, B]); // the first call makes the sequence op's workspace (kept, reused)
      live.push(arenaStats().liveBytes);
    }
    expect(live[2]).toBe(live[1]);
    expect(live[3]).toBe(live[1]);
    m.evaluate(x, y, [T, B]); // the first call sizes the output head's reused logits workspace
    const before = arenaStats().liveBytes;
    m.evaluate(x, y, [T, B]); // no tape: saved buffers go back at once, the workspace is reused
    expect(arenaStats().liveBytes).toBe(before);
  });

  test.each(['lstm', 'gru', 'rnn'] as const)('%s: evaluate reads the hidden states where the recurrence left them: same loss as copying them out', (cell) => {
    // evaluate runs inside withScratchOutputs (layer outputs stay in workspace blocks, one per
    // call: layer 1's feeds layer 2's projection, layer 2's the head); the plain noGrad loss copies
    const m = new CharRNN({ cell, vocabSize: 11, hiddenSize: 12, numLayers: 2, input: 'onehot', seed: 2 });
    const [T, B] = [9, 5];
    const x = Array.from({ length: T * B }, (_, i) => (i * 7) % 11);
    const y = Array.from({ length: T * B }, (_, i) => (i * 2) % 11);
    m.eval();
    const copied = noGrad(() => m.loss(x, y, [T, B]).loss.item());
    const first = m.evaluate(x, y, [T, B]);
    expect(first).toBe(copied);
    const before = arenaStats().liveBytes;
    const other = m.evaluate(y, x, [T, B]); // the same blocks, overwritten
    expect(m.evaluate(x, y, [T, B])).toBe(first);
    expect(other).toBe(noGrad(() => m.loss(y, x, [T, B]).loss.item()));
    expect(arenaStats().liveBytes).toBe(before);
  });

  // per step: lstmCell saves act [B, 4H] first; whole sequence: recurrentSequence saves [S, W_hh, act [T, B, 4H], …]
  test.each([[false, 'lstmCell', 0], [true, 'recurrentSequence', 2]] as const)(
    'a saved gate buffer read after backward released it throws instead of reading a reused block (sequence kernels: %s)', (sequence, op, k) => {
      const was = setSequenceKernels(sequence);
      try {
        const lstm = new LSTM({ inputSize: 2, hiddenSize: 4 });
        const x = tensor([[[1, 0]], [[0, 1]]]); // [T=2, B=1, I=2]
        const tape = new Tape();
        tape.watch(...lstm.parameters().map((p) => p.value));
        const out = tape.run(() => lstm.forward(x));
        const rec = tape.entries.find((r) => r.op === op)!;
        const act = rec.saved[k]; // the activated gates, an arena block
        expect(isResident(act)).toBe(true);
        expect(act.storage.transient).toBe(true);
        backward(tape, tape.run(() => sum(out.output)));
        expect(() => act.get(0, 0)).toThrow(/tensor used after its buffer was released/);
      } finally {
        setSequenceKernels(was);
      }
    });
});
