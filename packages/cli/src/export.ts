import * as fs from 'node:fs';
import * as path from 'node:path';
import { exportOnnx, saveSafetensors } from '@unfold/rnn';
import { FlagSpec, FlagValues, UsageError } from './args';
import { loadRun } from './run';

export const EXPORT_FLAGS: Record<string, FlagSpec> = {
  run: { kind: 'string', help: 'run folder (or checkpoint folder) written by unfold train (or give it as the argument)', positional: true },
  format: { kind: 'string', help: 'onnx (a model ONNX Runtime serves: ids → logits, h_n, c_n; docs/onnx.md) or safetensors (the state dict under PyTorch names; docs/interop.md)', default: 'onnx', choices: ['onnx', 'safetensors'] },
  out: { kind: 'string', help: 'file to write (default: <run>/model.onnx or <run>/model.safetensors); vocab.json is written beside it' },
  opset: { kind: 'int', help: 'ONNX opset (14…21)', default: 17 },
  help: { kind: 'bool', help: 'show this help' },
};

/** Writes `bytes` through a temp file and a rename: no half-written model is left behind. */
function writeAtomic(file: string, bytes: Uint8Array | string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, bytes);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

export function exportCommand(f: FlagValues): number {
  if (!f.run) throw new UsageError('--run <folder> is required');
  const format = f.format as string;
  if (format !== 'onnx' && format !== 'safetensors') throw new UsageError(`--format must be onnx or safetensors, got '${format}'`);
  const { model, vocab, config, step } = loadRun(f.run as string);
  const meta = { vocab: JSON.stringify(vocab.chars), step: String(step), config: JSON.stringify(config), producer: 'unfold export' };
  const bytes = format === 'onnx' ? exportOnnx(model, { opset: f.opset as number, metadata: meta }) : saveSafetensors(model, { metadata: { format: 'pt', ...meta } });
  const runDir = fs.statSync(f.run as string).isDirectory() ? (f.run as string) : path.dirname(f.run as string);
  const file = (f.out as string | undefined) ?? path.join(runDir, `model.${format}`);
  if (!fs.existsSync(path.dirname(path.resolve(file)))) throw new UsageError(`--out ${file}: folder ${path.dirname(path.resolve(file))} does not exist`);
  writeAtomic(file, bytes);
  writeAtomic(path.join(path.dirname(path.resolve(file)), 'vocab.json'), JSON.stringify(vocab.chars) + '\n');
  process.stdout.write(`wrote ${file} (${bytes.length} bytes, ${format}, step ${step}) and vocab.json beside it\n`);
  return 0;
}
