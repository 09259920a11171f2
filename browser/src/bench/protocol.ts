// What the benchmark page and its runner exchange (plain JSON through puppeteer).
import type { Formulation } from '../../../benchmarks/src/harness/reference';
import type { Workload } from '../../../benchmarks/src/workloads';

/** The folder the page's tfjs-backend-wasm/*.wasm files are served from (relative to the page). */
export const TFJS_WASM_DIR = 'tfjs-wasm/';

export type Mode = 'train' | 'infer';
export const MODES: readonly Mode[] = ['train', 'infer'];

/** The page's contenders. tfjs-cpu is left out: seconds per step in Node already (see the Node table). */
export const PAGE_CONTENDERS = ['unfold-wasm-1t', 'unfold-wasm-2t', 'unfold-js', 'tfjs-wasm', 'tfjs-webgl'] as const;
export type PageContender = (typeof PAGE_CONTENDERS)[number];

export const LABELS: Record<PageContender | 'node-unfold-wasm-1t', string> = {
  'unfold-wasm-1t': 'Unfold (wasm, 1 thread)',
  'unfold-wasm-2t': 'Unfold (wasm, 2 threads)',
  'unfold-js': 'Unfold (js)',
  'tfjs-wasm': 'tfjs-wasm',
  'tfjs-webgl': 'tfjs-webgl',
  'node-unfold-wasm-1t': 'Node: Unfold (wasm, 1 thread)',
};

export interface PrepareOptions {
  /** Relative tolerance of the loss and gradient checks (the Node suite's 1e-4). */
  tol: number;
  /** Untimed [training steps, inference passes] per contender before timing (the proof's own runs count); default [2, 3]. */
  warmup: Partial<Record<PageContender, [number, number]>>;
  /** Negative control: this contender is built from weights ×1.5 (it must fail the proof). */
  corrupt?: PageContender;
}

export interface ProofResult {
  name: PageContender;
  description: string;
  formulation: Formulation;
  parameters: 'pytorch' | 'keras';
  /** Loss on the batch before any update; relative difference from the reference of its formulation, and from PyTorch's. */
  loss0: number;
  refRelDiff: number;
  pytorchRelDiff: number;
  /** max over parameters of ‖g − g_first‖∞ / ‖g_first‖∞ against gradVs (the first contender of the same formulation). */
  gradRelDiff?: number;
  gradVs?: string;
  /** Loss on the batch after one Adam step. */
  loss1: number;
  /** Duration of the last warm-up training step / inference pass (plans the repetitions). */
  warmTrainMs: number;
  warmInferMs: number;
  /** Why this contender is not timed ('' when it passed). */
  failure: string;
}

export interface PrepareResult {
  reference: Partial<Record<Formulation, number>>;
  contenders: ProofResult[];
}

export interface PageInfo {
  userAgent: string;
  crossOriginIsolated: boolean;
  hardwareConcurrency: number;
  /** The WebGL renderer ('' when the page has no WebGL). */
  webgl: string;
  unfold: { gemm: string; fma: boolean; fallback: string };
  contenders: string[];
}

/** What the page puts on globalThis.unfoldBench. */
export interface BenchApi {
  info(): PageInfo;
  prepare(w: Workload, names: PageContender[], opts: PrepareOptions): Promise<PrepareResult>;
  time(name: PageContender, mode: Mode, n: number): Promise<number[]>;
  /** Disposes every prepared model. */
  release(): void;
}
