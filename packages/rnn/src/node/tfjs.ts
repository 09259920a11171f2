import * as fs from 'node:fs';
import * as path from 'node:path';
import { DType, TensorError } from '@unfold/tensor';
import { KerasSequential, loadTfjsLayersModel } from '../interop/tfjs/sequential';
import { parseModelJson } from '../interop/tfjs/weights';

/** A tfjs LayersModel from its model.json path; the shards are read from the manifest's paths, beside it. */
export function loadTfjsLayersModelFile(modelJsonPath: string, opts: { dtype?: DType } = {}): KerasSequential {
  const op = 'loadTfjsLayersModelFile';
  let text: string;
  try {
    text = fs.readFileSync(modelJsonPath, 'utf8');
  } catch (e) {
    throw new TensorError(op, `${modelJsonPath}: cannot read (${(e as Error).message})`);
  }
  const m = parseModelJson(text);
  const dir = path.dirname(modelJsonPath);
  const shards: Record<string, Uint8Array> = {};
  for (const p of (m.weightsManifest ?? []).flatMap((g) => g.paths)) {
    const file = path.resolve(dir, p);
    try {
      shards[p] = new Uint8Array(fs.readFileSync(file));
    } catch (e) {
      throw new TensorError(op, `${modelJsonPath}: weight shard ${p} cannot be read (${(e as Error).message})`);
    }
  }
  return loadTfjsLayersModel(m, shards, opts);
}
