// Faults a user's machine produces, on real child processes running the built CLI
// (packages/cli/dist, which `npm test` builds first): SIGKILL at random moments while a run saves
// a checkpoint every step, and Ctrl-C / SIGTERM.
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Checkpoint } from '@unfold/rnn';
import { directoryStore, hasCheckpoint, loadCheckpoint } from '@unfold/rnn/node';

const MAIN = path.join(__dirname, '..', 'dist', 'main.js');
if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npx tsc -b; npm test does)`);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unfold-faults-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const corpus = path.join(tmp, 'corpus.txt');
fs.writeFileSync(corpus, 'to be or not to be, that is the question. whether tis nobler in the mind to suffer. '.repeat(40));
const base = ['--corpus', corpus, '--hidden', '4', '--batch', '2', '--seq', '8', '--val-every', '25', '--log', 'none', '--seed', '5'];

interface Child {
  proc: ChildProcess;
  out: string;
  err: string;
  /** Resolves once stdout contains `text`. */
  waitFor(text: string, stream?: 'out' | 'err'): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(args: string[]): Child {
  const proc = spawn(process.execPath, [MAIN, 'train', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const c: Child = {
    proc, out: '', err: '',
    waitFor: (text, stream = 'out') => new Promise((resolve) => {
      const check = () => ((stream === 'out' ? c.out : c.err).includes(text) ? resolve() : setTimeout(check, 2));
      check();
    }),
    exited: new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal }))),
  };
  proc.stdout!.on('data', (d) => (c.out += String(d)));
  proc.stderr!.on('data', (d) => (c.err += String(d)));
  return c;
}

const inode = (dir: string): number => {
  try {
    return fs.statSync(dir).ino;
  } catch {
    return -1;
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function expectSameCheckpoint(got: Checkpoint, want: Checkpoint): void {
  expect(Object.keys(got.tensors)).toEqual(Object.keys(want.tensors));
  for (const k of Object.keys(want.tensors)) {
    const g = got.tensors[k].toTypedArray();
    const w = want.tensors[k].toTypedArray();
    expect(Buffer.from(g.buffer, g.byteOffset, g.byteLength).equals(Buffer.from(w.buffer, w.byteOffset, w.byteLength))).toBe(true);
  }
  expect(got.meta).toEqual(want.meta);
}

test('SIGKILL at random moments while saving every step: the checkpoint always loads, and the resumed run is bit-identical', async () => {
  const STEPS = 80;
  const ref = path.join(tmp, 'ref');
  const r = start([...base, '--steps', String(STEPS), '--out', ref]);
  expect((await r.exited).code).toBe(0);
  const want = loadCheckpoint(path.join(ref, 'checkpoint'));

  const out = path.join(tmp, 'killed');
  const ckpt = path.join(out, 'checkpoint');
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  let finished = false;
  const steps: number[] = [];
  const tally = { kills: 0, beforeFirstSave: 0, leftSaving: 0, leftPrev: 0, loads: 0 };
  for (let round = 0; round < 120; round++) {
    const resume = hasCheckpoint(ckpt);
    const last = resume && loadCheckpoint(ckpt).meta.step === STEPS; // trained out: let it write its report
    if (!resume) fs.rmSync(out, { recursive: true, force: true }); // killed before its first save: start over
    const c = start([...base, '--steps', String(STEPS), '--checkpoint-every', '1', '--out', out, ...(resume ? ['--resume'] : [])]);
    // wait for this child's first commit (a new checkpoint folder renamed into place), then a random
    // moment within the next steps: each step saves (tensors.bin, manifest.json, fsyncs, two renames),
    // so most kills land inside a save
    const ino = inode(ckpt);
    while (c.proc.exitCode === null && c.proc.signalCode === null && inode(ckpt) === ino) await sleep(1);
    await sleep(rand() * 40);
    if (c.proc.exitCode === null && !last) c.proc.kill('SIGKILL');
    const e = await c.exited;
    if (e.signal !== 'SIGKILL') {
      expect([e.code, c.err]).toEqual([0, '']);
      finished = true;
      break; // finished before the kill
    }
    tally.kills++;
    const names = fs.existsSync(out) ? fs.readdirSync(out) : [];
    if (names.some((n) => n.startsWith('checkpoint.saving-'))) tally.leftSaving++;
    if (names.includes('checkpoint.prev')) tally.leftPrev++;
    if (!hasCheckpoint(ckpt)) {
      expect(resume).toBe(false); // once there is a checkpoint, no kill may lose it
      tally.beforeFirstSave++;
      continue;
    }
    expect(directoryStore(ckpt).load()).not.toBeNull(); // throws on anything unreadable
    tally.loads++;
    steps.push(loadCheckpoint(ckpt).meta.step as number);
  }
  expect(finished).toBe(true);
  expectSameCheckpoint(loadCheckpoint(ckpt), want);
  expect(fs.readdirSync(out).filter((n) => n.startsWith('checkpoint.'))).toEqual([]); // no orphans, no .prev left
  expect(tally.kills).toBeGreaterThanOrEqual(12); // ~3 steps per child: how many depends on the machine's speed
  process.stdout.write(`faults: ${tally.kills} SIGKILLs (${tally.beforeFirstSave} before the first save; ${tally.leftSaving} left a .saving-* folder, ${tally.leftPrev} a checkpoint.prev), ${tally.loads} checkpoints loaded after a kill, final checkpoint bit-identical to an uninterrupted run; steps at the kills ${steps.join(' ')}\n`);
});

describe('Ctrl-C and SIGTERM', () => {
  test.each([['SIGINT', 130], ['SIGTERM', 143]] as const)('%s: saves a checkpoint at the step reached and writes the report (exit %d)', async (sig, code) => {
    const out = path.join(tmp, `sig-${sig}`);
    const c = start([...base, '--steps', '10000000', '--checkpoint-every', '100000', '--out', out]);
    await c.waitFor('run folder:');
    await sleep(400);
    c.proc.kill(sig);
    const e = await c.exited;
    expect(e).toEqual({ code, signal: null });
    const step = Number(/checkpoint saved at step (\d+); continue with: unfold train --out .* --resume/.exec(c.out)?.[1]);
    expect(step).toBeGreaterThan(0);
    expect(c.out).toContain(`(stopped by ${sig})`);
    expect(c.err).toContain(`${sig}: stopping after this step, saving a checkpoint and writing the report`);
    expect(loadCheckpoint(path.join(out, 'checkpoint')).meta.step).toBe(step);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')).steps).toBe(step);
    expect(fs.existsSync(path.join(out, 'report.md'))).toBe(true);
  });

  test('a second Ctrl-C quits at once', async () => {
    const out = path.join(tmp, 'sig-twice');
    // a larger model: the save, the validation and the samples after the first Ctrl-C take a while
    const c = start([...base, '--hidden', '256', '--steps', '10000000', '--out', out]);
    await c.waitFor('run folder:');
    await sleep(300);
    c.proc.kill('SIGINT');
    await c.waitFor('SIGINT: stopping', 'err');
    c.proc.kill('SIGINT');
    const e = await c.exited;
    expect(e.signal).toBe('SIGINT');
    expect(c.out).not.toContain('interrupted: checkpoint saved');
  });
});
