// @unfold/tensor — strided Float32/Float64 tensors and the kernels that work on them.
// Kernels know nothing of autodiff: they take tensors (or typed arrays) and return tensors.
export { DType, TypedArray, DTYPES, allocArray, dtypeOf, isDType } from './dtype';
export { TensorError, shapeStr } from './errors';
export { Storage } from './storage';
export { Shape, checkShape, sizeOf, contiguousStrides, normAxis, normAxes, broadcastShapes, sameShape } from './shape';
export { forEachRow, copyStrided } from './iter';
export { Tensor, SliceSpec, NdarrayLike, NdarrayFactory } from './tensor';
export { zeros, ones, full, zerosLike, onesLike, fullLike, tensor, arange, eye } from './create';
export { Rng, defaultRng, seed, RandomOptions, uniform, normal, randint, bernoulli, shuffle, permutation } from './random';
export { neg, exp, log, tanh, sigmoid, relu, sqrt, abs, square, pow, clip, isnan } from './elementwise';
export { add, sub, mul, div, maximum, minimum } from './binary';
export { greater, greaterEqual, less, lessEqual, equal, notEqual, where } from './compare';
export { addInPlace, subInPlace, mulInPlace, scaleInPlace, axpyInPlace, fillInPlace, copyInto, clipInPlace } from './inplace';
export { sum, mean, max, min, logSumExp, norm, argmax, sumToShape } from './reduce';
export { softmax, logSoftmax, oneHot, gather, scatterAdd } from './nn';
export { softmaxCrossEntropyRows, XentGrad, headKernels } from './xent';
export { adamF32, AdamScalars } from './wasm/adam';
export { concat, stack, split } from './join';
export { matmul, gemm, gemmArrays, gemmStrided, withPackedOperand, MatmulOptions, GemmOptions } from './matmul';
export { backendInfo, setBackend, setThreads, BackendInfo, wasmActive } from './wasm/backend';
export { poolReady } from './wasm/pool';
export { ArenaStats, WasmStorage, arenaStats, arenaAlloc, arenaFree, setArenaLimit, addressOf } from './wasm/arena';
export { residentEmpty, toResident, isResident, transientEmpty, scratchEmpty, residentPays } from './wasm/resident';
export { GateKernels } from './wasm/gates';
export { gateKernels, stage, expWasm } from './wasm/gate-kernels';
export { Recurrence, RecurrenceCall, RecurrenceKind, recurrence } from './wasm/recurrence-run';
