// @unfold/tensor/kernels — the wasm machinery below the public API, for benchmarks and kernel
// work: the emitted modules' bytes and tiling constants, the arena's raw blocks, the worker
// pool's entry points. Not needed to use the library; unlike '.', no stability promise.
export { KC, MC, MR, NC, NR, SCRATCH_BYTES, packedBFloats, relaxedSimdSupported, sgemmModuleBytes } from './wasm/sgemm';
export { GateKernels, gatesModuleBytes } from './wasm/gates';
export { HeadKernels, headModuleBytes } from './wasm/head';
export { adamModuleBytes } from './wasm/adam';
export { recurrenceModuleBytes } from './wasm/recurrence';
export { arenaAlloc, arenaFree, arenaMemory, arenaIsShared, heapF32, isSharedBuffer } from './wasm/arena';
export { PoolInfo, PoolOptions, poolInfo, poolPing, poolReady, sgemmPackedParallel, sgemmParallel, startPool, stopPool } from './wasm/pool';
export { canBlock, cpuCount, workerHost } from './wasm/host';
