import { Tensor, TensorError } from '@unfold/tensor';
import { noGrad } from '@unfold/autodiff';
import { Module } from './module';
import type { Sequential, SequentialContext } from './containers';

// A Sequential, recognised by shape (containers.ts imports this file: no import cycle at load).
const isSequential = (m: Module): m is Sequential => { const s = m as unknown as { layers?: unknown; trace?: unknown }; return Array.isArray(s.layers) && typeof s.trace === 'function'; };

export interface SummaryRow {
  /** Child name (`0`, `encoder`) or '(own)' for the module's own parameters. */
  name: string;
  type: string;
  /** Output shape, when an example input was given and the module is a Sequential. */
  outputShape: number[] | null;
  params: number;
}

/** The rows of `summary`, for programs that want the numbers rather than the text. */
export function summaryRows(model: Module, input?: Tensor, ctx: SequentialContext = {}): SummaryRow[] {
  if (!(model instanceof Module)) throw new TensorError('summary', `expected a Module, got ${model === null ? 'null' : typeof model}`);
  let shapes: number[][] | null = null;
  if (input !== undefined) {
    if (!isSequential(model)) throw new TensorError('summary', 'output shapes need a Sequential (other modules do not say which child feeds which); call summary(model) without an input');
    const was = model.training;
    model.eval(); // no dropout draws: summarising must not change the random streams
    try {
      shapes = noGrad(() => model.trace(input, ctx).shapes);
    } finally {
      model.train(was);
    }
  }
  const all = model.namedParameters();
  const own = all.filter(([n]) => !n.includes('.'));
  const rows: SummaryRow[] = [];
  if (own.length) rows.push({ name: '(own)', type: model.constructor.name, outputShape: null, params: own.reduce((a, [, p]) => a + p.value.size, 0) });
  const children = new Map<string, number>();
  for (const [n, p] of all) {
    const dot = n.indexOf('.');
    if (dot < 0) continue;
    const c = n.slice(0, dot);
    children.set(c, (children.get(c) ?? 0) + p.value.size);
  }
  const kids = isSequential(model) ? model.layers.map((l, i) => [String(i), l] as const) : model.namedChildren();
  kids.forEach(([name, m], i) => rows.push({ name, type: m.constructor.name, outputShape: shapes ? shapes[i] : null, params: children.get(name) ?? 0 }));
  return rows;
}

/**
 * A Keras-style table: one row per child layer with its type, output shape (for a Sequential
 * given an example input) and parameter count, then the total. Returns the text (the library
 * prints nothing itself): `console.log(summary(model, x))`.
 */
export function summary(model: Module, input?: Tensor, ctx: SequentialContext = {}): string {
  const rows = summaryRows(model, input, ctx);
  const cells = rows.map((r) => [`${r.name} (${r.type})`, r.outputShape ? `[${r.outputShape.join(', ')}]` : input ? '' : '-', r.params.toLocaleString('en-US')]);
  const head = ['Layer (type)', 'Output shape', 'Params'];
  const w = head.map((h, j) => Math.max(h.length, ...cells.map((c) => c[j].length)));
  const line = (c: string[]) => `${c[0].padEnd(w[0])}  ${c[1].padEnd(w[1])}  ${c[2].padStart(w[2])}`;
  const rule = '─'.repeat(w[0] + w[1] + w[2] + 4);
  const total = model.numParameters();
  return [`${model.constructor.name}`, rule, line(head), rule, ...cells.map(line), rule, `Total params: ${total.toLocaleString('en-US')}`].join('\n');
}
