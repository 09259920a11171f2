import { CellKind, CellStep } from './spec';
import { COMPOSED } from './composed';

export * from './spec';
export { COMPOSED, rnnTanhComposed, rnnReluComposed, lstmComposed, gruComposed } from './composed';

/** The fused per-step kernels (one tape record per step); the composed cells until they land. */
export const FUSED: Record<CellKind, CellStep> = { ...COMPOSED };

export function cellStep(kind: CellKind, fused: boolean): CellStep {
  return (fused ? FUSED : COMPOSED)[kind];
}
