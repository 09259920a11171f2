import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

/**
 * Every ```ts block in docs/*.md is run here (with the repository root as working directory), and when a ```text block follows it, what the
 * snippet printed must equal that text: the docs cannot drift from the code.
 * Snippets import from '@unfold/…' exactly as a user would (jest maps those to the sources).
 */
const docsDir = path.join(__dirname, '..');
const files = [...fs.readdirSync(docsDir).filter((f) => f.endsWith('.md')), '../README.md'];

interface Snippet { file: string; line: number; code: string; expected?: string }

function snippets(file: string): Snippet[] {
  const text = fs.readFileSync(path.join(docsDir, file), 'utf8');
  // ```ts blocks run; ```ts no-run (or any other info string) is shown but not run
  const re = /```([^\n]*)\n([\s\S]*?)```/g;
  const out: Snippet[] = [];
  let m: RegExpExecArray | null;
  let last: Snippet | null = null;
  while ((m = re.exec(text))) {
    const line = text.slice(0, m.index).split('\n').length;
    if (m[1] === 'ts') {
      last = { file, line, code: m[2] };
      out.push(last);
    } else if (m[1] === 'text' && last && last.expected === undefined && text.slice(re.lastIndex - m[0].length - 20, re.lastIndex - m[0].length).includes('```')) {
      last.expected = m[2];
    } else last = null;
  }
  return out;
}

const all = files.flatMap(snippets);

test('the docs have snippets to run', () => {
  expect(all.length).toBeGreaterThan(0);
});

// A snippet with asynchronous work (tfjs' fit) exports its promise as `done`; the test awaits it.
test.each(all.map((s) => [`${s.file}:${s.line}`, s] as const))('%s', async (_name, s) => {
  const js = ts.transpileModule(s.code, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText;
  const printed: string[] = [];
  const fakeConsole = { ...console, log: (...a: unknown[]) => printed.push(a.map((x) => (typeof x === 'string' ? x : String(x))).join(' ')) };
  const mod: { exports: { done?: Promise<unknown> } } = { exports: {} };
  new Function('require', 'module', 'exports', 'console', js)(require, mod, mod.exports, fakeConsole);
  if (mod.exports.done) await mod.exports.done;
  if (s.expected !== undefined) expect(printed.join('\n').trimEnd()).toBe(s.expected.trimEnd());
});
