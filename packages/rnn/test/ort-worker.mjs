// ONNX Runtime (onnxruntime-web, pure wasm) in a worker thread: outside jest's module sandbox,
// where its dynamic import of the wasm glue works without --experimental-vm-modules.
// Messages in: { id, model: Uint8Array, feeds: { name: { type, data, dims } } };
// out: { id, outputs: { name: { data, dims } } } or { id, error }.
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-web';

ort.env.wasm.numThreads = 1;
parentPort.on('message', async ({ id, model, feeds }) => {
  try {
    const session = await ort.InferenceSession.create(model);
    const input = {};
    for (const [n, f] of Object.entries(feeds)) input[n] = new ort.Tensor(f.type, f.data, f.dims);
    const res = await session.run(input);
    const outputs = {};
    for (const [n, t] of Object.entries(res)) outputs[n] = { data: t.data, dims: Array.from(t.dims) };
    await session.release();
    parentPort.postMessage({ id, outputs });
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.message ? e.message : e) });
  }
});
