import { Tensor, TensorError, shapeStr } from '@unfold/tensor';
import * as ad from '@unfold/autodiff';
import { BatchTargets } from './dataloader';

export type LossName = 'mse' | 'mae' | 'sparseCategoricalCrossentropy';
export const LOSSES: readonly LossName[] = ['mse', 'mae', 'sparseCategoricalCrossentropy'];
export type MetricName = 'accuracy' | 'mae' | 'mse' | 'perplexity';
export const METRICS: readonly MetricName[] = ['accuracy', 'mae', 'mse', 'perplexity'];

/** Logits as [N, C] rows and their class targets (with a 0/1 weight per row for padded tagging). */
function classRows(op: string, pred: Tensor, y: BatchTargets): { logits: Tensor; ids: Int32Array; w?: Float64Array } {
  if (y.kind === 'labels') {
    if (pred.rank !== 2 || pred.shape[0] !== y.ids.length) throw new TensorError(op, `classification needs logits [B, C] for ${y.ids.length} labels, got ${shapeStr(pred.shape)}`);
    return { logits: pred, ids: y.ids };
  }
  if (y.kind === 'tags') {
    const B = y.ids.length / y.T;
    if (pred.rank !== 3 || pred.shape[0] !== B || pred.shape[1] !== y.T) throw new TensorError(op, `tagging needs logits [B, T, C] = [${B}, ${y.T}, C], got ${shapeStr(pred.shape)}`);
    return { logits: ad.reshape(pred, [B * y.T, pred.shape[2]]), ids: y.ids, w: y.mask };
  }
  throw new TensorError(op, 'needs class labels or tags as y, got a float tensor (use mse or mae for regression)');
}

/** The batch loss (a scalar tensor) and the number of items it averages over. */
export function batchLoss(loss: LossName, pred: Tensor, y: BatchTargets): { loss: Tensor; count: number } {
  if (loss === 'sparseCategoricalCrossentropy') {
    const { logits, ids, w } = classRows(loss, pred, y);
    const count = w ? w.reduce((a, b) => a + b, 0) : ids.length;
    return { loss: ad.crossEntropy(logits, ids, w ? { weights: w } : {}), count };
  }
  if (y.kind !== 'dense') throw new TensorError(loss, `regression needs a float tensor as y, got ${y.kind} (use sparseCategoricalCrossentropy for classes)`);
  if (loss === 'mse') return { loss: ad.mse(pred, y.t), count: y.t.size };
  if (!(pred.rank === y.t.rank && pred.shape.every((d, i) => d === y.t.shape[i]))) throw new TensorError('mae', `prediction ${shapeStr(pred.shape)} and target ${shapeStr(y.t.shape)} differ in shape`);
  return { loss: ad.mean(ad.abs(ad.sub(pred, y.t))), count: y.t.size };
}

/** Running sums over an epoch: each metric's value is Σ / count (perplexity: exp of the mean cross-entropy). */
export class MetricSums {
  private readonly sums = new Map<string, [number, number]>();

  add(name: string, sum: number, count: number): void {
    const s = this.sums.get(name) ?? [0, 0];
    this.sums.set(name, [s[0] + sum, s[1] + count]);
  }

  /** The metrics of one batch (pred has no gradient needed). */
  addBatch(metrics: readonly MetricName[], pred: Tensor, y: BatchTargets): void {
    for (const m of metrics) {
      if (m === 'accuracy' || m === 'perplexity') {
        const { logits, ids, w } = classRows(m, pred, y);
        const [N, C] = logits.shape;
        const z = logits.toFlatArray();
        let correct = 0, total = 0, ce = 0;
        for (let i = 0; i < N; i++) {
          const wi = w ? w[i] : 1;
          if (wi === 0) continue;
          let best = 0, mx = -Infinity;
          for (let c = 0; c < C; c++) if (z[i * C + c] > mx) (mx = z[i * C + c]), (best = c);
          let se = 0;
          for (let c = 0; c < C; c++) se += Math.exp(z[i * C + c] - mx);
          ce += wi * (Math.log(se) + mx - z[i * C + ids[i]]);
          correct += wi * (best === ids[i] ? 1 : 0);
          total += wi;
        }
        this.add(m, m === 'accuracy' ? correct : ce, total);
      } else {
        if (y.kind !== 'dense') throw new TensorError(m, `needs a float tensor as y, got ${y.kind}`);
        const a = pred.toFlatArray(), b = y.t.toFlatArray();
        if (a.length !== b.length) throw new TensorError(m, `prediction ${shapeStr(pred.shape)} and target ${shapeStr(y.t.shape)} differ in size`);
        let s = 0;
        for (let i = 0; i < a.length; i++) s += m === 'mae' ? Math.abs(a[i] - b[i]) : (a[i] - b[i]) ** 2;
        this.add(m, s, a.length);
      }
    }
  }

  result(prefix = ''): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, [s, n]] of this.sums) out[prefix + k] = k === 'perplexity' ? Math.exp(s / n) : s / n;
    return out;
  }
}
