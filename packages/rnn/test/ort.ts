import * as path from 'path';
import { Worker } from 'worker_threads';

// The test side of ort-worker.mjs: one worker per test file, requests matched by id.
export interface OrtFeed {
  type: 'float32' | 'int32' | 'int64';
  data: Float32Array | Int32Array | BigInt64Array;
  dims: number[];
}
export interface OrtOutput {
  data: Float32Array;
  dims: number[];
}

export class OrtRunner {
  private worker = new Worker(path.join(__dirname, 'ort-worker.mjs'));
  private pending = new Map<number, { ok: (o: Record<string, OrtOutput>) => void; fail: (e: Error) => void }>();
  private next = 0;

  constructor() {
    this.worker.on('message', (m: { id: number; outputs?: Record<string, OrtOutput>; error?: string }) => {
      const p = this.pending.get(m.id)!;
      this.pending.delete(m.id);
      if (m.error !== undefined) p.fail(new Error(`onnxruntime: ${m.error}`));
      else p.ok(m.outputs!);
    });
  }

  run(model: Uint8Array, feeds: Record<string, OrtFeed>): Promise<Record<string, OrtOutput>> {
    const id = this.next++;
    return new Promise((ok, fail) => {
      this.pending.set(id, { ok, fail });
      this.worker.postMessage({ id, model, feeds });
    });
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}
