// What the harness needs from a contender: build a model from the shared weights, then run
// training steps and inference passes on one fixed batch.
import { Formulation } from './reference';
import { Batch, StateDict, Workload } from '../workloads';

/** Unfold runs three ways: its pure-TypeScript kernels, and its wasm kernels on one and on two threads. */
export type UnfoldName = 'unfold-js' | 'unfold-wasm-1t' | 'unfold-wasm-2t';
export const UNFOLD_NAMES: readonly UnfoldName[] = ['unfold-js', 'unfold-wasm-1t', 'unfold-wasm-2t'];
/** PyTorch through a Python child process (benchmarks/python/torch_server.py), on 1 and 2 threads. */
export type TorchName = 'pytorch-1t' | 'pytorch-2t';
export const TORCH_NAMES: readonly TorchName[] = ['pytorch-1t', 'pytorch-2t'];
export type ContenderName = UnfoldName | 'tfjs-wasm' | 'tfjs-cpu' | TorchName;
export const CONTENDER_NAMES: readonly ContenderName[] = [...UNFOLD_NAMES, 'tfjs-wasm', 'tfjs-cpu', ...TORCH_NAMES];
/** Column headings of the report. */
export const CONTENDER_LABELS: Record<ContenderName, string> = {
  'unfold-js': 'Unfold (js)',
  'unfold-wasm-1t': 'Unfold (wasm, 1 thread)',
  'unfold-wasm-2t': 'Unfold (wasm, 2 threads)',
  'tfjs-wasm': 'tfjs-wasm',
  'tfjs-cpu': 'tfjs-cpu',
  'pytorch-1t': 'PyTorch (1 thread)',
  'pytorch-2t': 'PyTorch (2 threads)',
};

/** A model built in this process: the harness times each call. */
export interface Instance {
  /** Mean cross-entropy on the batch, forward only (no tape / no gradient bookkeeping). */
  evaluate(): number;
  /** forward + backward + Adam update; returns the loss before the update. */
  trainStep(): number;
  /** ∂loss/∂θ on the batch, PyTorch names and layout; the weights are left as they are. */
  gradients?(): StateDict;
  /** trainStep, also reporting the peak bytes the framework itself tracked during it (tf.profile). */
  profiledTrainStep?(): Promise<{ loss: number; peakBytes: number }>;
  /** Extra memory figures read from the framework (bytes), e.g. the wasm linear memory. */
  memory?(): Record<string, number>;
  dispose(): void;
}

/**
 * A model built in another process (PyTorch in a Python child): it answers with promises and
 * times its own repetitions, so the round trip between the processes is not in its figures.
 */
export interface RemoteInstance {
  remote: true;
  /** n repetitions of a mode ('train': forward + backward + Adam; 'infer': forward + loss), each timed by the contender's own clock around the step alone. */
  selfTimed(mode: 'train' | 'infer', n: number): Promise<{ ms: number[]; losses: number[] }>;
  gradients?(): Promise<StateDict>;
  /** Memory figures of the other process (bytes); `rssDelta` replaces the harness's own, which would measure this one. */
  memory?(): Promise<Record<string, number>>;
  dispose(): void;
}

/** A contender whose models run in this process. */
export interface Contender {
  name: ContenderName;
  /** The reference formulation this contender's model implements for workload w. */
  formulation(w: Workload): Formulation;
  /**
   * How the parameters are split: 'pytorch' has b_ih and b_hh, 'keras' one bias = b_ih + b_hh.
   * Same function and gradients, but Adam steps each parameter by ≈ lr on its first update, so the
   * summed bias moves twice as far under 'pytorch': losses after a step agree only within a kind.
   */
  parameters: 'pytorch' | 'keras';
  /** Make this contender's framework state current (tfjs: the active backend). */
  activate(): Promise<void>;
  build(w: Workload, sd: StateDict, batch: Batch): Promise<Instance>;
  /** A line describing the implementation (backend flags, versions). */
  describe(): string;
}

/** A contender whose models live in another process; close() ends that process. */
export interface RemoteContender extends Omit<Contender, 'build'> {
  build(w: Workload, sd: StateDict, batch: Batch): Promise<RemoteInstance>;
  close(): void;
}

export type AnyContender = Contender | RemoteContender;
export type AnyInstance = Instance | RemoteInstance;
