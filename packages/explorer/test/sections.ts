import { localIds } from '../src/lib/walk';

/** explain()'s text, renumbered like the page, cut into the sections the page shows. */
export function explainSections(text: string): { forward: string[]; loss: string; backward: string[]; table: string[] } {
  const lines = localIds(text.split('\n'));
  const f0 = lines.findIndex((l) => l.startsWith('== forward'));
  const lossAt = lines.findIndex((l, i) => i > f0 && l.startsWith('L = '));
  const b0 = lines.findIndex((l) => l.startsWith('== backward')) + 3;
  const b1 = lines.indexOf('', b0);
  const t0 = lines.findIndex((l) => l.startsWith('== ∂L/∂h_t over time'));
  const t1 = lines.indexOf('', t0);
  return { forward: lines.slice(f0 + 1, lossAt), loss: lines[lossAt], backward: lines.slice(b0, b1), table: lines.slice(t0 + 1, t1).filter((l) => !l.startsWith('   (')) };
}
