import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Progress, formatDuration } from '@unfold/rnn';
import { loadCheckpoint } from '@unfold/rnn/node';
import { main } from '../src/main';
import { parseFlags } from '../src/args';
import { EXPLAIN_FLAGS } from '../src/explain';

/** Runs the CLI in-process, capturing what it writes. */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    const code = await main(args);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unfold-cli-'));
const corpus = path.join(tmp, 'corpus.txt');
fs.writeFileSync(corpus, 'to be or not to be, that is the question. '.repeat(60));
const tiny = path.join(tmp, 'tiny.txt');
fs.writeFileSync(tiny, 'abcabcabca');
const small = ['--corpus', corpus, '--hidden', '8', '--batch', '4', '--seq', '8', '--log', 'none'];

describe('unfold CLI: bad input gives a clear error, a non-zero exit, and nothing half-written', () => {
  test.each([
    [['train', '--hiden', '8'], 2, 'unknown flag --hiden'],
    [['trian'], 2, "unknown command 'trian'"],
    [['train', '--lr', '0'], 2, '--lr must be positive, got 0'],
    [['train', '--lr', 'fast'], 2, "--lr takes a number, got 'fast'"],
    [['train', '--optimizer', 'adamax'], 2, '--optimizer must be one of sgd, rmsprop, adagrad, adam, adamw'],
    [['train', '--cell', 'transformer'], 2, '--cell must be one of'],
    [['train', '--hidden'], 2, '--hidden needs a value'],
    [['sample'], 2, '--run <folder> is required'],
  ])('%j', async (args, code, msg) => {
    const r = await run(args as string[]);
    expect(r.code).toBe(code);
    expect(r.err).toContain(msg);
  });

  test('an empty or tiny corpus', async () => {
    const r = await run(['train', ...small, '--corpus', tiny, '--out', path.join(tmp, 'r-tiny')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('has only 10 characters; give at least 1000');
    expect(fs.existsSync(path.join(tmp, 'r-tiny'))).toBe(false);
  });

  test('a sequence longer than the data: error, and the run folder is removed', async () => {
    const out = path.join(tmp, 'r-long');
    const r = await run(['train', ...small, '--seq', '5000', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/CharLMTask: the training text \(\d+ characters\) is too short/);
    expect(fs.existsSync(out)).toBe(false);
  });

  test('a missing corpus file and a non-writable output folder', async () => {
    expect((await run(['train', ...small, '--corpus', path.join(tmp, 'nope.txt')])).err).toMatch(/nope\.txt/);
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, 'x');
    const r = await run(['train', ...small, '--out', path.join(file, 'run')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('cannot write the run folder');
  });
});

describe('unfold CLI: train, sample, eval, resume', () => {
  const out = path.join(tmp, 'run');
  test('train writes the report, samples, metrics and a checkpoint', async () => {
    const r = await run(['train', ...small, '--steps', '6', '--val-every', '3', '--out', out]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('unigram baseline on val');
    expect(r.out).toContain('--- sample, temperature 0.5 ---');
    for (const f of ['report.md', 'loss.svg', 'gradnorm.svg', 'samples.txt', 'metrics.json', 'checkpoint/manifest.json', 'checkpoint/tensors.bin']) {
      expect(fs.existsSync(path.join(out, f))).toBe(true);
    }
    const m = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    expect(m.steps).toBe(6);
    expect(m.validation.map((v: { step: number }) => v.step)).toEqual([3, 6]);
    expect(fs.readFileSync(path.join(out, 'loss.svg'), 'utf8')).toMatch(/^<\?xml[^>]*>\s*<svg/);
  });

  test('an existing run folder is not overwritten', async () => {
    const r = await run(['train', ...small, '--steps', '2', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('already exists and is not empty (use --resume');
  });

  test('export writes the run as ONNX and safetensors that load back', async () => {
    const o = await run(['export', out]);
    expect([o.code, o.err]).toEqual([0, '']);
    expect(o.out).toMatch(/wrote .*model\.onnx \(\d+ bytes, onnx, step 6\)/);
    expect(fs.readFileSync(path.join(out, 'model.onnx')).subarray(0, 2)).toEqual(Buffer.from([0x08, 8])); // ir_version 8 (opset 17)
    const file = path.join(tmp, 'w.safetensors');
    expect((await run(['export', out, '--format', 'safetensors', '--out', file])).code).toBe(0);
    const { decodeSafetensors } = await import('@unfold/rnn');
    const f = decodeSafetensors(new Uint8Array(fs.readFileSync(file)));
    expect(Object.keys(f.tensors)).toContain('rnn.weight_ih_l0');
    expect(JSON.parse(f.metadata!.vocab)).toEqual(JSON.parse(fs.readFileSync(path.join(tmp, 'vocab.json'), 'utf8')));
    expect((await run(['export', out, '--format', 'tflite'])).code).toBe(2);
  });

  test('sample and eval read the run back', async () => {
    const s = await run(['sample', '--run', out, '--length', '30', '--prime', 'to be', '--seed', '3']);
    expect(s.code).toBe(0);
    expect(s.out.startsWith('to be')).toBe(true);
    expect(s.out.length).toBe('to be'.length + 30 + 1);
    expect((await run(['sample', '--run', out, '--length', '30', '--prime', 'to be', '--seed', '3'])).out).toBe(s.out);
    const e = await run(['eval', '--run', out, '--corpus', corpus]);
    expect(e.code).toBe(0);
    expect(e.out).toMatch(/^scoring .*corpus\.txt: the run's own corpus, its test split\ntest loss \d+\.\d+ nats\/char = \d+\.\d+ bpc/);
  });

  test('--resume continues from the checkpoint', async () => {
    const r = await run(['train', ...small, '--steps', '9', '--val-every', '3', '--out', out, '--resume']);
    expect(r.code).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')).steps).toBe(9);
  });

  test('a corrupt checkpoint is refused with the reason', async () => {
    const bin = path.join(out, 'checkpoint', 'tensors.bin');
    const b = fs.readFileSync(bin);
    b[10] ^= 0xff;
    fs.writeFileSync(bin, b);
    const r = await run(['sample', '--run', out]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/checksum/);
  });
});

/** A finished small run in a fresh folder (trained on `text`, or the shared corpus file). */
async function freshRun(name: string, extra: string[] = [], corpusFile = corpus): Promise<string> {
  const out = path.join(tmp, name);
  const r = await run(['train', ...small, '--corpus', corpusFile, '--steps', '4', '--val-every', '2', '--out', out, ...extra]);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  return out;
}
const oneLine = (err: string) => {
  expect(err.trim().split('\n').length).toBeLessThanOrEqual(2);
  expect(err).not.toMatch(/\n\s+at /); // no stack trace
};

describe('CLI conventions', () => {
  test('-h / --help / help <cmd> for every command, --version, usage errors exit 2', async () => {
    for (const cmd of ['train', 'sample', 'eval', 'export', 'explain', 'gradflow']) {
      for (const args of [[cmd, '-h'], [cmd, '--help'], ['help', cmd]]) {
        const r = await run(args);
        expect([r.code, r.out.startsWith(`unfold ${cmd} — `)]).toEqual([0, true]);
      }
    }
    expect((await run(['-h'])).out).toContain('usage: unfold <command>');
    const v = await run(['--version']);
    expect([v.code, v.out]).toEqual([0, `unfold ${JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')).version}\n`]);
  });

  test.each([
    [['--hidden', '1e2'], "--hidden takes an integer, got '1e2'"],
    [['--hidden', '2.0'], "--hidden takes an integer, got '2.0'"],
    [['--hidden', '0x10'], "--hidden takes an integer, got '0x10'"],
    [['--steps', ''], "--steps takes an integer, got ''"],
    [['--resume', 'maybe'], "unexpected argument 'maybe'"],
    [['--no-hidden'], 'unknown flag --no-hidden'],
  ])('train %j → usage error', async (args, msg) => {
    const r = await run(['train', ...args]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(msg);
  });

  test('booleans: --flag, --flag true, --flag=true, --flag false, --flag=false, --no-flag', () => {
    const fused = (args: string[]) => parseFlags(args, EXPLAIN_FLAGS).fused;
    expect([fused([]), fused(['--fused']), fused(['--fused', 'true']), fused(['--fused=true'])]).toEqual([undefined, true, true, true]);
    expect([fused(['--fused', 'false']), fused(['--fused=false']), fused(['--no-fused']), fused(['--fused', '--no-fused'])]).toEqual([false, false, false, false]);
    expect(() => parseFlags(['--no-fused=true'], EXPLAIN_FLAGS)).toThrow('--no-fused takes no value');
    expect(parseFlags(['--steps', '4', '--fused', '--seed', '2'], EXPLAIN_FLAGS)).toEqual({ cell: 'rnn', steps: 4, seed: 2, fused: true });
  });

  test('positional run folder and --', async () => {
    const out = await freshRun('r-pos');
    const a = await run(['sample', out, '--length', '20']);
    expect(a.code).toBe(0);
    expect((await run(['sample', '--length', '20', '--', out])).out).toBe(a.out);
    expect((await run(['sample', '--run', out, out])).err).toContain('<run> given twice');
  });

  test('--time applies only when given; the final line names the limit that stopped the run', async () => {
    const a = await run(['train', ...small, '--steps', '5', '--out', path.join(tmp, 'r-steps')]);
    expect(a.out).toMatch(/trained to step 5 in .* \(stopped by reached --steps 5\)/);
    const b = await run(['train', ...small, '--steps', '100000', '--time', '0.3', '--out', path.join(tmp, 'r-time')]);
    expect(b.code).toBe(0);
    expect(b.out).toMatch(/stops at step 100000 or after 0.3 s/);
    expect(b.out).toMatch(/\(stopped by the --time 0.3 s limit\)/);
    expect(JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')).scripts.start).toMatch(/ train --time 90$/);
  });

  test('the progress bar fits the terminal width; durations of an hour or more are h:mm:ss', () => {
    const rows: string[] = [];
    const p = new Progress('bar', 1, { isTTY: true, columns: 60, write: (s: string) => rows.push(s) });
    p.update({ step: 12345, total: 1000000, loss: 1.23456, bits: 1.781, stepsPerSec: 123.45, etaSec: 9000, extra: '|g| 12.34' });
    p.note('validation at step 12345: 1.2000 nats/char');
    p.update({ step: 123456, loss: 1.2, stepsPerSec: 12.3, etaSec: 59 });
    const bars = rows.filter((r) => r.startsWith('\r') && !r.endsWith('\n')).map((r) => r.replace(/^\r/, '').replace(/\x1b\[K$/, ''));
    expect(bars).toHaveLength(2);
    for (const b of bars) expect([...b].length).toBeLessThanOrEqual(59);
    expect(bars[0]).toContain('step 12345/1000000');
    expect([formatDuration(59), formatDuration(3599), formatDuration(3600), formatDuration(9000 + 65)]).toEqual(['0:59', '59:59', '1:00:00', '2:31:05']);
  });
});

describe('no run lost (issue 19)', () => {
  test('a failure after the first checkpoint keeps the folder and says how to resume (divergence: loss is Infinity)', async () => {
    const out = path.join(tmp, 'r-diverge');
    const r = await run(['train', ...small, '--optimizer', 'sgd', '--lr', '1e38', '--clip', '0', '--checkpoint-every', '1', '--steps', '50', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/loss is (NaN|Infinity) at step \d+/);
    expect(r.err).toMatch(/keeps the checkpoint from step \d+; continue with: unfold train --out .* --resume/);
    const step = Number(/from step (\d+)/.exec(r.err)![1]);
    expect(loadCheckpoint(path.join(out, 'checkpoint')).meta.step).toBe(step);
  });

  test('a full disk at the second save keeps the first checkpoint; at the first save a fresh folder is removed, a given empty one kept', async () => {
    const realFs = jest.requireActual('node:fs') as typeof fs;
    const failAt = (n: number) => {
      let calls = 0;
      const orig = realFs.writeFileSync;
      return jest.spyOn(realFs, 'writeFileSync').mockImplementation(((file: unknown, ...rest: unknown[]) => {
        if (typeof file === 'number' && ++calls === n) throw Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: 'ENOSPC', syscall: 'write', errno: -28 });
        return (orig as (...a: unknown[]) => void)(file, ...rest);
      }) as typeof fs.writeFileSync);
    };
    const out = path.join(tmp, 'r-full');
    let spy = failAt(3); // saves write tensors.bin then manifest.json: the 3rd write is the second save
    const r = await run(['train', ...small, '--checkpoint-every', '2', '--steps', '8', '--out', out]);
    spy.mockRestore();
    expect(r.code).toBe(1);
    expect(r.err).toContain('the disk is full');
    expect(r.err).toContain('keeps the checkpoint from step 2');
    expect(loadCheckpoint(path.join(out, 'checkpoint')).meta.step).toBe(2);
    expect(fs.readdirSync(out).filter((n) => n.includes('.saving-'))).toEqual([]);

    const fresh = path.join(tmp, 'r-full-fresh');
    spy = failAt(1);
    const f1 = await run(['train', ...small, '--checkpoint-every', '2', '--steps', '8', '--out', fresh]);
    spy.mockRestore();
    expect([f1.code, fs.existsSync(fresh)]).toEqual([1, false]);
    const empty = path.join(tmp, 'r-full-empty');
    fs.mkdirSync(empty);
    spy = failAt(1);
    const f2 = await run(['train', ...small, '--checkpoint-every', '2', '--steps', '8', '--out', empty]);
    spy.mockRestore();
    expect([f2.code, fs.readdirSync(empty)]).toEqual([1, []]);
  });

  test('eval without --corpus scores the run\'s own corpus (checked by fingerprint); --resume refuses another text', async () => {
    const own = path.join(tmp, 'own.txt');
    const words = 'to be or not to be, that is the question. '.repeat(60);
    fs.writeFileSync(own, words);
    const out = await freshRun('r-own', [], own);
    const e = await run(['eval', out]);
    expect(e.code).toBe(0);
    expect(e.out).toContain(`scoring ${own}: the run's own corpus, its test split`);
    // the same characters in another order: what resumed silently before
    const other = path.join(tmp, 'other.txt');
    fs.writeFileSync(other, words.split(' ').reverse().join(' '));
    const r = await run(['train', '--out', out, '--resume', '--steps', '6', '--log', 'none', '--corpus', other]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`--corpus ${other} is not the text this run was trained on (${own}, ${words.length} characters`);
    const x = await run(['eval', out, '--corpus', other]);
    expect(x.out).toContain(`scoring ${other}: the whole file`);
    fs.writeFileSync(own, words.replace('question', 'answer!!'));
    const changed = await run(['eval', out]);
    expect(changed.code).toBe(1);
    expect(changed.err).toMatch(/the run was trained on .*own\.txt \(\d+ characters, SHA-256 [0-9a-f]{12}…\), but that text has changed.*pass --corpus/);
    fs.rmSync(own);
    expect((await run(['eval', out])).err).toMatch(/own\.txt, which cannot be read now/);
    expect((await run(['train', '--out', out, '--resume', '--log', 'none'])).err).toMatch(/own\.txt, which cannot be read now/);
  });

  test('a crash that left only checkpoint.prev: --resume, eval and sample all recover it', async () => {
    const out = await freshRun('r-prev');
    const want = loadCheckpoint(path.join(out, 'checkpoint')).meta.step;
    fs.renameSync(path.join(out, 'checkpoint'), path.join(out, 'checkpoint.prev'));
    expect((await run(['sample', out, '--length', '10'])).code).toBe(0);
    expect((await run(['eval', out])).code).toBe(0);
    const r = await run(['train', '--out', out, '--resume', '--steps', '6', '--log', 'none']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('trained to step 6');
    expect(want).toBe(4);
    expect(loadCheckpoint(path.join(out, 'checkpoint')).meta.step).toBe(6);
  });

  test('--resume rebuilds the model from the run; a contradicting flag is an error naming both values', async () => {
    const out = await freshRun('r-resume', ['--lr', '0.01']);
    const lr = await run(['train', '--out', out, '--resume', '--lr', '0.1']);
    expect(lr.code).toBe(2);
    expect(lr.err).toContain("--lr 0.1 contradicts the run's lr 0.01");
    expect((await run(['train', '--out', out, '--resume', '--hidden', '16'])).err).toContain("--hidden 16 contradicts the run's hidden 8");
    const same = await run(['train', '--out', out, '--resume', '--lr', '0.01', '--hidden', '8', '--steps', '6', '--log', 'none']);
    expect(same.code).toBe(0);
    const r = await run(['train', '--out', out, '--resume', '--steps', '8', '--log', 'none']); // no model flags repeated
    expect(r.code).toBe(0);
    expect(r.out).toContain('model: lstm 1×8');
    expect(r.out).toContain('batch 4, seq 8, adam lr 0.01');
  });

  test('unwritable targets, files in the way, huge models: one line, exit 1, nothing created', async () => {
    const file = path.join(tmp, 'plain-file');
    fs.writeFileSync(file, 'x');
    const cases: [string[], RegExp][] = [
      [['train', ...small, '--out', file], /cannot write the run folder .*plain-file: it exists and is a file/],
      [['gradflow', '--T', '4', '--hidden', '2', '--train-steps', '0', '--out', file], /cannot write the output folder .*plain-file: it exists and is a file/],
      [['train', ...small, '--hidden', '1000000000', '--out', path.join(tmp, 'r-huge')], /cannot allocate the model \(--hidden 1000000000/],
    ];
    if (fs.existsSync('/proc/self')) cases.push([['train', ...small, '--out', '/proc/unfold-x/run'], /cannot write the run folder \/proc\/unfold-x\/run: cannot create \/proc\/unfold-x/]);
    for (const [args, msg] of cases) {
      const r = await run(args);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(msg);
      oneLine(r.err);
    }
    expect(fs.existsSync(path.join(tmp, 'r-huge'))).toBe(false);
  });

  test('orphaned checkpoint.saving-* folders of dead processes are removed by the next load', async () => {
    const out = await freshRun('r-orphan');
    const orphan = path.join(out, 'checkpoint.saving-999999-0badf00d');
    fs.mkdirSync(orphan);
    fs.writeFileSync(path.join(orphan, 'tensors.bin'), Buffer.alloc(1024));
    expect((await run(['sample', out, '--length', '5'])).code).toBe(0);
    expect(fs.existsSync(orphan)).toBe(false);
  });
});
