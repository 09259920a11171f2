import { backendInfo } from '../src/wasm/backend';
import { describeGemmSuite } from './matmul.suite';

// The same GEMM property tests as matmul.test.ts, on the WebAssembly SIMD kernel.
// Node ≥ 16.4 has wasm SIMD: a runtime without it must fail here, not skip silently.
test('this runtime supports WebAssembly SIMD', () => {
  expect(backendInfo().simd).toBe(true);
});

describeGemmSuite('wasm', ['float32']);
