// @unfold/autodiff — tape-based reverse-mode autodiff with explicit BPTT.
export { OpDef, ValueRef, refOf, ACCUMULATED, Deferred } from './op';
export { Tape, TapeRecord, apply, apply1, activeTape, tapeOwnsOutputs, noGrad, detach, formatRecord, formatValue } from './tape';
export { Adjoints, backwardRecords, backward, Gradients, BackwardOptions, TapeBackwardOptions } from './backward';
export { grad, valueAndGrad, GradOptions, TensorTree, treeLeaves, treeMap } from './grad';
export { gradCheck, GradCheckOptions, GradCheckReport, GradCheckWorst } from './gradcheck';
export { bptt, unroll, BpttOptions, BpttResult, State, StepFn, StepResult, StepSegment } from './bptt';
export * from './ops';
