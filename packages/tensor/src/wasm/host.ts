import { TensorError } from '../errors';

/**
 * What the thread pool needs from its host, found at run time so that nothing here imports
 * Node at load (the package bundles for the browser as it is):
 *   Node     worker_threads through `process.getBuiltinModule` (Node ≥ 20.16), eval'd source
 *   browser  a dedicated Web Worker from a Blob URL of the same source, its data posted to it
 * and whether this thread may block in Atomics.wait (a page's main thread may not: it spins).
 */

export interface PoolWorker {
  terminate(): void;
}

interface NodeProcess {
  versions?: { node?: string };
  getBuiltinModule?: (id: string) => unknown;
}
interface NodeWorkerThreads {
  Worker: new (src: string, o: { eval: true; workerData: unknown }) => PoolWorker & { unref(): void };
}
interface WebWorkerCtor {
  new (url: string, o?: { name?: string }): PoolWorker & { postMessage(data: unknown): void; onerror: ((e: { message?: string }) => void) | null };
}
interface BlobUrlApi {
  Blob: new (parts: string[], o: { type: string }) => object;
  URL: { createObjectURL(b: object): string; revokeObjectURL(u: string): void };
}

const g = globalThis as { process?: NodeProcess; navigator?: { hardwareConcurrency?: number }; Worker?: WebWorkerCtor } & Partial<BlobUrlApi>;

function nodeProcess(): NodeProcess | undefined {
  const p = g.process;
  return p !== undefined && typeof p.versions?.node === 'string' ? p : undefined;
}

/** A Node built-in by name, or undefined outside Node (or on a Node without getBuiltinModule). */
export function nodeBuiltin<T>(id: string): T | undefined {
  const p = nodeProcess();
  return p?.getBuiltinModule ? (p.getBuiltinModule(id) as T) : undefined;
}

/** Logical CPUs this runtime reports (1 when it does not say). */
export function cpuCount(): number {
  const os = nodeBuiltin<{ availableParallelism?: () => number; cpus(): unknown[] }>('node:os');
  if (os) return os.availableParallelism?.() ?? os.cpus().length;
  return g.navigator?.hardwareConcurrency ?? 1;
}

/** Where pool workers come from here: 'node', 'web', or '' (none, with the reason in `why`). */
export function workerHost(): { kind: 'node' | 'web' | ''; why: string } {
  if (nodeProcess()) {
    return nodeBuiltin('node:worker_threads') ? { kind: 'node', why: '' } : { kind: '', why: 'this Node has no process.getBuiltinModule (threads need Node ≥ 20.16)' };
  }
  if (typeof g.Worker === 'function' && g.Blob && g.URL) return { kind: 'web', why: '' };
  return { kind: '', why: 'this runtime has no worker threads (no worker_threads, no Web Worker)' };
}

/**
 * Starts a worker running `src` (which defines `start(data)`) with `data`: in Node as an
 * eval'd worker_threads Worker (unref'd: it never keeps the process alive), in a browser as
 * a Web Worker whose first message is the data (a shared WebAssembly.Memory is posted, not copied).
 */
export function spawnWorker(src: string, data: unknown, name: string): PoolWorker {
  const host = workerHost();
  if (host.kind === 'node') {
    const wt = nodeBuiltin<NodeWorkerThreads>('node:worker_threads') as NodeWorkerThreads;
    const w = new wt.Worker(`${src}\nstart(require('worker_threads').workerData);\n`, { eval: true, workerData: data });
    w.unref();
    return w;
  }
  if (host.kind === 'web') {
    const { Blob, URL } = g as BlobUrlApi;
    const url = URL.createObjectURL(new Blob([`${src}\nself.onmessage = (e) => { self.onmessage = null; start(e.data); };\n`], { type: 'text/javascript' }));
    try {
      const w = new (g.Worker as WebWorkerCtor)(url, { name });
      w.postMessage(data);
      return w;
    } finally {
      URL.revokeObjectURL(url); // the worker has its own reference once constructed
    }
  }
  throw new TensorError('startPool', host.why);
}

let blocking: boolean | undefined;
/** Whether Atomics.wait may be called on this thread (not on a browser page's main thread). */
export function canBlock(): boolean {
  if (blocking === undefined) {
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
      blocking = true;
    } catch {
      blocking = false;
    }
  }
  return blocking;
}

/** Atomics.wait where this thread may block; elsewhere returns at once (the caller's loop spins). */
export function waitOn(a: Int32Array, i: number, v: number, ms: number): void {
  if (canBlock()) Atomics.wait(a, i, v, ms);
}
