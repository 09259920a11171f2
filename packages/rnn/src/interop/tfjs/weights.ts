import { TensorError } from '@unfold/tensor';

/**
 * A TensorFlow.js LayersModel as it is saved: model.json
 *     { format: 'layers-model', modelTopology: { class_name, config, … },
 *       weightsManifest: [{ paths: ['group1-shard1of2.bin', …], weights: [{ name, shape, dtype }, …] }, …] }
 * and the shards, whose bytes, concatenated in manifest order, hold every weight back to back
 * (little-endian float32). `tf.io` model artifacts (`{ modelTopology, weightSpecs, weightData }`)
 * are the same thing in memory.
 */
export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: unknown;
}

export interface TfjsModelJson {
  format?: string;
  modelTopology: unknown;
  weightsManifest?: { paths: string[]; weights: TfjsWeightSpec[] }[];
  weightSpecs?: TfjsWeightSpec[];
  weightData?: ArrayBuffer | ArrayBuffer[];
}

/** The weights: one buffer, the shards in manifest order, or path → bytes. */
export type TfjsWeightData = Uint8Array | ArrayBuffer | (Uint8Array | ArrayBuffer)[] | Record<string, Uint8Array | ArrayBuffer>;

export const OP = 'loadTfjsLayersModel';
const fail = (msg: string): never => {
  throw new TensorError(OP, msg);
};

export function parseModelJson(json: string | object): TfjsModelJson {
  let m: unknown = json;
  if (typeof json === 'string') {
    try {
      m = JSON.parse(json);
    } catch (e) {
      fail(`model.json is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (m === null || typeof m !== 'object' || Array.isArray(m)) return fail('model.json must be an object { modelTopology, weightsManifest }');
  const o = m as TfjsModelJson;
  if (o.format !== undefined && o.format !== 'layers-model') fail(`format '${o.format}' is not a LayersModel (a graph-model from tf.saved_model conversion has no layers to import; supported: format 'layers-model')`);
  if (o.modelTopology === null || typeof o.modelTopology !== 'object') fail('model.json has no modelTopology object');
  if (!o.weightsManifest && !o.weightSpecs) fail('model.json has neither weightsManifest nor weightSpecs');
  return o;
}

const bytesOf = (b: Uint8Array | ArrayBuffer): Uint8Array => (b instanceof Uint8Array ? b : new Uint8Array(b));

/** name → { shape, data: Float32Array } of every weight, checked against the manifest. */
export function readWeights(m: TfjsModelJson, data?: TfjsWeightData): Map<string, { shape: number[]; data: Float32Array }> {
  const specs = m.weightSpecs ?? m.weightsManifest!.flatMap((g) => g.weights);
  const paths = m.weightsManifest ? m.weightsManifest.flatMap((g) => g.paths) : [];
  const src = data ?? m.weightData;
  if (src === undefined) return fail('no weight data: pass the shards (in manifest order), one buffer, or { path: bytes }');
  let parts: Uint8Array[];
  if (src instanceof Uint8Array || src instanceof ArrayBuffer) parts = [bytesOf(src)];
  else if (Array.isArray(src)) parts = src.map(bytesOf);
  else if (typeof src === 'object') {
    const missing = paths.filter((p) => !(p in src));
    if (missing.length) fail(`weight shards missing: ${missing.join(', ')} (have: ${Object.keys(src).join(', ') || 'none'})`);
    parts = paths.map((p) => bytesOf((src as Record<string, Uint8Array>)[p]));
  } else return fail(`weight data must be bytes, a list of shards or { path: bytes }, got ${typeof src}`);
  const total = parts.reduce((a, p) => a + p.length, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  const dv = new DataView(all.buffer);
  let off = 0;
  for (const s of specs) {
    if (s.quantization) fail(`${s.name}: quantized weights are not supported (save the model unquantized)`);
    if (s.dtype !== 'float32') fail(`${s.name}: dtype ${s.dtype} is not supported (supported: float32)`);
    if (!Array.isArray(s.shape) || !s.shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`${s.name}: bad shape ${JSON.stringify(s.shape)}`);
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (off + 4 * n > total) fail(`the weight data (${total} bytes) ends inside ${s.name} (needs bytes ${off}…${off + 4 * n})`);
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) v[i] = dv.getFloat32(off + 4 * i, true);
    off += 4 * n;
    if (out.has(s.name)) fail(`weight name ${s.name} appears twice in the manifest`);
    out.set(s.name, { shape: s.shape.slice(), data: v });
  }
  if (off !== total) fail(`the weight data has ${total} bytes, the manifest's weights take ${off}`);
  return out;
}
