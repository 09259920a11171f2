import { NR } from './sgemm';

/**
 * The pool's worker (./pool.ts): the control-block layout both sides use, and the worker's
 * code as a source string defining `start(workerData)` (plain JS; ./host.ts runs it as an
 * eval'd worker_threads Worker in Node or a Blob-URL Web Worker in a browser, so it needs
 * no file path: the same under jest on the TS sources, from dist, and inside a bundle).
 *
 * Worker: instantiates the module against the shared memory, sets READY (1, or −1 with
 * the error text in MSG), then loops: spin on SEQ, sleep in Atomics.wait after `spin`
 * loads; on CMD_WORK claim and run blocks of the job until none is left; publish DONE = SEQ.
 */

// Worker control block (int32 index): the line main writes, the worker's, the sleep flags.
export const SEQ = 0;
export const CMD = 1;
export const PA = 2; // this thread's pack buffers and spill area (byte addresses)
export const PB = 3;
export const SPILL = 4;
export const DONE = 32;
export const READY = 34;
export const WSLEEP = 48;
export const MSLEEP = 49;
export const MSG = 64; // length, then UTF-16 code units
export const CTRL_INTS = 256;
export const MSG_MAX = CTRL_INTS - MSG - 1;
export const CMD_WORK = 1;
export const CMD_NOOP = 2;
export const CMD_EXIT = 3;
/** DONE after CMD_EXIT: the worker has left its loop. */
export const EXIT_ACK = -2;

// Job block (int32 index), one for the pool: the current product and its block queue.
/** Claim word: gen << 16 | blocks << 8 | next block; claimed by compare-exchange of the whole word. */
export const NEXT = 0;
export const FIN = 16; // blocks finished
export const JSLEEP = 17; // main asleep on FIN
export const ERR = 18; // 1 + index of the first worker whose block threw
export const JARGS = 32; // 15 values: M N K alpha beta load aBase rsA csA bBase|pB rsB csB cBase rsC csC (alpha, beta as float32)
export const PACKED = 47; // 1: sgemmPacked on a pre-packed B at bBase (byte address); TASK + fn: task fn of the task module
/** PACKED = TASK + fn: a job of parts of task fn (./pool.ts runTask), its descriptor's byte address at JARGS. */
export const TASK = 2;
export const OWNER = 64; // per block: 1 + index of the thread that claimed it
export const BFIN = 128; // per block: 1 when finished
export const MAX_BLOCKS = 64;
export const JOB_INTS = 192;

/** First column of block b of N cut into nb blocks of whole NR panels (the first P mod nb one panel more; the worker has a copy). */
export function blockStart(N: number, nb: number, b: number): number {
  const P = Math.ceil(N / NR);
  const q = Math.floor(P / nb);
  return Math.min(N, NR * (b * q + Math.min(b, P % nb)));
}

export const WORKER_SRC = `
function start(workerData) {
const { memory, moduleBytes, taskBytes, ctrl, job, index, spin, inject } = workerData;
const I = new Int32Array(memory.buffer, ctrl, ${CTRL_INTS});
const J = new Int32Array(memory.buffer, job, ${JOB_INTS});
const JF = new Float32Array(memory.buffer, job, ${JOB_INTS});
const NR = ${NR};
function tell(e) {
  const s = String(e && e.stack ? e.stack.split('\\n').slice(0, 2).join(' ') : e).slice(0, ${MSG_MAX});
  I[${MSG}] = s.length;
  for (let i = 0; i < s.length; i++) I[${MSG} + 1 + i] = s.charCodeAt(i);
}
function blockStart(N, nb, b) {
  const P = Math.ceil(N / NR);
  const q = Math.floor(P / nb);
  return Math.min(N, NR * (b * q + Math.min(b, P % nb)));
}
// Claims and runs blocks of the current product until none is left (as main does in pool.ts).
function work(sgemm, packed, tasks) {
  for (;;) {
    const v = Atomics.load(J, ${NEXT});
    const b = v & 255;
    const nb = (v >>> 8) & 255;
    if (b >= nb) return;
    if (Atomics.compareExchange(J, ${NEXT}, v, v + 1) !== v) continue;
    J[${OWNER} + b] = index + 1;
    try {
      if (inject === 'call') throw new Error('injected failure at call');
      if (inject === 'hang') for (;;);
      const a = ${JARGS};
      const kind = J[${PACKED}];
      if (kind >= ${TASK}) {
        // a part of a task (pool.ts runTask): rows of a whole-sequence recurrence
        tasks[kind - ${TASK}](J[a], b, I[${PA}], I[${SPILL}]);
      } else {
        const N = J[a + 1];
        const K = J[a + 2];
        const j0 = blockStart(N, nb, b);
        const n = blockStart(N, nb, b + 1) - j0;
        const cs = J[a + 14];
        if (kind) {
          packed(J[a], n, K, JF[a + 3], JF[a + 4], J[a + 5], J[a + 6], J[a + 7], J[a + 8], J[a + 9] + 4 * j0 * K,
            J[a + 12] + j0 * cs, J[a + 13], cs, I[${PA}], I[${SPILL}]);
        } else {
          sgemm(J[a], n, K, JF[a + 3], JF[a + 4], J[a + 5], J[a + 6], J[a + 7], J[a + 8], J[a + 9] + j0 * J[a + 11], J[a + 10], J[a + 11],
            J[a + 12] + j0 * cs, J[a + 13], cs, I[${PA}], I[${PB}], I[${SPILL}]);
        }
      }
    } catch (e) {
      tell(e);
      Atomics.compareExchange(J, ${ERR}, 0, index + 1);
    }
    Atomics.store(J, ${BFIN} + b, 1);
    Atomics.add(J, ${FIN}, 1);
    if (Atomics.load(J, ${JSLEEP}) !== 0) Atomics.notify(J, ${FIN});
  }
}
function main() {
  let sgemm, packed, tasks = null;
  try {
    if (inject === 'start') throw new Error('injected failure at start');
    const ex = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes), { env: { memory } }).exports;
    sgemm = ex.sgemm;
    packed = ex.sgemmPacked;
    if (taskBytes) {
      const tx = new WebAssembly.Instance(new WebAssembly.Module(taskBytes), { env: { memory } }).exports;
      tasks = [tx.seqForward, tx.seqBackward];
    }
    Atomics.store(I, ${READY}, 1);
  } catch (e) {
    tell(e);
    Atomics.store(I, ${READY}, -1);
  }
  Atomics.notify(I, ${READY});
  if (Atomics.load(I, ${READY}) !== 1) return;
  let last = 0; // not a load: main may post as soon as it sees READY
  for (;;) {
    let s;
    let n = 0;
    while ((s = Atomics.load(I, ${SEQ})) === last) {
      if (++n < spin) continue;
      Atomics.store(I, ${WSLEEP}, 1);
      Atomics.wait(I, ${SEQ}, last);
      Atomics.store(I, ${WSLEEP}, 0);
      n = 0;
    }
    last = s;
    const cmd = I[${CMD}];
    if (cmd === ${CMD_EXIT}) {
      Atomics.store(I, ${DONE}, ${EXIT_ACK});
      Atomics.notify(I, ${DONE});
      return;
    }
    if (cmd === ${CMD_WORK}) work(sgemm, packed, tasks);
    Atomics.store(I, ${DONE}, s);
    if (Atomics.load(I, ${MSLEEP}) !== 0) Atomics.notify(I, ${DONE});
  }
}
main();
}
`;

/** The error text a worker left in its control block. */
export const readMsg = (I: Int32Array): string => {
  const n = Math.min(Math.max(I[MSG], 0), MSG_MAX);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(I[MSG + 1 + i]);
  return s;
};
