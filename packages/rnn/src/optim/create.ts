import { TensorError } from '@unfold/tensor';
import { Adagrad, AdagradOptions } from './adagrad';
import { Adam, AdamOptions, AdamW } from './adam';
import { Optimizer, OptimizerKind } from './optimizer';
import { Param } from './param';
import { RMSProp, RMSPropOptions } from './rmsprop';
import { SGD, SGDOptions } from './sgd';

export interface OptimizerOptions {
  sgd: SGDOptions;
  rmsprop: RMSPropOptions;
  adagrad: AdagradOptions;
  adam: AdamOptions;
  adamw: AdamOptions;
}

const MAKERS: { [K in OptimizerKind]: (params: readonly Param[], opts: OptimizerOptions[K]) => Optimizer } = {
  sgd: (ps, o) => new SGD(ps, o),
  rmsprop: (ps, o) => new RMSProp(ps, o),
  adagrad: (ps, o) => new Adagrad(ps, o),
  adam: (ps, o) => new Adam(ps, o),
  adamw: (ps, o) => new AdamW(ps, o),
};

export const OPTIMIZER_KINDS = Object.keys(MAKERS) as OptimizerKind[];

/** An optimizer by name (from a config file or the command line). */
export function createOptimizer<K extends OptimizerKind>(name: K, params: readonly Param[], opts?: OptimizerOptions[K]): Optimizer;
export function createOptimizer(name: string, params: readonly Param[], opts?: object): Optimizer;
export function createOptimizer(name: string, params: readonly Param[], opts: object = {}): Optimizer {
  if (!Object.prototype.hasOwnProperty.call(MAKERS, name)) {
    throw new TensorError('createOptimizer', `unknown optimizer '${String(name)}' (available: ${OPTIMIZER_KINDS.join(', ')})`);
  }
  return (MAKERS[name as OptimizerKind] as (ps: readonly Param[], o: object) => Optimizer)(params, opts);
}
