// Writing a plot to disk.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TensorError } from '@unfold/tensor';

/**
 * Writes `svg` to `file` atomically: a temp file in the same directory, then rename, so a viewer
 * polling the file never sees half a plot. The temp file is removed if anything fails.
 */
export function writeSvg(file: string, svg: string): void {
  if (typeof file !== 'string' || file === '') throw new TensorError('writeSvg', `path must be a non-empty string, got ${String(file)}`);
  if (typeof svg !== 'string' || !/^(<\?xml[^>]*\?>\s*)?<svg[\s>]/.test(svg)) {
    throw new TensorError('writeSvg', `${file}: content is not an SVG document (expected it to start with <svg)`);
  }
  writeFileAtomic(file, svg);
}

/**
 * Writes text to `file` atomically: a temp file in the same directory, then rename, so a reader
 * never sees half a file and a failure leaves the old file as it was (the temp file is removed).
 */
export function writeFileAtomic(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    fs.writeFileSync(tmp, text, 'utf8');
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
