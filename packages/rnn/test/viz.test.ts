import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import fc from 'fast-check';
import { TensorError } from '@unfold/tensor';
import { PALETTE, fmtNum, heatmap, linePlot, linearTicks, logTicks, makeAxis, tightAxis, viridis } from '../src/viz';
import { writeSvg } from '../src/node';
import { segments } from '../src/viz/line';

/**
 * A small XML well-formedness check: every tag matches /<name attr="v" …>/ with quoted attributes
 * and no duplicates, tags nest, one root, no stray < or bare &. Returns the elements it saw.
 */
function parseXml(s: string): { tag: string; attrs: Record<string, string> }[] {
  const body = s.replace(/^<\?xml [^?]*\?>\s*/, '');
  const badAmp = /&(?!(amp|lt|gt|quot|#39);)/;
  const re = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  const stack: string[] = [];
  const seen: { tag: string; attrs: Record<string, string> }[] = [];
  let roots = 0;
  for (let m = re.exec(body); m !== null; m = re.exec(body)) {
    const [, close, tag, attrText, selfClose, txt, stray] = m;
    if (stray) throw new Error(`malformed tag at ${m.index}: ${body.slice(m.index, m.index + 40)}`);
    if (txt !== undefined) {
      if (badAmp.test(txt)) throw new Error(`bare & in text: ${txt}`);
      if (stack.length === 0 && txt.trim() !== '') throw new Error(`text outside the root: ${txt}`);
      continue;
    }
    if (close) {
      if (attrText || selfClose) throw new Error(`closing tag with attributes: ${m[0]}`);
      const open = stack.pop();
      if (open !== tag) throw new Error(`</${tag}> closes <${open}>`);
      continue;
    }
    if (stack.length === 0 && ++roots > 1) throw new Error('more than one root element');
    const attrs: Record<string, string> = {};
    for (const [, k, v] of attrText.matchAll(/([\w:-]+)="([^"]*)"/g)) {
      if (k in attrs) throw new Error(`duplicate attribute ${k} on <${tag}>`);
      if (badAmp.test(v)) throw new Error(`bare & in attribute ${k}="${v}"`);
      attrs[k] = v;
    }
    seen.push({ tag, attrs });
    if (!selfClose) stack.push(tag);
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.join('> <')}>`);
  if (roots !== 1 || seen[0].tag !== 'svg') throw new Error('root element must be a single <svg>');
  return seen;
}

/** Visible text of <text> elements (entities decoded), in document order. */
const texts = (svg: string): string[] =>
  [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&'));
const seriesPaths = (svg: string) => parseXml(svg).filter((e) => e.tag === 'path');
/** Parses svg and expects no attribute (coordinates, path data) to hold NaN or Infinity. */
const noNonFiniteAttrs = (svg: string): void => {
  const bad: string[] = [];
  for (const e of parseXml(svg)) for (const [k, v] of Object.entries(e.attrs)) if (k !== 'data-name' && /NaN|Infinity/.test(v)) bad.push(`<${e.tag} ${k}="${v}">`);
  expect(bad).toEqual([]);
};

describe('the XML checker itself', () => {
  test.each([
    ['<svg><g></svg>', /closes/],
    ['<svg><rect x=1/></svg>', /malformed/],
    ['<svg><text>a & b</text></svg>', /bare &/],
    ['<svg x="1" x="2"/>', /duplicate/],
    ['<svg><g>', /unclosed/],
    ['<svg/><svg/>', /more than one root/],
  ])('rejects %s', (s, re) => expect(() => parseXml(s)).toThrow(re));
});

describe('ticks and number formatting', () => {
  test('fmtNum is compact', () => {
    const cases: [number, string][] = [[0, '0'], [1e-7, '1e-7'], [2.5e-5, '2.5e-5'], [0.1 + 0.2, '0.3'], [0.001, '0.001'], [12000, '12k'], [1500, '1.5k'],
      [-3e6, '-3M'], [1e12, '1e12'], [123.456, '123.5'], [NaN, 'NaN'], [-Infinity, '-∞']];
    for (const [v, want] of cases) expect(fmtNum(v)).toBe(want);
  });
  test('linear ticks are 1-2-5 multiples and print cleanly', () => {
    expect(linearTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(linearTicks(0, 3000, 6)).toEqual([0, 500, 1000, 1500, 2000, 2500, 3000]);
    expect(linearTicks(-0.35, 0.35, 3)).toEqual([-0.2, 0, 0.2]);
    const a = makeAxis([0.03, 0.97], false);
    expect([a.lo, a.hi]).toEqual([0, 1]);
    expect(a.ticks.map((t) => t.label)).toEqual(['0', '0.2', '0.4', '0.6', '0.8', '1']);
  });
  test('log axis over [1e-6, 1]: decade ticks 1e-6 … 1 labelled 10^k', () => {
    const a = makeAxis([1e-6, 0.3, 1], true, 8);
    expect([a.lo, a.hi]).toEqual([1e-6, 1]);
    expect(a.ticks.map((t) => t.value)).toEqual([1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1]);
    expect(a.ticks.map((t) => t.label)).toEqual(['10⁻⁶', '10⁻⁵', '10⁻⁴', '10⁻³', '10⁻²', '10⁻¹', '10⁰']);
    expect(a.minor).toContain(2e-6);
  });
  test('log axis over many decades labels every s-th decade; under a decade falls back to 1-2-5', () => {
    expect(logTicks(1e-30, 1, 7).map((t) => t.label)).toEqual(['10⁻³⁰', '10⁻²⁵', '10⁻²⁰', '10⁻¹⁵', '10⁻¹⁰', '10⁻⁵', '10⁰']);
    expect(logTicks(0.1, 1).map((t) => t.value)).toEqual([0.1, 0.2, 0.5, 1]);
    expect(logTicks(0.3, 0.45).length).toBeGreaterThanOrEqual(2);
  });
  test('constant data is padded; no usable values still give an axis', () => {
    expect([makeAxis([5, 5], false).lo < 5, makeAxis([5, 5], false).hi > 5]).toEqual([true, true]);
    expect([makeAxis([0], false).lo, makeAxis([0], false).hi]).toEqual([-1, 1]);
    const c = makeAxis([1e-3], true);
    expect([c.lo, c.hi]).toEqual([1e-3 / Math.sqrt(10), 1e-3 * Math.sqrt(10)]);
    expect(c.ticks.map((t) => t.value)).toContain(1e-3);
    const p = makeAxis([3, 3.1], false, 6, 0.03); // padded: neither value lies on the frame
    expect(p.lo).toBeLessThan(3);
    expect(p.hi).toBeGreaterThan(3.1);
    const q = makeAxis([1e-8, 1], true, 6, 0.03);
    expect([q.lo < 1e-8, q.hi > 1, q.ticks[0].value, q.ticks[q.ticks.length - 1].value]).toEqual([true, true, 1e-8, 1]);
    expect([makeAxis([NaN, -1], true).lo, makeAxis([NaN, -1], true).hi]).toEqual([1, 10]);
    const t = tightAxis(0.25, 0.25, false);
    expect(t.lo).toBeLessThan(0.25);
    expect(t.ticks.length).toBeGreaterThanOrEqual(2);
  });
});

describe('linePlot', () => {
  const t = [0, 1, 2, 3, 4, 5, 6, 7];
  test('one <path> per finite run: NaN/Inf are gaps, isolated points are dots', () => {
    const svg = linePlot({ series: [{ name: 'rnn', x: t, y: [1, 2, NaN, 3, 4, Infinity, NaN, 5] }, { name: 'lstm', x: t, y: t.map((v) => v + 1) }] });
    const paths = seriesPaths(svg);
    expect(paths.map((p) => p.attrs['data-name'])).toEqual(['rnn', 'rnn', 'rnn', 'lstm']);
    expect(paths[0].attrs.d.match(/L/g)?.length).toBe(1); // [1,2]
    expect(paths[2].attrs.d).toMatch(/a2\.5 2\.5/); // the lone 5 is a dot
    expect(paths[2].attrs.fill).toBe(paths[0].attrs.stroke);
    noNonFiniteAttrs(svg);
  });
  test('legend names, distinct palette colours, dashed series', () => {
    const names = ['vanilla RNN', 'LSTM', 'GRU'];
    const svg = linePlot({ series: names.map((name, i) => ({ name, x: t, y: t.map((v) => v * (i + 1)), dashed: i === 2 })) });
    expect(texts(svg)).toEqual(expect.arrayContaining(names));
    const strokes = seriesPaths(svg).map((p) => p.attrs.stroke);
    expect(strokes).toEqual(PALETTE.slice(0, 3));
    expect(seriesPaths(svg)[2].attrs['stroke-dasharray']).toBeDefined();
    expect(seriesPaths(svg)[0].attrs['stroke-dasharray']).toBeUndefined();
  });
  test('log y over 1e-8 … 1: decade tick labels, non-positive values skipped and noted', () => {
    const y = t.map((i) => 10 ** -i);
    y[3] = 0;
    y[5] = -1;
    const svg = linePlot({ series: [{ name: 'g', x: t, y }], logY: true, height: 600 });
    const labels = texts(svg);
    for (const k of [0, 2, 4, 6]) expect(labels).toContain(k === 0 ? '10⁰' : `10⁻${'⁰¹²³⁴⁵⁶⁷⁸⁹'[k]}`);
    expect(labels).toContain('2 points with y ≤ 0 not shown (log axis)');
    expect(seriesPaths(svg)).toHaveLength(3); // [0..2], [4], [6,7]
    noNonFiniteAttrs(svg);
  });
  test('escapes titles, labels and names', () => {
    const svg = linePlot({ title: 'loss < 1 & "ok"', xLabel: "t'", series: [{ name: '<script>', x: [0, 1], y: [1, 2] }] });
    parseXml(svg);
    expect(svg).toContain('loss &lt; 1 &amp; &quot;ok&quot;');
    expect(svg).not.toContain('<script>');
    expect(texts(svg)).toEqual(expect.arrayContaining(['loss < 1 & "ok"', '<script>', "t'"]));
  });
  test('constant data, a single point, different lengths, hLines all render', () => {
    for (const svg of [
      linePlot({ series: [{ name: 'c', x: [0, 1, 2], y: [3, 3, 3] }] }),
      linePlot({ series: [{ name: 'p', x: [5], y: [7] }], logX: true, logY: true }),
      linePlot({ series: [{ name: 'a', x: [0, 1], y: [1, 2] }, { name: 'b', x: [0, 1, 2, 3, 4], y: [2, 1, 0, 1, 2] }], hLines: [{ y: 10, label: 'clip = 10' }] }),
      linePlot({ series: [{ name: 'empty', x: [], y: [] }] }),
      linePlot({ series: [{ name: 'huge', x: [0, 1], y: [-1.7e308, 1.7e308] }] }),
    ]) noNonFiniteAttrs(svg);
    const h = linePlot({ series: [{ name: 'n', x: [0, 1], y: [1, 2] }], hLines: [{ y: 10, label: 'clip = 10' }] });
    expect(texts(h)).toContain('clip = 10');
    expect(texts(h)).toContain('10'); // the y axis was extended to include the reference line
    const g = linePlot({ series: [{ name: 'n', x: [0, 1], y: [1, 2] }], logY: true, hLines: [{ y: 0, label: 'zero' }] });
    expect(texts(g)).toContain('1 reference line not shown (y not finite or ≤ 0)');
  });
  test('bad input names the plot and the problem', () => {
    expect(() => linePlot({ series: [] })).toThrow(TensorError);
    expect(() => linePlot({ series: [] })).toThrow(/linePlot: series must be a non-empty array/);
    expect(() => linePlot({ series: [{ name: 'gru', x: [0, 1, 2], y: [1, 2] }] })).toThrow(/linePlot: series #0 'gru': x has 3 values but y has 2/);
    expect(() => linePlot({ series: [{ name: 'a', x: [0], y: ['1' as unknown as number] }] })).toThrow(/y\[0\] must be a number/);
    expect(() => linePlot({ series: [{ name: 'a', x: [0], y: [1] }], width: 50 })).toThrow(/linePlot: width must be a finite number >= 160/);
    expect(() => linePlot({ series: [{ name: 'a', x: [0], y: [1] }], title: 3 as unknown as string })).toThrow(/title must be a string/);
  });
  test('values at the ends of the double range (1e308 and 1.58e308 on log axes, denormals) get finite ticks only', () => {
    // Found by fuzzing linePlot (60,000 draws per seed): each of these used to throw on a non-finite coordinate.
    for (const [y, logY] of [[[1e308], true], [[1.581138831665329e308, 0], true], [[-3.5e-323], false], [[0, 5e-324], false], [[1e-9, 1.0000000000000003e-9], true]] as const) {
      const svg = linePlot({ series: [{ name: 'a', x: y.map((_, k) => k + 1), y: [...y] }], logY });
      expect(svg).not.toContain('NaN');
      expect(svg).not.toContain('Infinity');
    }
  });

  test('a span too narrow to label apart (1e-9 vs 1e-9·(1 + 3e-16)) renders as a constant, not NaN', () => {
    const svg = linePlot({ series: [{ name: 'a', x: [1, 2], y: [1e-9, 1.0000000000000003e-9] }] });
    expect(svg).toContain('<path');
    expect(svg).not.toContain('NaN');
  });

  test('property: any data (NaN, ±Inf, ≤0, huge) gives well-formed SVG with a path per run', () => {
    const num = fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -Infinity, 0, -1, 1e-300, 1e300), fc.double({ min: 1e-9, max: 1, noNaN: true }));
    const arb = fc.record({
      ys: fc.array(fc.array(num, { maxLength: 30 }), { minLength: 1, maxLength: 4 }),
      logX: fc.boolean(),
      logY: fc.boolean(),
      title: fc.string(),
    });
    fc.assert(
      fc.property(arb, ({ ys, logX, logY, title }) => {
        const series = ys.map((y, i) => ({ name: `s${i}`, x: y.map((_, k) => k + 1), y }));
        const svg = linePlot({ series, logX, logY, title });
        noNonFiniteAttrs(svg);
        const want = series.reduce((n, s) => n + segments(s, logX, logY).runs.length, 0);
        expect(seriesPaths(svg)).toHaveLength(want);
      }),
      { numRuns: 200 },
    );
  });
});

describe('heatmap', () => {
  const grid = (r: number, c: number, f: (i: number, j: number) => number) => Array.from({ length: r }, (_, i) => Array.from({ length: c }, (_, j) => f(i, j)));
  const cells = (svg: string) => parseXml(svg).filter((e) => e.tag === 'rect' && e.attrs.width !== undefined && e.attrs.fill !== 'none');

  test('one rect per cell, NaN cells grey, colour bar ticks over the data range', () => {
    const values = grid(3, 4, (i, j) => i * 4 + j);
    values[1][2] = NaN;
    const svg = heatmap({ values, title: 'A & B' });
    const fills = cells(svg).map((e) => e.attrs.fill);
    expect(fills.filter((f) => f === '#c8c8c8')).toHaveLength(2); // the NaN cell and its legend swatch
    expect(fills).toContain('#440154'); // min → darkest viridis
    expect(fills).toContain('#fde725'); // max → yellow
    expect(texts(svg)).toEqual(expect.arrayContaining(['0', '4', '10', 'NaN', 'A & B']));
    expect(parseXml(svg).filter((e) => e.tag === 'title')).toHaveLength(12);
  });
  test('log colour: decades on the bar, ≤ 0 cells grey and noted', () => {
    const values = grid(30, 50, (_, j) => 0.7 ** j);
    values[0][0] = 0;
    const svg = heatmap({ values, logColor: true });
    expect(texts(svg)).toEqual(expect.arrayContaining(['10⁻²', '10⁻⁴', '10⁻⁶', '1 cell ≤ 0 drawn grey (log colour scale)']));
    noNonFiniteAttrs(svg);
  });
  test('labels: given row/column labels appear (long ones cut); column labels rotate when that fits more', () => {
    const svg = heatmap({ values: grid(2, 3, () => 1), rowLabels: ['dec 0', 'dec 1'], colLabels: ['<s>', 'a very long token', 'x'], width: 300 });
    expect(texts(svg)).toEqual(expect.arrayContaining(['dec 0', 'dec 1', '<s>', 'x', 'a very long tok…'])); // tick labels cut at 16 chars
    expect(svg).toContain('<title>dec 1, a very long token: 1</title>'); // the tooltip keeps the whole label
    expect(svg).toMatch(/rotate\(-90/);
  });
  test('bad input', () => {
    expect(() => heatmap({ values: [[1, 2], [3]] })).toThrow(/heatmap: ragged rows: values\[1\] has 1 values but values\[0\] has 2/);
    expect(() => heatmap({ values: [] })).toThrow(/heatmap: values must be a non-empty array/);
    expect(() => heatmap({ values: [[]] })).toThrow(/need at least one column/);
    expect(() => heatmap({ values: [[1, 2]], colLabels: ['a'] })).toThrow(/heatmap: colLabels has 1 labels but values has 2 columns/);
  });
});

describe('colours and files', () => {
  test('viridis: fixed endpoints and lightness rising monotonically', () => {
    expect([viridis(0), viridis(1), viridis(-5), viridis(7)]).toEqual(['#440154', '#fde725', '#440154', '#fde725']);
    const luma = (h: string) => [1, 3, 5].map((k) => parseInt(h.slice(k, k + 2), 16)).reduce((s, c, k) => s + c * [0.2126, 0.7152, 0.0722][k], 0);
    const ls = Array.from({ length: 101 }, (_, i) => luma(viridis(i / 100)));
    for (let i = 1; i < ls.length; i++) expect(ls[i]).toBeGreaterThan(ls[i - 1]);
  });
  test('writeSvg writes atomically and leaves no temp file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unfold-viz-'));
    const file = path.join(dir, 'p.svg');
    const svg = linePlot({ series: [{ name: 'a', x: [0, 1], y: [0, 1] }] });
    writeSvg(file, svg);
    writeSvg(file, svg);
    expect(fs.readFileSync(file, 'utf8')).toBe(svg);
    expect(fs.readdirSync(dir)).toEqual(['p.svg']);
    expect(() => writeSvg(file, 'hello')).toThrow(/writeSvg: .*not an SVG document/);
    expect(() => writeSvg(path.join(dir, 'missing', 'x.svg'), svg)).toThrow(/ENOENT/);
    expect(fs.readdirSync(dir)).toEqual(['p.svg']);
    fs.rmSync(dir, { recursive: true });
  });
});
