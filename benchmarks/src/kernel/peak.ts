// The sgemm kernel's peak for the roofline line of the model report: [32,256]×[256,512]
// (the reference shape) with every operand resident in the wasm arena, best of
// several timed batches, on 1 and on 2 threads.
import { performance } from 'perf_hooks';
import { Rng, backendInfo, gemmArrays, normal, setBackend, setThreads, toResident } from '@unfold/tensor';
import { KernelPeak } from '../harness/report';

export function kernelPeak(threadCounts: readonly number[] = [1, 2]): KernelPeak | undefined {
  if (!backendInfo().simd) return undefined;
  const [M, K, N] = [32, 256, 512];
  const rng = new Rng(1);
  const A = toResident(normal([M, K], 0, 1, { rng }));
  const B = toResident(normal([K, N], 0, 1, { rng }));
  const C = toResident(normal([M, N], 0, 1, { rng }));
  const gflops: Record<string, number> = {};
  setBackend('wasm');
  try {
    for (const t of threadCounts) {
      setThreads(t);
      if (backendInfo().threads !== t) continue;
      const call = (): void => gemmArrays(false, false, M, N, K, 1, A.data, 0, K, B.data, 0, N, 0, C.data, 0, N);
      for (let i = 0; i < 200; i++) call();
      let best = Infinity;
      for (let r = 0; r < 9; r++) {
        const n = 200;
        const t0 = performance.now();
        for (let i = 0; i < n; i++) call();
        best = Math.min(best, (performance.now() - t0) / n);
      }
      gflops[String(t)] = (2 * M * N * K) / (best / 1000) / 1e9;
    }
  } finally {
    setThreads(1);
    setBackend('auto');
    for (const x of [A, B, C]) x.storage.release();
  }
  return { shape: `[${M},${K}]×[${K},${N}]`, gflops };
}
