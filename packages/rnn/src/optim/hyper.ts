import { TensorError } from '@unfold/tensor';
import { checkOptions } from '../options';

/**
 * Hyper-parameters are plain JSON values (numbers, booleans, number pairs) so that an
 * optimizer's state dict can go into a checkpoint manifest unchanged.
 */
export type HyperValue = number | boolean | number[];
export type Hyper = Record<string, HyperValue>;

/** Checks one option value and returns it normalised (copies arrays), or throws naming the key. */
export type Rule = (op: string, key: string, v: unknown) => HyperValue;

export interface OptionSpec {
  [key: string]: { default: HyperValue; rule: Rule };
}

function num(op: string, key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TensorError(op, `${key} must be a finite number, got ${String(v)}`);
  return v;
}

/** Strictly positive (learning rates): lr ≤ 0 or NaN is an error. */
export const positive: Rule = (op, key, v) => {
  const x = num(op, key, v);
  if (!(x > 0)) throw new TensorError(op, `${key} must be > 0, got ${x}`);
  return x;
};

export const nonNegative: Rule = (op, key, v) => {
  const x = num(op, key, v);
  if (!(x >= 0)) throw new TensorError(op, `${key} must be >= 0, got ${x}`);
  return x;
};

/** [0, 1): decay rates such as RMSProp's alpha. */
export const unitInterval: Rule = (op, key, v) => {
  const x = num(op, key, v);
  if (!(x >= 0 && x < 1)) throw new TensorError(op, `${key} must be in [0, 1), got ${x}`);
  return x;
};

export const boolean: Rule = (op, key, v) => {
  if (typeof v !== 'boolean') throw new TensorError(op, `${key} must be a boolean, got ${String(v)}`);
  return v;
};

/** Adam's (beta1, beta2), each in [0, 1). */
export const betaPair: Rule = (op, key, v) => {
  if (!Array.isArray(v) || v.length !== 2) throw new TensorError(op, `${key} must be a pair [beta1, beta2], got ${JSON.stringify(v)}`);
  return v.map((b, i) => unitInterval(op, `${key}[${i}]`, b) as number);
};

/**
 * Fills defaults and validates. Unknown keys are errors that list the valid ones: a typo
 * such as `weight_decay` for `weightDecay` must not silently train without weight decay.
 */
export function resolveHyper(op: string, spec: OptionSpec, opts: unknown): Hyper {
  if (opts === undefined) opts = {};
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw new TensorError(op, `options must be an object, got ${opts === null ? 'null' : typeof opts}`);
  }
  const given = opts as Record<string, unknown>;
  const valid = Object.keys(spec);
  checkOptions(op, given, valid);
  const out: Hyper = {};
  for (const key of valid) {
    const v = given[key] === undefined ? spec[key].default : given[key];
    out[key] = spec[key].rule(op, key, v);
  }
  return out;
}

/** Deep copy (hyper values are at most one level of arrays). */
export function copyHyper(h: Hyper): Hyper {
  const out: Hyper = {};
  for (const [k, v] of Object.entries(h)) out[k] = Array.isArray(v) ? v.slice() : v;
  return out;
}
