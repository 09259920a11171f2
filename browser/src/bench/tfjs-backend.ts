// The page's stand-in for benchmarks/src/tfjs/backend.ts (same exports), swapped in by the
// bundle (build.ts) so the page times the very tfjs model the Node suite times
// (benchmarks/src/tfjs/model.ts). Differences from Node: the wasm binaries are fetched from the
// served folder (setWasmPaths), the threaded tfjs-wasm build is switched off (an ordinary page,
// without COOP/COEP, gets the single-threaded SIMD build: that is the build compared here, on the
// isolated benchmark page too), and there is a WebGL backend when the browser offers WebGL.
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { TFJS_WASM_DIR } from './protocol';

export type TfBackend = 'cpu' | 'wasm' | 'webgl';

let wasmPathsSet = false;


/** Makes `name` the active tfjs backend (initialising it on first use). */
export async function useBackend(name: TfBackend): Promise<void> {
  if (name === 'wasm' && !wasmPathsSet) {
    setWasmPaths(new URL(TFJS_WASM_DIR, location.href).href);
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
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

/** The WebGL renderer the page sees ('' when there is no WebGL), e.g. SwiftShader's software renderer. */
export function webglRenderer(): string {
  const c = document.createElement('canvas');
  const gl = (c.getContext('webgl2') ?? c.getContext('webgl')) as WebGLRenderingContext | null;
  if (!gl) return '';
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  const kind = typeof WebGL2RenderingContext !== 'undefined' && gl instanceof WebGL2RenderingContext ? 'WebGL 2' : 'WebGL 1';
  return `${kind}: ${String(ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER))}`;
}

export async function describeBackend(name: TfBackend): Promise<string> {
  if (name === 'cpu') return `tfjs ${tf.version.tfjs} cpu (plain JS kernels)`;
  if (name === 'webgl') return `tfjs ${tf.version.tfjs} webgl (${webglRenderer()}; float32 textures ${tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED') ? 'on' : 'off'})`;
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  return `tfjs ${tf.version.tfjs} wasm (XNNPACK; SIMD ${simd ? 'on' : 'off'}, threads ${threads ? 'on' : 'off'})`;
}
