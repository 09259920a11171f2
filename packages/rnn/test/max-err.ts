import { Tensor } from '@unfold/tensor';

/** |a − b| / max(1, |a|, |b|), worst element (NaN anywhere counts as ∞); shapes must agree. */
export function maxErr(a: Tensor, b: Tensor): number {
  expect(a.shape).toEqual(b.shape);
  const x = a.toFlatArray();
  const y = b.toFlatArray();
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const e = Math.abs(x[i] - y[i]) / Math.max(1, Math.abs(x[i]), Math.abs(y[i]));
    m = Number.isNaN(e) ? Infinity : Math.max(m, e);
  }
  return m;
}
