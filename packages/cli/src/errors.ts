import { TensorError } from '@unfold/tensor';

/** One line for any error: the library's named errors as they are, system errors by their code, the rest by name. */
export function describeError(e: unknown): string {
  if (e instanceof TensorError) return e.message;
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && typeof err.syscall === 'string') {
    const what = { ENOSPC: 'the disk is full', EACCES: 'permission denied', EROFS: 'read-only file system', EDQUOT: 'disk quota exceeded', EIO: 'input/output error' }[err.code];
    return `${what ?? err.code}: ${err.message}`;
  }
  if (e instanceof RangeError) return `out of memory or a size too large: ${e.message}`;
  if (e instanceof Error) return `${e.name}: ${e.message} (UNFOLD_DEBUG=1 shows where)`;
  return String(e);
}

