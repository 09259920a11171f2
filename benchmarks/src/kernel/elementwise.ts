import ndarray from 'ndarray';
import { Tensor, Rng, add, mul, exp, tanh, sigmoid, sum, softmax } from '@unfold/tensor';
import { bestOf7 } from './time';

/**
 * Elementwise / reduction / softmax kernels: Unfold's hand loops against ndarray-ops (where
 * ndarray-ops has the op) on float32 at the per-time-step sizes of an RNN ([32,128],
 * [32,1024]) and at 1e6 elements. Both sides allocate their output on every call, as the
 * kernels do in a training step; the ndarray-ops side also pays `toNdarray()` per operand.
 * Run: `npx tsc -b && node benchmarks/dist/kernel/elementwise.js`.
 */

type Nd = ndarray.NdArray;
// ndarray-ops ships no type declarations; the four functions used here, typed locally.
const ops = require('ndarray-ops') as {
  add(out: Nd, a: Nd, b: Nd): void;
  mul(out: Nd, a: Nd, b: Nd): void;
  exp(out: Nd, a: Nd): void;
  sum(a: Nd): number;
};

export interface Row {
  op: string;
  size: string;
  impl: 'unfold' | 'ndarray-ops';
  nsPerElement: number;
  nsPerCall: number;
}

const SIZES: { label: string; shape: number[] }[] = [
  { label: '32x128', shape: [32, 128] },
  { label: '32x1024', shape: [32, 1024] },
  { label: '1e6', shape: [1_000_000] },
];

function randomTensor(shape: number[], rng: Rng, scale = 3): Tensor {
  const t = Tensor.empty(shape, 'float32');
  for (let i = 0; i < t.data.length; i++) t.data[i] = (2 * rng.next() - 1) * scale;
  return t;
}

export async function elementwiseBench(): Promise<Row[]> {
  const rows: Row[] = [];
  const rng = new Rng(1);
  for (const { label, shape } of SIZES) {
    const a = randomTensor(shape, rng);
    const b = randomTensor(shape, rng);
    const n = a.size;
    const nd = (t: Tensor): Nd => t.toNdarray(ndarray) as unknown as Nd;
    const fresh = (): Tensor => Tensor.empty(shape, 'float32');
    const cases: [string, 'unfold' | 'ndarray-ops', () => unknown][] = [
      ['add', 'unfold', () => add(a, b)],
      ['add', 'ndarray-ops', () => { const o = fresh(); ops.add(nd(o), nd(a), nd(b)); return o; }],
      ['mul', 'unfold', () => mul(a, b)],
      ['mul', 'ndarray-ops', () => { const o = fresh(); ops.mul(nd(o), nd(a), nd(b)); return o; }],
      ['exp', 'unfold', () => exp(a)],
      ['exp', 'ndarray-ops', () => { const o = fresh(); ops.exp(nd(o), nd(a)); return o; }],
      ['tanh', 'unfold', () => tanh(a)],
      ['sigmoid', 'unfold', () => sigmoid(a)],
      ['sum', 'unfold', () => sum(a)],
      ['sum', 'ndarray-ops', () => ops.sum(nd(a))],
      ['softmax', 'unfold', () => softmax(a)],
    ];
    if (shape.length === 2) {
      // Strided operand: the broadcast/strided path against cwise's own stride-ordered loops.
      const at = randomTensor([shape[1], shape[0]], rng).transpose();
      cases.push(['add(a, bᵀ view)', 'unfold', () => add(a, at)]);
      cases.push(['add(a, bᵀ view)', 'ndarray-ops', () => { const o = fresh(); ops.add(nd(o), nd(a), nd(at)); return o; }]);
      // Bias add [B,H] + [H] and the bias gradient Σ over the batch axis.
      const bias = randomTensor([shape[1]], rng);
      cases.push(['add(x, bias[H])', 'unfold', () => add(a, bias)]);
      cases.push(['sum(x, 0)', 'unfold', () => sum(a, 0)]);
    }
    for (const [op, impl, fn] of cases) {
      const ns = bestOf7(fn);
      rows.push({ op, size: label, impl, nsPerElement: ns / n, nsPerCall: ns });
    }
  }
  return rows;
}

export function formatRows(rows: Row[]): string {
  const lines = ['| op | size | impl | ns/element | µs/call |', '|---|---|---|---:|---:|'];
  for (const r of rows) lines.push(`| ${r.op} | ${r.size} | ${r.impl} | ${r.nsPerElement.toFixed(2)} | ${(r.nsPerCall / 1000).toFixed(1)} |`);
  return lines.join('\n');
}

if (require.main === module) {
  elementwiseBench().then((rows) => {
    console.log(`node ${process.version}, float32, best of 7 batches\n`);
    console.log(formatRows(rows));
  });
}
