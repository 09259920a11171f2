// The PyTorch contender: torch.nn.{LSTM,GRU,RNN} + Linear + cross_entropy + Adam in a Python
// child (benchmarks/python/torch_server.py), loaded with the shared PyTorch-layout weights as
// they are (no conversion: the exchange layout is PyTorch's), timed inside Python.
import { RemoteContender, RemoteInstance, TorchName } from '../harness/contender';
import { Batch, StateDict, Workload } from '../workloads';
import { ChildTransport, Transport, pythonPath } from './child';
import { Hello, WireArray, decodeStateDict, describeBlas, encodeStateDict, toBase64 } from './protocol';

let nextId = 1;

class TorchInstance implements RemoteInstance {
  readonly remote = true;
  private constructor(private readonly t: Transport, private readonly id: number) {}

  static async build(t: Transport, w: Workload, sd: StateDict, batch: Batch): Promise<TorchInstance> {
    const id = nextId++;
    const { cell, hidden, layers, vocab, lr } = w;
    await t.request({ cmd: 'build', id, workload: { cell, hidden, layers, vocab, lr }, weights: encodeStateDict(sd), x: toBase64(batch.x), y: toBase64(batch.y), T: batch.T, B: batch.B });
    return new TorchInstance(t, id);
  }

  async selfTimed(mode: 'train' | 'infer', n: number): Promise<{ ms: number[]; losses: number[] }> {
    const r = await this.t.request({ cmd: mode, id: this.id, reps: n });
    const ms = r.ms as number[];
    const losses = r.losses as number[];
    if (!Array.isArray(ms) || ms.length !== n || !Array.isArray(losses) || losses.length !== n) throw new Error(`pytorch ${mode}: expected ${n} timings and losses, got ${JSON.stringify(r).slice(0, 200)}`);
    return { ms, losses };
  }

  async gradients(): Promise<StateDict> {
    const r = await this.t.request({ cmd: 'gradients', id: this.id });
    return decodeStateDict(r.grads as Record<string, WireArray>);
  }

  async memory(): Promise<Record<string, number>> {
    // the Python process's rss: its growth from before the model was built to the largest value seen after a command
    const r = await this.t.request({ cmd: 'memory', id: this.id });
    return { rssDelta: r.rssDelta as number };
  }

  dispose(): void {
    this.t.request({ cmd: 'dispose', id: this.id }).catch(() => undefined);
  }
}

/** "OpenBLAS 0.3.21 (core Haswell)" or torch's BLAS_INFO when the library is not OpenBLAS. */
function shortBlas(h: Hello): string {
  const v = /OpenBLAS\s+(\S+)/.exec(h.blas.openblasConfig ?? '');
  return v ? `OpenBLAS ${v[1]}${h.blas.openblasCore ? ` (core ${h.blas.openblasCore})` : ''}` : describeBlas(h);
}

/** Starts the Python side and asks who it is; throws one line when torch is not importable. */
export async function torchContender(name: TorchName, transport?: Transport): Promise<RemoteContender & { hello: Hello }> {
  const threads = name === 'pytorch-2t' ? 2 : 1;
  const t = transport ?? new ChildTransport(threads);
  let hello: Hello;
  try {
    hello = (await t.request({ cmd: 'hello' })) as unknown as Hello;
  } catch (e) {
    t.close();
    throw new Error(`${pythonPath()} (UNFOLD_PYTHON overrides): ${(e as Error).message.split('\n')[0]}`);
  }
  if (hello.threads !== threads) {
    t.close();
    throw new Error(`${name}: torch runs ${hello.threads} threads, wanted ${threads}`);
  }
  return {
    name,
    hello,
    formulation: () => 'pytorch',
    parameters: 'pytorch',
    async activate() {},
    build: (w, sd, batch) => TorchInstance.build(t, w, sd, batch),
    describe: () => `PyTorch ${hello.torch} (Python ${hello.python}), float32, ${threads} thread${threads > 1 ? 's' : ''}, nn.LSTM/GRU/RNN + Linear + cross_entropy, one-hot input as a dense [T,B,V] tensor (F.one_hot); BLAS ${shortBlas(hello)}`,
    close: () => t.close(),
  };
}
