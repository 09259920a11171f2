import { TensorError } from '../errors';
import { PoolWorker, canBlock, cpuCount, spawnWorker, waitOn, workerHost } from './host';
import { RESERVED, arenaAlloc, arenaFree, arenaIsShared, arenaMemory } from './arena';
import {
  BFIN, CMD, TASK, CMD_EXIT, CMD_NOOP, CMD_WORK, CTRL_INTS, DONE, ERR, EXIT_ACK, FIN, JARGS, JOB_INTS, JSLEEP, MAX_BLOCKS, MSLEEP, NEXT,
  OWNER, PA, PACKED, PB, READY, SEQ, SPILL, WORKER_SRC, WSLEEP, blockStart, readMsg,
} from './pool-worker';
import { KC, MC, MR, NC, NR, sgemmModuleBytes } from './sgemm';

export { blockStart };

/**
 * Worker threads over the arena's shared memory that split one float32 GEMM by columns:
 *
 *   C[:, J_b] ← alpha · A · B[:, J_b] + beta · C[:, J_b]      J_b = column block b
 *
 * Split. N is cut into nb blocks of whole NR-wide panels, about 64 columns each (at least
 * one per thread, at most 4 per thread), fixed by N and the thread count alone. A block is
 * an ordinary sgemm call on shifted bases (B and C + j0·cs): every tile of C starts on the
 * same column (a multiple of NR) as in the one-thread call and runs the same micro-kernel
 * over the same K slices in the same order, so C is bit-identical for any thread count
 * and whichever thread runs a block. Each block packs its own copy of A (M·K floats: ~1%
 * of the flops at 64 columns a block).
 *
 * Blocks are claimed, not assigned: the calling thread and the woken workers take the next
 * block by compare-exchange on one claim word until none is left, then the caller waits
 * for the blocks others took. A worker that the OS has not scheduled yet (the other core
 * busy with another process) thus costs nothing: the caller runs its blocks. (Fixed
 * halves made 2 threads 2–3× slower than 1 on a loaded machine.)
 *
 * Sync, all by seq-cst atomics on ints in the arena:
 *   main: write the job, publish the claim word, per worker SEQ += 1 and notify only if
 *         it set WSLEEP; claim and run blocks; wait until FIN = nb (spin, then set JSLEEP
 *         and Atomics.wait on FIN)
 *   worker: spin on SEQ (spinIterations loads), then set WSLEEP and Atomics.wait on SEQ;
 *           claim and run blocks, FIN += 1 after each, notify only if main set JSLEEP.
 * Each flag-then-recheck pair is Dekker-style: either the sleeper's wait sees the new
 * value, or the writer sees the flag and notifies, so no wake-up is lost. The claim word
 * holds (gen, nb, next): a claim succeeds only while block `next` of the current job is
 * unclaimed, so a worker that wakes late can never run a finished job's block or read a
 * later job's half-written arguments.
 *
 * Spills. The micro-kernel spills an edge tile (M mod MR rows, N mod NR columns, strided
 * C) to the scratch at the address given as the exports' last argument: the calling thread
 * at 0 (as the single-thread path), worker t at 1024·(t+1), inside the arena's RESERVED
 * bytes (an arena block of its own from the fourth worker on). A module without that
 * argument (wasm export length 17) spills at 0 on every thread: then only products with
 * no edge tile at all are split (M mod MR = 0, N mod NR = 0, unit column stride of C).
 */

export interface PoolOptions {
  /** Atomics.load iterations a thread spins before it sleeps in Atomics.wait. */
  spinIterations?: number;
  /** A worker that has not answered after this long is an error (and the pool stops). */
  timeoutMs?: number;
  /** The sgemm module every thread instantiates (default sgemmModuleBytes({ shared: true })): pass the single-thread path's bytes for identical results. */
  moduleBytes?: Uint8Array;
  /** Products with fewer flops (2·M·N·K) stay on one thread. */
  minFlops?: number;
  /**
   * A second module every thread instantiates for runTask (./recurrence.ts's, exporting
   * seqForward and seqBackward); without it runTask returns false.
   */
  taskBytes?: Uint8Array;
  /** Test hook: make the workers throw at start, throw in every block they claim, or hang in the first. */
  inject?: 'start' | 'call' | 'hang';
}

export interface PoolInfo {
  /** Threads a split product runs on (the caller's included); 1 when the pool is off. */
  threads: number;
  spinIterations: number;
  timeoutMs: number;
  minFlops: number;
  /** Whether the module takes a per-thread spill address (else edge-tile products are not split). */
  spillParam: boolean;
  /** Logical CPUs the runtime reports. */
  cpus: number;
  /** Why the pool is off ('' when running). */
  reason: string;
}

/**
 * Products below this many flops (2·M·N·K) stay on one thread. Measured (2 cores, Node 20,
 * benchmarks/src/kernel/threads.ts, load average 2–4 from other processes): 2 threads
 * against 1 at M = 32 run 1.2–1.6× from 0.26 Mflop ([32,32]×[32,128], ~10 µs on one
 * thread) and 1.2–2× at 4–34 Mflop; at 0.13 Mflop 0.9–1.4×. The round trip is ~0.2 µs
 * while the workers spin (for spinIterations, ~150 µs after their last job), ~40 µs for
 * a worker asleep, which the caller does not wait for (it runs the blocks itself).
 */
export const POOL_MIN_FLOPS = 1 << 18;
const SPIN = 20000;
const TIMEOUT_MS = 10000;

type SgemmFn = (...args: number[]) => void;
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

interface Thread {
  /** Null for the calling thread (the last). */
  worker: PoolWorker | null;
  ctrl: number; // byte address of the control block (0 for the caller)
  I: Int32Array;
  /** Pack buffers (byte addresses) and their sizes in floats. */
  pA: number;
  pALen: number;
  pB: number;
  pBLen: number;
  spill: number;
  ownSpill: boolean;
}

let threads: Thread[] = [];
let job = 0; // byte address of the job block
let J: Int32Array = new Int32Array(0);
let JF: Float32Array = new Float32Array(0);
let sgemm: SgemmFn | null = null;
let sgemmPacked: SgemmFn | null = null;
let spillParam = false;
let hasTasks = false;
let seq = 0;
let gen = 0;
let spin = SPIN;
let timeoutMs = TIMEOUT_MS;
let minFlops = POOL_MIN_FLOPS;
let reason = 'not started (startPool)';

/** Workers still starting (a page's main thread cannot wait for them: the pool turns on when they are all READY). */
let pending = false;

/**
 * Starts `threads − 1` workers (the calling thread is the last of `threads`). Returns
 * poolInfo(); the pool stays off, with the reason in poolInfo().reason, when there is one
 * CPU, the memory is not shared, or threads ≤ 1. A worker that fails to start is a
 * TensorError (and nothing is left running).
 */
export function startPool(n: number, opts: PoolOptions = {}): PoolInfo {
  if (!Number.isInteger(n) || n < 1 || n > MAX_BLOCKS / 4) {
    throw new TensorError('startPool', `threads must be an integer in [1, ${MAX_BLOCKS / 4}], got ${n}`);
  }
  stopPool();
  spin = opts.spinIterations ?? SPIN;
  timeoutMs = opts.timeoutMs ?? TIMEOUT_MS;
  minFlops = opts.minFlops ?? POOL_MIN_FLOPS;
  const cpus = cpuCount();
  if (n === 1) reason = 'threads = 1';
  else if (cpus <= 1) reason = 'one CPU';
  else if (!arenaIsShared()) reason = 'the wasm memory is not shared (no SharedArrayBuffer / shared WebAssembly.Memory; a web page needs cross-origin isolation: COOP/COEP headers)';
  else reason = workerHost().why;
  if (reason !== '') return poolInfo();

  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly as WasmApi;
  const memory = arenaMemory();
  const moduleBytes = opts.moduleBytes ?? sgemmModuleBytes({ shared: true });
  let fn: SgemmFn;
  let fnPacked: SgemmFn;
  try {
    const ex = new api.Instance(new api.Module(moduleBytes), { env: { memory } }).exports;
    fn = ex.sgemm as SgemmFn;
    fnPacked = ex.sgemmPacked as SgemmFn;
  } catch (e) {
    reason = `the sgemm module did not instantiate: ${String(e)}`;
    throw new TensorError('startPool', reason);
  }
  // A wasm export's length is its parameter count: 17 without the spill address, 18 with.
  spillParam = fn.length >= 18;
  job = arenaAlloc(4 * JOB_INTS);
  J = new Int32Array(memory.buffer, job, JOB_INTS);
  JF = new Float32Array(memory.buffer, job, JOB_INTS);
  J.fill(0);
  const started: Thread[] = [];
  try {
    for (let t = 0; t < n; t++) {
      const caller = t === n - 1;
      const ctrl = caller ? 0 : arenaAlloc(4 * CTRL_INTS);
      const I = caller ? new Int32Array(0) : new Int32Array(memory.buffer, ctrl, CTRL_INTS);
      I.fill(0);
      const ownSpill = !caller && 1024 * (t + 2) > RESERVED;
      // The caller spills where the single-thread path does (0); worker t at 1024·(t+1).
      const spill = caller ? 0 : ownSpill ? arenaAlloc(1024) : 1024 * (t + 1);
      const th: Thread = { worker: null, ctrl, I, pA: 0, pALen: 0, pB: 0, pBLen: 0, spill, ownSpill };
      started.push(th);
      if (caller) continue;
      I[SPILL] = spill;
      th.worker = spawnWorker(WORKER_SRC, { memory, moduleBytes, taskBytes: opts.taskBytes ?? null, ctrl, job, index: t, spin, inject: opts.inject }, `unfold-pool-${t}`);
    }
    if (!canBlock()) {
      // A page's main thread: no Atomics.wait, and its workers may need its event loop to
      // start. The pool turns on once every worker is READY (checked by each product, and
      // awaited by poolReady()); until then products run on this thread.
      threads = started;
      sgemm = fn;
      sgemmPacked = fnPacked;
      hasTasks = opts.taskBytes !== undefined;
      pending = true;
      reason = 'starting';
      return poolInfo();
    }
    // Wait (synchronously: startup needs no event loop of ours) for every worker to instantiate.
    const t0 = Date.now();
    for (let t = 0; t < n - 1; t++) {
      const { I } = started[t];
      while (Atomics.load(I, READY) === 0) {
        const left = timeoutMs - (Date.now() - t0);
        if (left <= 0) throw new TensorError('startPool', `worker ${t} did not start within ${timeoutMs} ms`);
        Atomics.wait(I, READY, 0, Math.min(left, 50));
      }
      if (I[READY] !== 1) throw new TensorError('startPool', `worker ${t} failed to start: ${readMsg(I)}`);
    }
  } catch (e) {
    threads = started;
    stopPool();
    reason = `failed to start: ${(e as Error).message}`;
    throw e;
  }
  threads = started;
  sgemm = fn;
  sgemmPacked = fnPacked;
  hasTasks = opts.taskBytes !== undefined;
  return poolInfo();
}

/** Terminates the workers and frees their blocks; GEMMs go back to one thread. */
export function stopPool(): void {
  stop(false);
}

/** `leak`: keep the blocks allocated (a timed-out worker may still write to them until terminate() takes effect). */
function stop(leak: boolean): void {
  if (threads.length === 0 && job === 0) return;
  let allGone = !leak;
  if (!leak) for (const th of threads) if (th.worker !== null) post(th.I, CMD_EXIT);
  for (const th of threads) {
    if (th.worker !== null) {
      // The control and job blocks are reused by the next allocations: free them only once
      // the worker has said it left its loop (else it could still claim or write there).
      let gone = Atomics.load(th.I, READY) === -1; // failed at start: never entered the loop
      if (!leak && !gone) {
        const t0 = Date.now();
        while (!(gone = Atomics.load(th.I, DONE) === EXIT_ACK) && Date.now() - t0 < 1000) waitOn(th.I, DONE, Atomics.load(th.I, DONE), 10);
      }
      void th.worker.terminate();
      if (gone) arenaFree(th.ctrl);
      else allGone = false;
    }
    if (leak) continue;
    if (th.pALen) arenaFree(th.pA);
    if (th.pBLen) arenaFree(th.pB);
    if (th.ownSpill) arenaFree(th.spill);
  }
  if (allGone && job !== 0) arenaFree(job);
  job = 0;
  if (threads.length) reason = 'stopped';
  pending = false;
  threads = [];
  sgemm = null;
  sgemmPacked = null;
  hasTasks = false;
}

export function poolInfo(): PoolInfo {
  if (pending) checkStarted();
  return { threads: pending ? 1 : Math.max(1, threads.length), spinIterations: spin, timeoutMs, minFlops, spillParam, cpus: cpuCount(), reason };
}

/** Threads started (running or still starting), the caller's included; 0 when off. */
export function poolSize(): number {
  return threads.length;
}

/** For a pool started without waiting: on when every worker is READY; a failed worker stops it (the reason kept, and warned once). */
function checkStarted(): void {
  for (let t = 0; t < threads.length - 1; t++) {
    const r = Atomics.load(threads[t].I, READY);
    if (r === 0) return;
    if (r !== 1) {
      const why = `worker ${t} failed to start: ${readMsg(threads[t].I)}`;
      stopPool();
      reason = why;
      (globalThis as { console?: { warn(s: string): void } }).console?.warn(`@unfold/tensor: thread pool off: ${why}`);
      return;
    }
  }
  pending = false;
  reason = '';
}

/**
 * Resolves once the pool started by setThreads/startPool is running (or has failed, or is
 * off): with poolInfo(). Needed on a page's main thread, where workers start asynchronously;
 * elsewhere startPool has already waited, and this resolves at once.
 */
export async function poolReady(timeoutMs = TIMEOUT_MS): Promise<PoolInfo> {
  const t0 = Date.now();
  while (pending) {
    checkStarted();
    if (!pending) break;
    if (Date.now() - t0 > timeoutMs) {
      const why = `workers did not start within ${timeoutMs} ms`;
      stopPool();
      reason = why;
      break;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return poolInfo();
}

/** Whether sgemmParallel would split this product: the pool is on, the product is big and wide enough, and (old modules) spill-free. */
export function poolSplits(M: number, N: number, K: number, csC: number): boolean {
  if (pending) checkStarted();
  if (pending) return false;
  const T = threads.length;
  if (T < 2 || 2 * M * N * K < minFlops || N < 2 * NR * T) return false;
  return spillParam || (M % MR === 0 && N % NR === 0 && csC === 1);
}

/** Blocks for N columns on T threads: ~64 columns each, at least T, at most 4T (and one per panel). */
export function blockCount(N: number, T: number): number {
  return Math.min(Math.ceil(N / NR), 4 * T, Math.max(T, Math.ceil(N / 64)));
}

/** The pack buffers of thread th hold an A block and a B block of a block `n` columns wide; published to its worker. */
function ensurePacks(th: Thread, M: number, n: number, K: number): void {
  const aLen = Math.ceil(Math.min(M, MC) / MR) * MR * Math.min(K, KC);
  const bLen = Math.min(K, KC) * Math.ceil(Math.min(n, NC) / NR) * NR; // 0 for a pre-packed B
  if (aLen > th.pALen) {
    if (th.pALen) arenaFree(th.pA);
    th.pA = arenaAlloc(4 * aLen);
    th.pALen = aLen;
    th.I[PA] = th.pA; // (the caller's I is empty: a no-op)
  }
  if (bLen > th.pBLen) {
    if (th.pBLen) arenaFree(th.pB);
    th.pB = arenaAlloc(4 * bLen);
    th.pBLen = bLen;
    th.I[PB] = th.pB;
  }
}

/** Posts command `cmd` to the worker of control block I, waking it only if it sleeps; returns the sequence number. */
function post(I: Int32Array, cmd: number): number {
  const s = (seq = (seq + 1) | 0);
  I[CMD] = cmd;
  Atomics.store(I, SEQ, s);
  if (Atomics.load(I, WSLEEP) !== 0) Atomics.notify(I, SEQ);
  return s;
}

/**
 * Runs the job written in J over nb blocks: publishes it, wakes the workers, claims blocks
 * on this thread too, and waits for the blocks the workers claimed. Throws the first
 * error (this thread's, or a worker's as a TensorError naming it); a worker that keeps a
 * block past the timeout stops the pool.
 */
function runJob(nb: number, what: string, task?: TaskFn): void {
  J.fill(0, OWNER, OWNER + nb);
  J.fill(0, BFIN, BFIN + nb);
  Atomics.store(J, FIN, 0);
  Atomics.store(J, ERR, 0);
  gen = (gen + 1) & 0x7fff;
  Atomics.store(J, NEXT, (gen << 16) | (nb << 8));
  const T = threads.length;
  for (let t = 0; t < T - 1; t++) post(threads[t].I, CMD_WORK);
  const me = threads[T - 1];
  const packed = J[PACKED] !== 0;
  const a = JARGS;
  const M = J[a], N = J[a + 1], K = J[a + 2], csB = J[a + 11], cs = J[a + 14];
  let err: unknown = null;
  for (;;) {
    const v = Atomics.load(J, NEXT);
    const b = v & 255;
    if (b >= nb) break;
    if (Atomics.compareExchange(J, NEXT, v, v + 1) !== v) continue;
    J[OWNER + b] = T;
    const j0 = blockStart(N, nb, b);
    const n = blockStart(N, nb, b + 1) - j0;
    try {
      if (task) task(b, me.pA, me.spill);
      else if (packed) {
        (sgemmPacked as SgemmFn)(M, n, K, JF[a + 3], JF[a + 4], J[a + 5], J[a + 6], J[a + 7], J[a + 8], J[a + 9] + 4 * j0 * K, J[a + 12] + j0 * cs, J[a + 13], cs, me.pA, me.spill);
      } else {
        (sgemm as SgemmFn)(M, n, K, JF[a + 3], JF[a + 4], J[a + 5], J[a + 6], J[a + 7], J[a + 8], J[a + 9] + j0 * csB, J[a + 10], csB, J[a + 12] + j0 * cs, J[a + 13], cs, me.pA, me.pB, me.spill);
      }
    } catch (e) {
      if (err === null) err = e;
    }
    Atomics.store(J, BFIN + b, 1);
    Atomics.add(J, FIN, 1);
  }
  // Every block claimed: wait for those the workers run (even after our own threw, so no block outlives the call).
  let spins = 0;
  let t0 = 0;
  for (let f = Atomics.load(J, FIN); f !== nb; f = Atomics.load(J, FIN)) {
    if (++spins < spin) continue;
    if (t0 === 0) t0 = Date.now();
    const left = timeoutMs - (Date.now() - t0);
    if (left <= 0) {
      const late: string[] = [];
      for (let b = 0; b < nb; b++) if (J[BFIN + b] === 0) late.push(`worker ${J[OWNER + b] - 1} (block ${b})`);
      stop(true);
      reason = `${late[0] ?? 'a worker'} timed out`;
      throw new TensorError('sgemmParallel', `${what}: ${late.join(', ')} did not finish within ${timeoutMs} ms; the pool was stopped`);
    }
    Atomics.store(J, JSLEEP, 1);
    waitOn(J, FIN, f, left);
    Atomics.store(J, JSLEEP, 0);
  }
  if (err !== null) throw err;
  const bad = J[ERR];
  if (bad !== 0) throw new TensorError('sgemmParallel', `${what}: worker ${bad - 1} failed: ${readMsg(threads[bad - 1].I)}`);
}

/** Writes the job's arguments (15 values, B as in the sgemm export or a pre-packed B's byte address). */
function writeJob(args: number[], packed: boolean): void {
  for (let i = 0; i < 15; i++) {
    if (i === 3 || i === 4) JF[JARGS + i] = args[i];
    else J[JARGS + i] = args[i];
  }
  J[PACKED] = packed ? 1 : 0;
}

/**
 * The sgemm export's call (bases in elements, strides signed, load = 0 when beta = 0),
 * split over the pool's threads with pool-owned pack buffers and spill areas. Returns
 * false, having done nothing, when the pool is off or the product is not worth splitting
 * (poolSplits): the caller then runs it on one thread. C must not overlap A or B.
 */
export function sgemmParallel(
  M: number, N: number, K: number, alpha: number, beta: number, load: number,
  aBase: number, rsA: number, csA: number,
  bBase: number, rsB: number, csB: number,
  cBase: number, rsC: number, csC: number,
): boolean {
  if (!poolSplits(M, N, K, csC)) return false;
  const nb = blockCount(N, threads.length);
  for (const th of threads) ensurePacks(th, M, blockStart(N, nb, 1), K); // block 0 is the widest
  writeJob([M, N, K, alpha, beta, load, aBase, rsA, csA, bBase, rsB, csB, cBase, rsC, csC], false);
  runJob(nb, `[${M},${K}]×[${K},${N}] on ${threads.length} threads`);
  return true;
}

/**
 * The sgemmPacked export's call (B pre-packed by the module's packB at byte address pB),
 * split like sgemmParallel. Only K ≤ KC: then the packed B is one slice of NR-wide panels
 * in column order, panel j/NR at pB + j·K floats, and a column block is a packed B of its
 * own; for K > KC the slices are N-rounded-up apart, which a block's call cannot express
 * (false: run it on one thread).
 */
export function sgemmPackedParallel(
  M: number, N: number, K: number, alpha: number, beta: number, load: number,
  aBase: number, rsA: number, csA: number, pB: number,
  cBase: number, rsC: number, csC: number,
): boolean {
  if (K > KC || !poolSplits(M, N, K, csC)) return false;
  const nb = blockCount(N, threads.length);
  for (const th of threads) ensurePacks(th, M, 0, K);
  writeJob([M, N, K, alpha, beta, load, aBase, rsA, csA, pB, 0, 0, cBase, rsC, csC], true);
  runJob(nb, `[${M},${K}]×[${K},${N}] (pre-packed B) on ${threads.length} threads`);
  return true;
}

/** Runs part `part` of a task on this thread with its pack-A buffer and spill address. */
export type TaskFn = (part: number, pA: number, spill: number) => void;

/** Threads a task would run on now (1 when the pool is off, still starting, or has no task module). */
export function taskThreads(): number {
  if (pending) checkStarted();
  return pending || !hasTasks ? 1 : Math.max(1, threads.length);
}

/**
 * Runs the parts 0…parts−1 of task `fn` of the task module (0 seqForward, 1 seqBackward of
 * ./recurrence.ts) on descriptor `desc`: every thread (this one through `local`, the workers
 * through their own instance) claims parts until none is left, as for GEMM blocks; returns
 * when all are done. Each part gets its thread's pack-A buffer, sized here for an
 * [M, K] A operand. Returns false, having done nothing, when taskThreads() is 1.
 */
export function runTask(fn: number, desc: number, parts: number, M: number, K: number, local: TaskFn): boolean {
  if (taskThreads() < 2 || parts < 1 || parts > MAX_BLOCKS) return false;
  for (const th of threads) ensurePacks(th, M, 0, K);
  J[PACKED] = TASK + fn;
  J[JARGS] = desc;
  runJob(parts, `${fn === 0 ? 'seqForward' : 'seqBackward'} in ${parts} parts on ${threads.length} threads`, local);
  return true;
}

/** One round trip to every worker with no work (the per-call sync cost); false when the pool is off. */
export function poolPing(): boolean {
  if (pending) checkStarted();
  const T = threads.length;
  if (T < 2 || pending) return false;
  const s: number[] = [];
  for (let t = 0; t < T - 1; t++) s.push(post(threads[t].I, CMD_NOOP));
  for (let t = 0; t < T - 1; t++) {
    const I = threads[t].I;
    let spins = 0;
    const t0 = Date.now();
    while (Atomics.load(I, DONE) !== s[t]) {
      if (++spins < spin) continue;
      const left = timeoutMs - (Date.now() - t0);
      if (left <= 0) throw new TensorError('poolPing', `worker ${t} did not answer within ${timeoutMs} ms`);
      Atomics.store(I, MSLEEP, 1);
      waitOn(I, DONE, Atomics.load(I, DONE), Math.min(left, 10));
      Atomics.store(I, MSLEEP, 0);
    }
  }
  return true;
}
