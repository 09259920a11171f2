/** Every argument or shape error in Unfold names the op that raised it: `matmul: [32,65] × [128,512]: …`. */
export class TensorError extends Error {
  constructor(
    readonly op: string,
    detail: string,
  ) {
    super(`${op}: ${detail}`);
    this.name = 'TensorError';
  }
}

/** Shapes print as `[32,65]`, the way error messages and `tape.toString()` show them. */
export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}
