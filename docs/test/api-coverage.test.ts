import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

/**
 * docs/api.md cannot silently fall behind the code:
 *  - every runtime export of each package's index (what `require('@unfold/x')` gives) is named in
 *    that package's section of api.md, and so is every type export (read with the TypeScript
 *    compiler API, since types leave no trace at run time);
 *  - every entry of api.md (a top-level list item starting with a code name, or `Name` (type))
 *    is still exported by the package whose section it is in;
 *  - links in the docs this test owns resolve: files exist, `#L12` anchors are inside the file,
 *    a link whose text is code (`[`let dhNext`](…bptt.ts#L189)`) lands on a line holding that
 *    code, and `#section` anchors name a heading of the target document.
 */
const root = path.join(__dirname, '..', '..');
const PACKAGES = ['tensor', 'autodiff', 'rnn', 'rnn/node', 'cli'] as const;
type Pkg = (typeof PACKAGES)[number];

const api = fs.readFileSync(path.join(root, 'docs', 'api.md'), 'utf8');

/** The text of api.md under `## @unfold/<pkg>`, up to the next `## ` heading. */
function section(pkg: Pkg): string {
  const start = api.indexOf(`\n## @unfold/${pkg}\n`);
  if (start < 0) throw new Error(`docs/api.md has no '## @unfold/${pkg}' section`);
  const next = api.indexOf('\n## ', start + 1);
  return api.slice(start, next < 0 ? undefined : next);
}

const escape = (s: string): string => s.replace(/[$]/g, '\\$');
/** The name appears in a code span, as the whole identifier at its start: `add` matches `add(a, b)` but not `addInPlace`. */
const mentions = (text: string, name: string): boolean => new RegExp('`' + escape(name) + '(?![\\w$])').test(text);

/** All export names (values and types) of packages/<pkg>/src/index.ts, resolved through `export *`. */
function allExports(): Record<Pkg, string[]> {
  const index = (p: Pkg): string => (p === 'rnn/node' ? path.join(root, 'packages', 'rnn', 'src', 'node', 'index.ts') : path.join(root, 'packages', p, 'src', 'index.ts'));
  const program = ts.createProgram(PACKAGES.map(index), {
    noEmit: true,
    skipLibCheck: true,
    types: [],
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    target: ts.ScriptTarget.ES2022,
    baseUrl: root,
    paths: Object.fromEntries(PACKAGES.map((p) => [`@unfold/${p}`, [p === 'rnn/node' ? 'packages/rnn/src/node' : `packages/${p}/src`]])),
  });
  const checker = program.getTypeChecker();
  const out = {} as Record<Pkg, string[]>;
  for (const p of PACKAGES) {
    const sf = program.getSourceFile(index(p));
    const sym = sf && checker.getSymbolAtLocation(sf);
    if (!sym) throw new Error(`cannot read the exports of ${index(p)}`);
    out[p] = checker.getExportsOfModule(sym).map((s) => s.name);
  }
  return out;
}

const exportsOf = allExports();

describe.each(PACKAGES)('@unfold/%s', (pkg) => {
  const text = section(pkg);

  test('every runtime export is documented in docs/api.md', () => {
    const mod = require(`@unfold/${pkg}`) as Record<string, unknown>; // eslint-disable-line @typescript-eslint/no-require-imports
    const names = Object.keys(mod);
    expect(names.length).toBeGreaterThan(pkg === 'rnn/node' || pkg === 'cli' ? 3 : 10);
    expect(names.filter((n) => !mentions(text, n))).toEqual([]);
  });

  test('every type export is documented in docs/api.md', () => {
    expect(exportsOf[pkg].length).toBeGreaterThan(pkg === 'rnn/node' || pkg === 'cli' ? 3 : 10);
    expect(exportsOf[pkg].filter((n) => !mentions(text, n))).toEqual([]);
  });

  test('every entry of docs/api.md is still exported', () => {
    const exported = new Set(exportsOf[pkg]);
    const entries = new Set<string>();
    for (const m of text.matchAll(/^- `([A-Za-z_$][\w$]*)/gm)) entries.add(m[1]);
    for (const m of text.matchAll(/`([A-Za-z_$][\w$]*)(?:<[^`]*>)?` \(type\)/g)) entries.add(m[1]);
    expect(entries.size).toBeGreaterThan(pkg === 'rnn/node' || pkg === 'cli' ? 3 : 10);
    expect([...entries].filter((n) => !exported.has(n))).toEqual([]);
  });
});

// ---- links ------------------------------------------------------------------------------------

// Documents other helpers are still writing: a link to one may dangle until it lands (then it is checked like any other).
const PENDING = new Set(['docs/experiments.md']);

const LINKED_DOCS = ['docs/guide.md', 'docs/api.md', 'docs/README.md', 'packages/tensor/README.md', 'packages/autodiff/README.md', 'packages/rnn/README.md'];

/** GitHub's heading anchor: lower case, punctuation dropped, spaces → hyphens. */
const slug = (heading: string): string =>
  heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');

function headings(file: string): Set<string> {
  const text = fs.readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6} (.*)$/gm)].map((m) => slug(m[1])));
}

interface Link { doc: string; text: string; target: string }

function links(doc: string): Link[] {
  const text = fs.readFileSync(path.join(root, doc), 'utf8').replace(/```[\s\S]*?```/g, '');
  // [text](target) with one level of nested brackets in the text; skip absolute URLs
  return [...text.matchAll(/\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^)\s]+)\)/g)]
    .map((m) => ({ doc, text: m[1], target: m[2] }))
    .filter((l) => !/^[a-z]+:/i.test(l.target));
}

const allLinks = LINKED_DOCS.filter((d) => fs.existsSync(path.join(root, d))).flatMap(links);

test('the docs have links to check', () => {
  expect(allLinks.length).toBeGreaterThan(50);
});

test.each(allLinks.map((l) => [`${l.doc}: [${l.text}](${l.target})`, l] as const))('%s', (_name, l) => {
  const [file, anchor] = l.target.split('#');
  const abs = file === '' ? path.join(root, l.doc) : path.resolve(path.dirname(path.join(root, l.doc)), file);
  if (!fs.existsSync(abs) && PENDING.has(path.relative(root, abs))) return;
  expect(fs.existsSync(abs)).toBe(true);
  if (anchor === undefined) return;
  const lines = /^L(\d+)(?:-L(\d+))?$/.exec(anchor);
  if (lines) {
    const src = fs.readFileSync(abs, 'utf8').split('\n');
    const from = Number(lines[1]);
    const to = lines[2] === undefined ? from : Number(lines[2]);
    expect(from).toBeGreaterThanOrEqual(1);
    expect(to).toBeGreaterThanOrEqual(from);
    expect(to).toBeLessThanOrEqual(src.length);
    const code = /^`([^`]+)`$/.exec(l.text);
    if (code) expect(src[from - 1]).toContain(code[1]);
    return;
  }
  expect(abs.endsWith('.md')).toBe(true);
  expect([...headings(abs)]).toContain(anchor);
});

// ---- the package READMEs' examples --------------------------------------------------------------
// docs/*.md are run by snippets.test.ts; the package READMEs hold copies of such programs, run
// here the same way (every ```ts block, its printed lines compared with a ```text block right after).

const READMES = ['packages/tensor/README.md', 'packages/autodiff/README.md', 'packages/rnn/README.md'].filter((f) => fs.existsSync(path.join(root, f)));

function readmeSnippets(file: string): { name: string; code: string; expected?: string }[] {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  const out: { name: string; code: string; expected?: string }[] = [];
  for (const m of text.matchAll(/```ts\n([\s\S]*?)```(?:\s*\n```text\n([\s\S]*?)```)?/g)) {
    out.push({ name: `${file}:${text.slice(0, m.index).split('\n').length}`, code: m[1], expected: m[2] });
  }
  return out;
}

const readmeCases = READMES.flatMap(readmeSnippets);

test.each(readmeCases.map((s) => [s.name, s] as const))('%s runs and prints what it shows', (_name, s) => {
  const js = ts.transpileModule(s.code, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText;
  const printed: string[] = [];
  const fakeConsole = { ...console, log: (...a: unknown[]) => printed.push(a.map((x) => (typeof x === 'string' ? x : String(x))).join(' ')) };
  const mod = { exports: {} };
  const cwd = process.cwd();
  process.chdir(root);
  try {
    new Function('require', 'module', 'exports', 'console', js)(require, mod, mod.exports, fakeConsole);
  } finally {
    process.chdir(cwd);
  }
  if (s.expected !== undefined) expect(printed.join('\n').trimEnd()).toBe(s.expected.trimEnd());
});
