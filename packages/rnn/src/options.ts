import { TensorError } from '@unfold/tensor';

/**
 * The one check every public function that takes an options object runs first: `o` must be
 * undefined (when `required` is false) or a plain object whose every key is in `known`.
 * An unknown name (a typo: `bais`, `seqlen`, `temp`) is an error that lists the valid names,
 * never silently ignored. `what` names the kind of field in the message ('option', 'init option',
 * 'input field').
 */
export function checkOptions(op: string, o: unknown, known: readonly string[], opts: { required?: boolean; what?: string } = {}): void {
  const what = opts.what ?? 'option';
  if (o === undefined && !opts.required) return;
  if (o === null || typeof o !== 'object' || Array.isArray(o)) {
    throw new TensorError(op, `${what}s must be an object, got ${o === null ? 'null' : Array.isArray(o) ? 'an array' : typeof o}`);
  }
  const unknown = Object.keys(o).filter((k) => !known.includes(k));
  if (unknown.length) {
    const s = unknown.length > 1 ? 's' : '';
    throw new TensorError(op, `unknown ${what}${s} ${unknown.join(', ')} (valid: ${known.join(', ')})`);
  }
}

/**
 * The option names of an options type, as a list checked against the type by the compiler:
 * `keysOf<LinearOptions>({ bias: 1, rng: 1, dtype: 1 })` fails to compile when a name is
 * missing or extra, so the runtime list cannot drift from the interface.
 */
export function keysOf<T>(names: { [K in keyof Required<T>]: 1 }): string[] {
  return Object.keys(names);
}
