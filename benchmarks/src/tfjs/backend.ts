// Loading TensorFlow.js under Node: the full bundle (so tfjs-core registers its gradients), the
// cpu backend (plain JS) and the wasm backend (XNNPACK, SIMD; single thread under Node).
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export type TfBackend = 'cpu' | 'wasm';

let wasmPathsSet = false;

/** Makes `name` the active tfjs backend (initialising it on first use). */
export async function useBackend(name: TfBackend): Promise<void> {
  if (name === 'wasm' && !wasmPathsSet) {
    // the .wasm binaries ship in the package's dist/; under Node a directory path with a trailing separator works as the prefix
    const dist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
    setWasmPaths(dist);
    wasmPathsSet = true;
  }
  if (tf.getBackend() !== name) {
    const ok = await tf.setBackend(name);
    if (!ok) throw new Error(`tfjs: backend '${name}' failed to initialise`);
  }
  await tf.ready();
}

/** Bytes of the wasm backend's linear memory (it only grows, so this is also its peak). */
export function wasmMemoryBytes(): number | undefined {
  const b = tf.findBackend('wasm') as unknown as { wasm?: { HEAPU8?: Uint8Array } } | null;
  return b?.wasm?.HEAPU8?.buffer.byteLength;
}

export async function describeBackend(name: TfBackend): Promise<string> {
  if (name === 'cpu') return `tfjs ${tf.version.tfjs} cpu (plain JS kernels)`;
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  return `tfjs ${tf.version.tfjs} wasm (XNNPACK; SIMD ${simd ? 'on' : 'off'}, threads ${threads ? 'on' : 'off'})`;
}
