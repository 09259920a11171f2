// Optimizers, gradient clipping and learning-rate schedules: plain loops over parameter
// tensors, no autodiff involved.
export { Param } from './param';
export { Hyper, HyperValue } from './hyper';
export { Optimizer, OptimizerKind, OptimizerState } from './optimizer';
export { SGD, SGDOptions } from './sgd';
export { RMSProp, RMSPropOptions } from './rmsprop';
export { Adagrad, AdagradOptions } from './adagrad';
export { Adam, AdamW, AdamOptions } from './adam';
export { createOptimizer, OptimizerOptions, OPTIMIZER_KINDS } from './create';
export { clipGradNorm, clipGradValue, ClipGradNormOptions } from './clip';
export { Schedule, constant, stepDecay, exponential, cosine, cyclic, linearWarmup, sequential, compose } from './schedules';
export { stepLR, multiStepLR, exponentialLR, cosineAnnealingLR, cosineAnnealingWarmRestarts, oneCycleLR, OneCycleOptions } from './torch-schedules';
export { ReduceLROnPlateau, ReduceLROnPlateauOptions, PlateauState } from './plateau';
