// A long-lived Python child (benchmarks/python/torch_server.py) and one JSON request/reply at a
// time over its stdin/stdout.
import { ChildProcessWithoutNullStreams, spawn } from 'child_process';
import * as path from 'path';
import * as readline from 'readline';

/** The one thing the contender needs from the Python side; tests pass an in-process fake. */
export interface Transport {
  request(msg: Record<string, unknown>): Promise<Record<string, unknown>>;
  close(): void;
}

/** /usr/bin/python3 (Debian's, where python3-torch lives) unless UNFOLD_PYTHON names another. */
export function pythonPath(): string {
  return process.env.UNFOLD_PYTHON || '/usr/bin/python3';
}

export const SERVER = path.resolve(__dirname, '..', '..', 'python', 'torch_server.py');

export class ChildTransport implements Transport {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly pending: { resolve(v: Record<string, unknown>): void; reject(e: Error): void }[] = [];
  private stderr = '';
  private dead: Error | null = null;

  constructor(threads: number, python = pythonPath()) {
    const n = String(threads);
    // the thread count is fixed for the process's lifetime: OpenMP (torch's intra-op pool and OpenBLAS-openmp) reads it at start
    this.proc = spawn(python, [SERVER, n], { env: { ...process.env, OMP_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n, MKL_NUM_THREADS: n }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stderr.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    const rl = readline.createInterface({ input: this.proc.stdout });
    rl.on('line', (line) => {
      const p = this.pending.shift();
      if (!p) return;
      try {
        const rep = JSON.parse(line) as Record<string, unknown>;
        if (typeof rep.error === 'string') p.reject(new Error(rep.error));
        else p.resolve(rep);
      } catch {
        p.reject(new Error(`${python}: not a JSON reply: ${line.slice(0, 200)}`));
      }
    });
    const fail = (e: Error): void => {
      this.dead = e;
      for (const p of this.pending.splice(0)) p.reject(e);
    };
    this.proc.on('error', (e) => fail(new Error(`cannot start ${python}: ${e.message}`)));
    this.proc.on('exit', (code, sig) => fail(new Error(`${python} ${path.basename(SERVER)} exited (${sig ?? code})${this.stderr ? `: ${this.stderr.trim().split('\n').slice(-1)[0]}` : ''}`)));
  }

  request(msg: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.proc.stdin.write(JSON.stringify(msg) + '\n');
    });
  }

  close(): void {
    if (this.dead) return;
    this.proc.stdin.end(JSON.stringify({ cmd: 'quit' }) + '\n');
  }
}
