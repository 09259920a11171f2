import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import fc from 'fast-check';
import { Tensor, tensor } from '@unfold/tensor';
import { noGrad } from '@unfold/autodiff';
import {
  CharRNN, CharRNNOptions, LSTM, SafetensorsEntry, SafetensorsError, decodeSafetensors, encodeSafetensors, entryToFloat64,
  layerFromTorchConfig, loadSafetensors, readPytorchExport, readSafetensors, saveSafetensors,
} from '@unfold/rnn';
import { decodeSafetensorsFile, loadSafetensorsFile, saveSafetensorsFile } from '@unfold/rnn/node';

// safetensors against files written by scripts/interop/safetensors_fixtures.py (struct + json
// + Debian's torch; see that script for the regeneration order). The unfold_* fixtures are
// what this test writes; the script's `check` loads them into torch.

const FIX = path.join(__dirname, 'fixtures', 'safetensors');
const read = (n: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(FIX, n)));

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('python-written files', () => {
  test('every dtype decodes to the values torch wrote, and re-encodes byte-identically', () => {
    const bytes = read('py_mixed.safetensors');
    const ref = JSON.parse(fs.readFileSync(path.join(FIX, 'py_mixed.json'), 'utf8'));
    const f = decodeSafetensors(bytes);
    expect(f.metadata).toEqual(ref.metadata);
    expect(Object.keys(f.tensors).sort()).toEqual(Object.keys(ref.tensors).sort());
    for (const [n, r] of Object.entries(ref.tensors as Record<string, { shape: number[]; values: (number | string)[] }>)) {
      const e = f.tensors[n];
      expect(e.shape).toEqual(r.shape);
      const want = r.values.map(Number);
      const got = ['F64', 'F32', 'F16', 'BF16'].includes(e.dtype) ? Array.from(entryToFloat64(n, e)) : Array.from(e.data as ArrayLike<number | bigint>, Number);
      expect(got.map((v) => (Object.is(v, -0) ? 0 : v))).toEqual(want.map((v) => (Object.is(v, -0) ? 0 : v)));
    }
    expect(Object.is(f.tensors['naïve'].data[1], -0)).toBe(true); // bits, not just values
    expect(f.tensors.steps.data[2]).toBe(2n ** 40n);
    expect(Buffer.from(encodeSafetensors(f.tensors, { metadata: f.metadata })).equals(Buffer.from(bytes))).toBe(true);
  });

  test('a torch.nn.LSTM state dict loads into an Unfold LSTM and gives torch outputs', () => {
    const io = readPytorchExport(fs.readFileSync(path.join(FIX, 'py_lstm.json'), 'utf8'), { dtype: 'float32' });
    const layer = layerFromTorchConfig(io.config!, { dtype: 'float32' });
    expect(loadSafetensors(layer, read('py_lstm.safetensors'))).toEqual({ format: 'pt' });
    const r = noGrad(() => layer.forward(io.input!, { h0: io.h0, c0: io.c0 }));
    expect(maxDiff(r.output.toFlatArray(), io.output!.toFlatArray())).toBeLessThan(1e-6);
    expect(maxDiff(r.hN.toFlatArray(), io.hN!.toFlatArray())).toBeLessThan(1e-6);
    expect(maxDiff(r.cN!.toFlatArray(), io.cN!.toFlatArray())).toBeLessThan(1e-6);
    // negative control: the same file with two same-shaped tensors swapped must not match
    const f = decodeSafetensors(read('py_lstm.safetensors'));
    [f.tensors.weight_hh_l0, f.tensors.weight_hh_l0_reverse] = [f.tensors.weight_hh_l0_reverse, f.tensors.weight_hh_l0];
    const swapped = layerFromTorchConfig(io.config!, { dtype: 'float32' });
    loadSafetensors(swapped, encodeSafetensors(f.tensors));
    expect(maxDiff(noGrad(() => swapped.forward(io.input!, { h0: io.h0, c0: io.c0 })).output.toFlatArray(), io.output!.toFlatArray())).toBeGreaterThan(1e-2);
    // and writing the loaded layer gives torch's file back, byte for byte
    expect(Buffer.from(saveSafetensors(layer, { metadata: { format: 'pt' } })).equals(Buffer.from(read('py_lstm.safetensors')))).toBe(true);
  });
});

// The files the python script's `check` loads into torch (the twin of CharRNN).
const UNFOLD_MODELS: { file: string; opts: CharRNNOptions; T: number; B: number }[] = [
  { file: 'unfold_charrnn_lstm', opts: { cell: 'lstm', vocabSize: 7, hiddenSize: 5, numLayers: 2, input: 'embedding', embeddingDim: 4, seed: 3 }, T: 4, B: 2 },
  { file: 'unfold_charrnn_gru', opts: { cell: 'gru', vocabSize: 6, hiddenSize: 4, numLayers: 1, seed: 4 }, T: 3, B: 2 },
];

describe('unfold-written files', () => {
  test.each(UNFOLD_MODELS)('$file: the committed file is what saveSafetensors writes (torch loads it: see the script)', ({ file, opts, T, B }) => {
    const model = new CharRNN(opts);
    const bytes = saveSafetensors(model, { metadata: { format: 'pt' } });
    const ids = Array.from({ length: T * B }, (_, i) => (i * 5 + 1) % opts.vocabSize);
    if (process.env.UNFOLD_REGEN_FIXTURES === '1') {
      const logits = model.predict(ids, [T, B]).logits.toFlatArray();
      fs.writeFileSync(path.join(FIX, `${file}.safetensors`), bytes);
      fs.writeFileSync(path.join(FIX, `${file}.json`), JSON.stringify({ config: { input: 'onehot', numLayers: 1, ...opts }, shape: [T, B], ids, logits }) + '\n');
    }
    expect(Buffer.from(bytes).equals(Buffer.from(read(`${file}.safetensors`)))).toBe(true);
    const io = JSON.parse(fs.readFileSync(path.join(FIX, `${file}.json`), 'utf8'));
    expect(maxDiff(model.predict(io.ids, io.shape).logits.toFlatArray(), io.logits)).toBeLessThan(1e-5);
    // names are PyTorch's
    expect(Object.keys(decodeSafetensors(bytes).tensors).sort()).toEqual(Object.keys(model.stateDict()).sort());
  });
});

describe('round trips', () => {
  test('any tensors, F32 and F64, survive encode → decode exactly (fast-check)', () => {
    const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 3 });
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }).filter((s) => s !== '__metadata__'), fc.tuple(shapeArb, fc.boolean()), { maxKeys: 5 }), fc.integer(), (spec, seed) => {
        const tensors: Record<string, SafetensorsEntry> = {};
        let s = seed;
        for (const [n, [shape, f64]] of Object.entries(spec)) {
          const size = shape.reduce((a, b) => a * b, 1);
          const vals = Array.from({ length: size }, () => ((s = (s * 1103515245 + 12345) | 0) / 2 ** 31) * 100);
          tensors[n] = f64 ? { dtype: 'F64', shape, data: Float64Array.from(vals) } : { dtype: 'F32', shape, data: Float32Array.from(vals) };
        }
        const bytes = encodeSafetensors(tensors, { metadata: { k: 'v' } });
        const back = decodeSafetensors(bytes);
        expect(back.metadata).toEqual({ k: 'v' });
        expect(back.tensors).toEqual(tensors);
        // header length is a multiple of 8 (the reference writer's padding)
        expect(new DataView(bytes.buffer).getUint32(0, true) % 8).toBe(0);
      }),
      { numRuns: 40 },
    );
  });

  test('modules: save → load into a fresh model reproduces its outputs; float64 modules keep float64', () => {
    const a = new CharRNN({ cell: 'lstm', vocabSize: 5, hiddenSize: 3, seed: 1, dtype: 'float64' });
    const b = new CharRNN({ cell: 'lstm', vocabSize: 5, hiddenSize: 3, seed: 2, dtype: 'float64' });
    const bytes = saveSafetensors(a);
    expect(Object.values(decodeSafetensors(bytes).tensors).every((e) => e.dtype === 'F64')).toBe(true);
    expect(loadSafetensors(b, bytes)).toBeNull();
    expect(b.predict([1, 2, 3], [3, 1]).logits.toFlatArray()).toEqual(a.predict([1, 2, 3], [3, 1]).logits.toFlatArray());
    const r = readSafetensors(saveSafetensors(a, { dtype: 'float32' }));
    expect(Object.values(r.tensors).every((t) => t instanceof Tensor && t.dtype === 'float32')).toBe(true);
  });

  test('node file wrappers', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unfold-st-'));
    try {
      const file = path.join(dir, 'm.safetensors');
      const a = new LSTM({ inputSize: 2, hiddenSize: 3, seed: 1 });
      const b = new LSTM({ inputSize: 2, hiddenSize: 3, seed: 2 });
      saveSafetensorsFile(file, a, { metadata: { who: 'test' } });
      expect(loadSafetensorsFile(file, b)).toEqual({ who: 'test' });
      expect(b.stateDict().weight_hh_l0.toFlatArray()).toEqual(a.stateDict().weight_hh_l0.toFlatArray());
      expect(decodeSafetensorsFile(file).tensors.bias_ih_l0.dtype).toBe('F32');
      expect(() => loadSafetensorsFile(path.join(dir, 'none'), b)).toThrow(/none: cannot read/);
      expect(fs.readdirSync(dir)).toEqual(['m.safetensors']); // no temp file left
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bad input: a named error, nothing loaded', () => {
  const good = (): Uint8Array => encodeSafetensors({ a: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }, b: { dtype: 'F32', shape: [1], data: new Float32Array([3]) } });
  /** A file with this header text and `data` bytes of data. */
  const file = (header: string, dataBytes: number): Uint8Array => {
    const h = new TextEncoder().encode(header);
    const out = new Uint8Array(8 + h.length + dataBytes);
    new DataView(out.buffer).setUint32(0, h.length, true);
    out.set(h, 8);
    return out;
  };
  const ent = (dtype: string, shape: number[], off: [number, number]): string => JSON.stringify({ dtype, shape, data_offsets: off });
  const cases: [string, string, () => Uint8Array][] = [
    ['too-short', 'starts with an 8-byte header length', () => new Uint8Array(5)],
    ['header-too-large', 'exceeds the limit', () => { const b = good(); new DataView(b.buffer).setUint32(4, 1, true); return b; }],
    ['header-length', 'runs past the end', () => { const b = good(); new DataView(b.buffer).setUint32(0, 10_000, true); return b; }],
    ['header-json', 'not valid JSON', () => file('{"a": ', 0)],
    ['header-json', "starting with '{'", () => file('[1,2]', 0)],
    ['unknown-dtype', 'unknown dtype "F128"', () => file(`{"a":${ent('F128', [1], [0, 16])}}`, 16)],
    ['length-mismatch', 'needs 12 bytes', () => file(`{"a":${ent('F32', [3], [0, 8])}}`, 8)],
    ['out-of-range', 'run past the 4-byte data block', () => file(`{"a":${ent('F32', [2], [0, 8])}}`, 4)],
    ['overlap', 'overlap', () => file(`{"a":${ent('F32', [2], [0, 8])},"b":${ent('F32', [1], [4, 8])}}`, 8)],
    ['gap', 'belong to no tensor', () => file(`{"a":${ent('F32', [1], [0, 4])},"b":${ent('F32', [1], [8, 12])}}`, 12)],
    ['trailing-bytes', '3 trailing bytes', () => { const b = good(); const x = new Uint8Array(b.length + 3); x.set(b); return x; }],
    ['bad-metadata', '__metadata__.n is number', () => file(`{"__metadata__":{"n":1},"a":${ent('F32', [1], [0, 4])}}`, 4)],
    ['bad-entry', 'non-negative integers', () => file(`{"a":${ent('F32', [-1], [0, 4])}}`, 4)],
    ['bad-entry', 'begin ≤ end', () => file(`{"a":${ent('F32', [1], [4, 0])}}`, 4)],
  ];
  test.each(cases)('%s: %s', (problem, message, make) => {
    let err: unknown;
    try {
      decodeSafetensors(make());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SafetensorsError);
    expect((err as SafetensorsError).problem).toBe(problem);
    expect((err as Error).message).toContain(message);
  });

  test('a file that does not fit the module changes nothing', () => {
    const m = new LSTM({ inputSize: 2, hiddenSize: 3, seed: 1 });
    const before = JSON.stringify(Object.values(m.stateDict()).map((t) => t.toFlatArray()));
    const other = new LSTM({ inputSize: 2, hiddenSize: 4, seed: 1 });
    expect(() => loadSafetensors(m, saveSafetensors(other))).toThrow(/nothing was loaded.*weight_ih_l0: shape \[16,2\], expected \[12,2\]/);
    const ints = encodeSafetensors({ weight_ih_l0: { dtype: 'I32', shape: [12, 2], data: new Int32Array(24) } });
    expect(() => loadSafetensors(m, ints)).toThrow(/I32 is not a floating dtype/);
    const partial = saveSafetensors({ weight_ih_l0: tensor(new Array(24).fill(7), [12, 2]) });
    expect(() => loadSafetensors(m, partial)).toThrow(/missing: weight_hh_l0/);
    expect(JSON.stringify(Object.values(m.stateDict()).map((t) => t.toFlatArray()))).toBe(before);
  });

  test('encode refuses what it cannot write', () => {
    expect(() => encodeSafetensors({ a: { dtype: 'F32', shape: [3], data: new Float32Array(2) } })).toThrow(/needs 3 values, data has 2/);
    expect(() => encodeSafetensors({ a: { dtype: 'F32', shape: [2], data: new Float64Array(2) } })).toThrow(/F32 data must be a Float32Array/);
    expect(() => encodeSafetensors({ a: { dtype: 'X' as 'F32', shape: [], data: new Float32Array(1) } })).toThrow(/unknown dtype "X"/);
    expect(() => encodeSafetensors({}, { metadata: { n: 1 as unknown as string } })).toThrow(/metadata.n is number/);
  });
});
