// Greedy text generation from a CharRNN exported with exportOnnx, served by ONNX Runtime.
//   node docs/serve_onnx.mjs model.onnx vocab.json "prime text" [length]
// vocab.json is the id → character list (["\n", " ", "a", …]). The same code runs in a
// browser with `import * as ort from 'onnxruntime-web'` (serve the package's dist/*.wasm
// beside the page, or point ort.env.wasm.wasmPaths at them).
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-web';

const [modelFile, vocabFile, prime, length = '40'] = process.argv.slice(2);
const chars = JSON.parse(readFileSync(vocabFile, 'utf8'));
ort.env.wasm.numThreads = 1;
const session = await ort.InferenceSession.create(readFileSync(modelFile));

// h0 (and c0, for an LSTM) are [L·D, B, H]: the declared shape, with B = 1
const stateInputs = session.inputMetadata.filter((m) => m.name === 'h0' || m.name === 'c0');
const zeros = (m) => {
  const dims = m.shape.map((d) => (typeof d === 'number' ? d : 1));
  return new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
};
let state = Object.fromEntries(stateInputs.map((m) => [m.name, zeros(m)]));

/** Feeds ids [T, 1] from the carried state; returns the last step's logits [V]. */
async function feed(ids) {
  const out = await session.run({ ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [ids.length, 1]), ...state });
  state = { h0: out.h_n, ...(out.c_n ? { c0: out.c_n } : {}) };
  const V = out.logits.dims[2];
  return out.logits.data.subarray((ids.length - 1) * V, ids.length * V);
}

const argmax = (z) => z.reduce((best, v, i) => (v > z[best] ? i : best), 0);
let last = await feed([...prime].map((c) => chars.indexOf(c)));
const ids = [];
for (let n = 0; n < Number(length); n++) {
  ids.push(argmax(last));
  last = await feed([ids[ids.length - 1]]);
}
console.log(JSON.stringify({ ids, text: ids.map((i) => chars[i]).join('') }));
