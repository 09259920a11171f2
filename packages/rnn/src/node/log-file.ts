import * as fs from 'node:fs';

/**
 * A writer for csvLogger / jsonLogger that appends to a file (Node only; the library's loggers
 * take any `(text) => void`). The file is truncated first unless `append` is set.
 */
export function fileWriter(path: string, o: { append?: boolean } = {}): (text: string) => void {
  if (typeof path !== 'string' || path === '') throw new Error(`fileWriter: path must be a non-empty string, got ${String(path)}`);
  if (!o.append) fs.writeFileSync(path, '');
  return (text: string) => fs.appendFileSync(path, text);
}
