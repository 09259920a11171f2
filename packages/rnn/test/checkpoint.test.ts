import { DType, Rng, Tensor, normal, tensor, zeros } from '@unfold/tensor';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Checkpoint, CheckpointError, CheckpointErrorCode, manifestFileBytes, packOptimizerState, unpackOptimizerState } from '../src/checkpoint';
import { directoryStore, loadCheckpoint, saveCheckpoint } from '../src/node';
import { Param, createOptimizer } from '../src/optim';

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'unfold-ckpt-'));
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

/** Bit-exact comparison (NaN payloads aside, -0 ≠ 0). */
function expectSameTensor(got: Tensor, want: Tensor): void {
  expect(got.dtype).toBe(want.dtype);
  expect(got.shape).toEqual(want.shape);
  const g = got.toFlatArray();
  const w = want.toFlatArray();
  g.forEach((v, i) => expect(Object.is(v, w[i])).toBe(true));
}

function sample(rng: Rng, tag = 0): Checkpoint {
  const w = normal([4, 3], 0, 1, { rng, dtype: 'float64' });
  const special = tensor([0, -0, NaN, Infinity, -Infinity, 1e-45, 3.4e38, tag], [8], 'float32');
  return {
    tensors: {
      weight_ih_l0: normal([6, 5], 0, 1, { rng }),
      'decoder.weight': w,
      wT: w.transpose(), // strided view: stored row-major
      stepped: normal([10], 0, 1, { rng, dtype: 'float64' }).slice({ start: 9, stop: 0, step: -3 }),
      scalar: tensor(tag + 0.5, [], 'float64'),
      empty: zeros([0, 3]),
      special,
    },
    meta: { step: 1200 + tag, config: { hidden: 128, cell: 'lstm', layers: [1, 2] }, rng: new Rng(1).getState(), note: null, ok: true },
  };
}

function expectSameCheckpoint(got: Checkpoint, want: Checkpoint): void {
  expect(Object.keys(got.tensors)).toEqual(Object.keys(want.tensors));
  for (const k of Object.keys(want.tensors)) expectSameTensor(got.tensors[k], want.tensors[k]);
  expect(got.meta).toEqual(want.meta);
}

describe('round trip', () => {
  test('float32 + float64, strided views, rank 0, empty, special values, meta', () => {
    const dir = path.join(root, 'ckpt');
    const c = sample(new Rng(1));
    saveCheckpoint(dir, c);
    expect(fs.readdirSync(dir).sort()).toEqual(['manifest.json', 'tensors.bin']);
    const back = loadCheckpoint(dir);
    expectSameCheckpoint(back, c);
    expect(back.tensors.wT.isContiguous()).toBe(true);
    expect(back.tensors.wT.storage).not.toBe(c.tensors.wT.storage);
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    expect(m.format).toBe('unfold-checkpoint');
    expect(m.version).toBe(2);
    expect(m.manifestSha256).toMatch(/^[0-9a-f]{64}$/);
    for (const e of m.tensors) expect(e.byteOffset % 8).toBe(0);
    expect(m.binary.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
  test('bytes are little-endian IEEE 754 at the recorded offsets', () => {
    const dir = path.join(root, 'le');
    saveCheckpoint(dir, { tensors: { a: tensor([1.5, -2], [2], 'float32'), b: tensor([Math.PI], [1], 'float64') }, meta: {} });
    const bin = fs.readFileSync(path.join(dir, 'tensors.bin'));
    expect(bin.length).toBe(16);
    expect(bin.readFloatLE(0)).toBe(1.5);
    expect(bin.readFloatLE(4)).toBe(-2);
    expect(bin.readDoubleLE(8)).toBe(Math.PI);
  });
  test('overwriting replaces the checkpoint and leaves no temp or backup directories', () => {
    const dir = path.join(root, 'ckpt');
    saveCheckpoint(dir, sample(new Rng(1), 1));
    const c2 = sample(new Rng(2), 2);
    saveCheckpoint(dir, c2);
    expectSameCheckpoint(loadCheckpoint(dir), c2);
    expect(fs.readdirSync(root)).toEqual(['ckpt']);
  });
  test('invalid input is refused before anything is written', () => {
    const dir = path.join(root, 'bad');
    const code = (f: () => void): string | undefined => {
      try {
        f();
      } catch (e) {
        return e instanceof CheckpointError ? `${e.code}: ${e.message}` : String(e);
      }
      return undefined;
    };
    expect(code(() => saveCheckpoint(dir, { tensors: {}, meta: { lr: NaN } }))).toMatch(/^invalid-input: saveCheckpoint: meta.lr is NaN, which JSON cannot hold/);
    expect(code(() => saveCheckpoint(dir, { tensors: {}, meta: { a: [1, { b: undefined }] } }))).toMatch(/meta.a\[1\].b is undefined, not JSON/);
    expect(code(() => saveCheckpoint(dir, { tensors: {}, meta: { w: zeros([2]) } }))).toMatch(/meta.w is a Tensor \(put tensors in ckpt.tensors\)/);
    expect(code(() => saveCheckpoint(dir, { tensors: { w: [1, 2] as unknown as Tensor }, meta: {} }))).toMatch(/tensors\['w'\] is not a Tensor/);
    expect(fs.existsSync(dir)).toBe(false);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    expect(code(() => saveCheckpoint(dir, sample(new Rng(1))))).toMatch(/exists and is not a checkpoint directory; refusing to replace it/);
    expect(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8')).toBe('mine');
  });
});

describe('atomic writes', () => {
  test.each(['binary-written', 'manifest-written', 'previous-moved-aside'] as const)('a failure at %s leaves the previous checkpoint intact', (stage) => {
    const dir = path.join(root, 'ckpt');
    const c1 = sample(new Rng(1), 1);
    saveCheckpoint(dir, c1);
    const fault = (s: string): void => {
      if (s === stage) throw new Error(`injected failure at ${s}`);
    };
    expect(() => saveCheckpoint(dir, sample(new Rng(2), 2), { onStage: fault })).toThrow(`injected failure at ${stage}`);
    expectSameCheckpoint(loadCheckpoint(dir), c1);
    expect(fs.readdirSync(root)).toEqual(['ckpt']);
    const c3 = sample(new Rng(3), 3);
    saveCheckpoint(dir, c3);
    expectSameCheckpoint(loadCheckpoint(dir), c3);
  });
  test('a failure on the first save leaves nothing behind', () => {
    const dir = path.join(root, 'ckpt');
    expect(() => saveCheckpoint(dir, sample(new Rng(1)), { onStage: () => { throw new Error('boom'); } })).toThrow('boom');
    expect(fs.readdirSync(root)).toEqual([]);
  });
  test('a crash (no clean-up) between moving the old checkpoint aside and the commit: load reads <dir>.prev, the next save recovers', () => {
    const dir = path.join(root, 'ckpt');
    const c1 = sample(new Rng(1), 1);
    saveCheckpoint(dir, c1);
    // The state a killed process leaves after step 2: old checkpoint renamed aside, a complete temp dir not yet renamed.
    saveCheckpoint(path.join(root, 'other'), sample(new Rng(2), 2));
    fs.renameSync(path.join(root, 'other'), `${dir}.saving-999-deadbeef`);
    fs.renameSync(dir, `${dir}.prev`);
    expectSameCheckpoint(loadCheckpoint(dir), c1);
    const c3 = sample(new Rng(3), 3);
    saveCheckpoint(dir, c3);
    expectSameCheckpoint(loadCheckpoint(dir), c3);
    expect(fs.existsSync(`${dir}.prev`)).toBe(false);
  });
});

describe('corruption: each case has its own error', () => {
  const dir = (): string => path.join(root, 'ckpt');
  const manifestPath = (): string => path.join(dir(), 'manifest.json');
  const binPath = (): string => path.join(dir(), 'tensors.bin');
  // edits the manifest and re-seals it (a fresh manifestSha256), to reach the checks behind the checksum
  const editManifest = (f: (m: any) => void): void => {
    const m = JSON.parse(fs.readFileSync(manifestPath(), 'utf8'));
    f(m);
    fs.writeFileSync(manifestPath(), manifestFileBytes(m));
  };
  const editUnsealed = (f: (m: any) => void): void => {
    const m = JSON.parse(fs.readFileSync(manifestPath(), 'utf8'));
    f(m);
    fs.writeFileSync(manifestPath(), JSON.stringify(m, null, 1) + '\n');
  };
  const cases: [string, () => void, CheckpointErrorCode, RegExp][] = [
    ['no directory', () => fs.rmSync(dir(), { recursive: true }), 'missing-file', /no checkpoint at .*ckpt \(directory does not exist\)/],
    ['manifest deleted', () => fs.unlinkSync(manifestPath()), 'missing-file', /manifest.json is missing/],
    ['binary deleted', () => fs.unlinkSync(binPath()), 'missing-file', /tensors.bin is missing/],
    ['manifest not JSON', () => fs.writeFileSync(manifestPath(), '{"format": "unfold-checkpoint",'), 'bad-manifest', /manifest.json is not valid JSON/],
    ['another format', () => editManifest((m) => (m.format = 'safetensors')), 'format', /has format "safetensors", expected 'unfold-checkpoint'/],
    ['newer version', () => editManifest((m) => (m.version = 3)), 'version', /has format version 3; this code reads versions 1 and 2/],
    ['byteOffset edited, checksum not', () => editUnsealed((m) => (m.tensors[0].byteOffset += 8)), 'checksum', /SHA-256 of the manifest .*manifest.json is [0-9a-f]{64}, it records [0-9a-f]{64}: the manifest is corrupt/],
    ['meta edited, checksum not', () => editUnsealed((m) => (m.meta.config.layers = [2, 1])), 'checksum', /the manifest is corrupt/],
    ['checksum removed', () => editUnsealed((m) => delete m.manifestSha256), 'checksum', /has no valid manifestSha256/],
    ['reformatted manifest (same JSON value)', () => fs.writeFileSync(manifestPath(), fs.readFileSync(manifestPath(), 'utf8').replace(/\n /g, '\n\t')), 'checksum', /differs from the bytes its checksum was taken over/],
    ['version 2 → 1 keeps the checksum field', () => editManifest((m) => (m.version = 1)), 'bad-manifest', /says format version 1 but carries a manifestSha256/],
    ['not UTF-8', () => fs.writeFileSync(manifestPath(), Buffer.concat([fs.readFileSync(manifestPath()), Buffer.from([0xff])])), 'bad-manifest', /is not valid UTF-8/],
    ['field missing', () => editManifest((m) => delete m.tensors[1].dtype), 'bad-manifest', /tensors\[1\] \('decoder.weight'\) has dtype undefined/],
    ['duplicate name', () => editManifest((m) => (m.tensors[1].name = 'weight_ih_l0')), 'bad-manifest', /\('weight_ih_l0'\) appears twice/],
    ['truncated binary', () => fs.truncateSync(binPath(), fs.statSync(binPath()).size - 4), 'truncated', /has \d+ bytes, the manifest declares \d+: the data is truncated/],
    ['trailing bytes', () => fs.appendFileSync(binPath(), Buffer.alloc(8)), 'trailing-bytes', /8 unexpected trailing bytes/],
    ['flipped byte', () => {
      const b = fs.readFileSync(binPath());
      b[37] ^= 0x10;
      fs.writeFileSync(binPath(), b);
    }, 'checksum', /SHA-256 of .*tensors.bin is [0-9a-f]{64}, the manifest records [0-9a-f]{64}: the data is corrupt/],
    ['extent out of range', () => editManifest((m) => (m.tensors[0].byteOffset = m.binary.byteLength - 8)), 'extent', /tensors\[0\] \('weight_ih_l0'\): bytes \[\d+, \d+\) lie outside the \d+-byte binary/],
    ['misaligned offset', () => editManifest((m) => (m.tensors[0].byteOffset = 2)), 'extent', /byteOffset 2 is not a multiple of the 4-byte element size/],
    ['shape changed', () => editManifest((m) => (m.tensors[0].shape = [6, 6])), 'shape', /shape \[6,6\] of float32 needs 144 bytes, the manifest gives byteLength 120/],
    ['dtype changed', () => editManifest((m) => (m.tensors[0].dtype = 'float64')), 'shape', /of float64 needs 240 bytes/],
  ];
  test.each(cases)('%s → %s', (_, corrupt, code, msg) => {
    saveCheckpoint(dir(), sample(new Rng(1)));
    corrupt();
    let err: unknown;
    try {
      loadCheckpoint(dir());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as CheckpointError).code).toBe(code);
    expect((err as Error).message).toMatch(/^loadCheckpoint: /);
    expect((err as Error).message).toMatch(msg);
  });
});

describe('optimizer state in a checkpoint', () => {
  test.each(['float32', 'float64'] as DType[])('Adam (amsgrad) resumes bit-identically from disk (%s)', (dtype) => {
    const rng = new Rng(21);
    const mk = (r: Rng): Param[] => [
      { name: 'weight_ih_l0', value: normal([4, 3], 0, 1, { rng: r, dtype }), grad: null },
      { name: 'bias_ih_l0', value: normal([4], 0, 1, { rng: r, dtype }), grad: null },
    ];
    const ps = mk(rng);
    const opt = createOptimizer('adam', ps, { lr: 0.01, amsgrad: true });
    const grads = (s: number): Tensor[] => ps.map((p) => normal(p.value.shape, 0, 1, { rng: new Rng(100 + s), dtype }));
    for (let s = 0; s < 4; s++) {
      const g = grads(s);
      ps.forEach((p, i) => (p.grad = g[i]));
      opt.step();
    }
    const dir = path.join(root, 'train');
    const model = Object.fromEntries(ps.map((p) => [p.name, p.value]));
    saveCheckpoint(dir, packOptimizerState({ tensors: model, meta: { step: 4 } }, opt.stateDict()));

    const c = loadCheckpoint(dir);
    expect(Object.keys(c.tensors)).toContain('optimizer/exp_avg.weight_ih_l0');
    expect(c.meta.step).toBe(4);
    const resumed: Param[] = ps.map((p) => ({ name: p.name, value: c.tensors[p.name], grad: null }));
    const opt2 = createOptimizer('adam', resumed, { lr: 1 });
    opt2.loadStateDict(unpackOptimizerState(c));
    for (let s = 4; s < 8; s++) {
      const g = grads(s);
      ps.forEach((p, i) => (p.grad = g[i]));
      resumed.forEach((p, i) => (p.grad = g[i].clone()));
      opt.step();
      opt2.step();
    }
    ps.forEach((p, i) => expectSameTensor(resumed[i].value, p.value));
  });
  test('name clashes and missing entries are reported', () => {
    const ps: Param[] = [{ name: 'w', value: zeros([2]), grad: zeros([2]) }];
    const opt = createOptimizer('sgd', ps, { momentum: 0.9 });
    opt.step();
    const st = opt.stateDict();
    expect(() => packOptimizerState({ tensors: { 'optimizer/momentum_buffer.w': zeros([2]) }, meta: {} }, st)).toThrow(/tensor name 'optimizer\/momentum_buffer.w' is already taken/);
    expect(() => packOptimizerState({ tensors: {}, meta: { optimizer: 1 } }, st)).toThrow(/meta already has a 'optimizer' entry/);
    const packed = packOptimizerState({ tensors: {}, meta: {} }, st, 'opt');
    expect(() => unpackOptimizerState(packed)).toThrow(/meta has no 'optimizer' object/);
    delete packed.tensors['opt/momentum_buffer.w'];
    expect(() => unpackOptimizerState(packed, 'opt')).toThrow(/lists buffer 'momentum_buffer.w' but tensor 'opt\/momentum_buffer.w' is absent/);
  });
});

describe('format versions and orphans', () => {
  test('a version 1 checkpoint (no manifest checksum) is still read', () => {
    const dir = path.join(root, 'v1');
    const c = sample(new Rng(4));
    saveCheckpoint(dir, c);
    const file = path.join(dir, 'manifest.json');
    const m = JSON.parse(fs.readFileSync(file, 'utf8'));
    delete m.manifestSha256;
    m.version = 1;
    fs.writeFileSync(file, JSON.stringify(m, null, 1) + '\n'); // as version-1 code wrote it
    expectSameCheckpoint(loadCheckpoint(dir), c);
  });

  test('a save or load removes the .saving-* folders of dead processes, not those of live ones', () => {
    const dir = path.join(root, 'ckpt');
    saveCheckpoint(dir, sample(new Rng(1)));
    const dead = `${dir}.saving-999999-deadbeef`; // pid 999999: above the default pid_max
    const live = `${dir}.saving-${process.ppid}-cafe0001`; // our parent is alive
    const unrelated = `${dir}-other.saving-999999-00`;
    for (const d of [dead, live, unrelated]) {
      fs.mkdirSync(d);
      fs.writeFileSync(path.join(d, 'tensors.bin'), Buffer.alloc(64));
    }
    loadCheckpoint(dir);
    expect([fs.existsSync(dead), fs.existsSync(live), fs.existsSync(unrelated)]).toEqual([false, true, true]);
    fs.mkdirSync(dead);
    saveCheckpoint(dir, sample(new Rng(2)));
    expect([fs.existsSync(dead), fs.existsSync(live)]).toEqual([false, true]);
  });

  test('directoryStore.load: null only when nothing is there; a damaged folder is an error, .prev alone is recovered', () => {
    const dir = path.join(root, 'ckpt');
    expect(directoryStore(dir).load()).toBeNull();
    const c = sample(new Rng(1));
    saveCheckpoint(dir, c);
    fs.renameSync(dir, `${dir}.prev`); // a crash between moving the old one aside and the commit
    expectSameCheckpoint(directoryStore(dir).load()!, c);
    fs.renameSync(`${dir}.prev`, dir);
    fs.unlinkSync(path.join(dir, 'manifest.json'));
    expect(() => directoryStore(dir).load()).toThrow(/manifest.json is missing/);
  });
});
