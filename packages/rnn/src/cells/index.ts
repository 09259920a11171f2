import { CellKind, CellStep } from './spec';
import { COMPOSED } from './composed';
import { rnnReluFused, rnnTanhFused } from './fused-rnn';
import { lstmFused } from './fused-lstm';
import { gruFused } from './fused-gru';

export * from './spec';
export { COMPOSED, rnnTanhComposed, rnnReluComposed, lstmComposed, gruComposed } from './composed';
export { rnnTanhCellOp, rnnReluCellOp, rnnTanhFused, rnnReluFused } from './fused-rnn';
export { lstmCellOp, lstmFused, lstmGatesForward, lstmGatesBackward } from './fused-lstm';
export { Mat } from './fused-util';
export { gruCellOp, gruFused, gruGatesForward, gruGatesBackward } from './fused-gru';

/** The fused per-step kernels: one tape record per step, hand-derived VJPs (fused-*.ts). */
export const FUSED: Record<CellKind, CellStep> = { rnn_tanh: rnnTanhFused, rnn_relu: rnnReluFused, lstm: lstmFused, gru: gruFused };

export function cellStep(kind: CellKind, fused: boolean): CellStep {
  return (fused ? FUSED : COMPOSED)[kind];
}
