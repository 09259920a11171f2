import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../src/main';

/** Runs the CLI in-process, capturing what it writes. */
function run(args: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    return { code: main(args), out, err };
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
  ])('%j', (args, code, msg) => {
    const r = run(args as string[]);
    expect(r.code).toBe(code);
    expect(r.err).toContain(msg);
  });

  test('an empty or tiny corpus', () => {
    const r = run(['train', ...small, '--corpus', tiny, '--out', path.join(tmp, 'r-tiny')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('has only 10 characters; give at least 1000');
    expect(fs.existsSync(path.join(tmp, 'r-tiny'))).toBe(false);
  });

  test('a sequence longer than the data: error, and the run folder is removed', () => {
    const out = path.join(tmp, 'r-long');
    const r = run(['train', ...small, '--seq', '5000', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/CharLMTask: the training text \(\d+ characters\) is too short/);
    expect(fs.existsSync(out)).toBe(false);
  });

  test('a missing corpus file and a non-writable output folder', () => {
    expect(run(['train', ...small, '--corpus', path.join(tmp, 'nope.txt')]).err).toMatch(/nope\.txt/);
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, 'x');
    const r = run(['train', ...small, '--out', path.join(file, 'run')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('cannot write the run folder');
  });
});

describe('unfold CLI: train, sample, eval, resume', () => {
  const out = path.join(tmp, 'run');
  test('train writes the report, samples, metrics and a checkpoint', () => {
    const r = run(['train', ...small, '--steps', '6', '--val-every', '3', '--out', out]);
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

  test('an existing run folder is not overwritten', () => {
    const r = run(['train', ...small, '--steps', '2', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('already exists and is not empty (use --resume');
  });

  test('sample and eval read the run back', () => {
    const s = run(['sample', '--run', out, '--length', '30', '--prime', 'to be', '--seed', '3']);
    expect(s.code).toBe(0);
    expect(s.out.startsWith('to be')).toBe(true);
    expect(s.out.length).toBe('to be'.length + 30 + 1);
    expect(run(['sample', '--run', out, '--length', '30', '--prime', 'to be', '--seed', '3']).out).toBe(s.out);
    const e = run(['eval', '--run', out, '--corpus', corpus]);
    expect(e.code).toBe(0);
    expect(e.out).toMatch(/^test loss \d+\.\d+ nats\/char = \d+\.\d+ bpc/);
  });

  test('--resume continues from the checkpoint', () => {
    const r = run(['train', ...small, '--steps', '9', '--val-every', '3', '--out', out, '--resume']);
    expect(r.code).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')).steps).toBe(9);
  });

  test('a corrupt checkpoint is refused with the reason', () => {
    const bin = path.join(out, 'checkpoint', 'tensors.bin');
    const b = fs.readFileSync(bin);
    b[10] ^= 0xff;
    fs.writeFileSync(bin, b);
    const r = run(['sample', '--run', out]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/checksum/);
  });
});
