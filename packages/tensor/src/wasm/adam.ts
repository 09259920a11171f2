import { Expr, F64, Func, I32, MemoryImport, V128, add, encodeModule, get, i32, lt, sub, withOp, withSimd } from './emitter';
import { MAX_PAGES, addressOf, arenaAlloc, arenaFree, arenaIsShared, arenaMemory } from './arena';
import { noteFallback, wasmActive } from './backend';

/**
 * Adam's per-element update over float32 arrays (packages/rnn/src/optim/adam.ts; weight decay
 * of either kind, not amsgrad) as a wasm module, two elements at a time in f64x2. Every
 * operation is the JS loop's, in doubles, in the same order, rounded to float32 exactly where
 * the JS stores into a Float32Array — so the same bits (tested against the loop):
 *
 *   w ← f32(w·shrink)                      (AdamW's decoupled decay; shrink = 1: unchanged)
 *   g  = gr + l2·w                         (Adam's L2 penalty; l2 = 0: g = gr)
 *   m ← f32(m + c1·(g − m))                c1 = 1 − β1
 *   v ← f32(β2·v + (c2·g)·g)               c2 = 1 − β2
 *   w ← f32(w − (s·m)/(√v / k + ε))        s = lr / (1 − β1^t), k = √(1 − β2^t); m, v as stored
 *
 * The doubles' sqrt and division are what the JS loop waits on; f64x2 does two of each per
 * instruction. Kernels know nothing of optimizers: the caller gives the scalars.
 */

/** SIMD opcodes (after 0xFD) for f64x2 and the float32 ↔ float64 lane conversions. */
const S = { load64Zero: 0x5d, store64Lane: 0x5b, demote: 0x5e, promote: 0x5f, splat: 0x14, sqrt: 0xef, add: 0xf0, sub: 0xf1, mul: 0xf2, div: 0xf3 } as const;
/** Scalar opcodes. */
const O = { f32Load: 0x2a, f32Store: 0x38, f64Sqrt: 0x9f, f64Add: 0xa0, f64Sub: 0xa1, f64Mul: 0xa2, f64Div: 0xa3, demote: 0xb6, promote: 0xbb } as const;

const simd = withSimd;
const op = withOp;

/** How the loop body reads and writes: two lanes (f64x2) or one (f64). */
interface Lanes {
  load(ptr: number): Expr; // float32 → float64
  store(ptr: number, v: Expr): Expr; // float64 → float32
  round(v: Expr): Expr; // f64 → f32 → f64: the value a store then a load gives
  param(k: number): Expr;
  add(a: Expr, b: Expr): Expr;
  sub(a: Expr, b: Expr): Expr;
  mul(a: Expr, b: Expr): Expr;
  div(a: Expr, b: Expr): Expr;
  sqrt(a: Expr): Expr;
}
const two: Lanes = {
  load: (p) => simd(S.promote, [], simd(S.load64Zero, [2, 0], get(p))),
  store: (p, v) => simd(S.store64Lane, [2, 0, 0], get(p), simd(S.demote, [], v)),
  round: (v) => simd(S.promote, [], simd(S.demote, [], v)),
  param: (k) => simd(S.splat, [], get(k)),
  add: (a, b) => simd(S.add, [], a, b),
  sub: (a, b) => simd(S.sub, [], a, b),
  mul: (a, b) => simd(S.mul, [], a, b),
  div: (a, b) => simd(S.div, [], a, b),
  sqrt: (a) => simd(S.sqrt, [], a),
};
const one: Lanes = {
  load: (p) => op(O.promote, (f) => void (get(p)(f), f.body.push(O.f32Load, 2, 0))),
  store: (p, v) => (f) => {
    get(p)(f);
    op(O.demote, v)(f);
    f.body.push(O.f32Store, 2, 0);
  },
  round: (v) => op(O.promote, op(O.demote, v)),
  param: (k) => get(k),
  add: (a, b) => op(O.f64Add, a, b),
  sub: (a, b) => op(O.f64Sub, a, b),
  mul: (a, b) => op(O.f64Mul, a, b),
  div: (a, b) => op(O.f64Div, a, b),
  sqrt: (a) => op(O.f64Sqrt, a),
};

/** adam(n, w, g, m, v, shrink, l2, c1, b2, c2, s, k, eps): arrays are byte addresses of n float32. */
function adamFunc(): Func {
  const f = new Func([I32, I32, I32, I32, I32, F64, F64, F64, F64, F64, F64, F64, F64]);
  const [n, w, g, m, v] = [0, 1, 2, 3, 4];
  const [shrink, l2, c1, b2, c2, s, k, eps] = [5, 6, 7, 8, 9, 10, 11, 12];
  const vw = [f.local(V128), f.local(F64)], vg = [f.local(V128), f.local(F64)], vm = [f.local(V128), f.local(F64)], vv = [f.local(V128), f.local(F64)];
  const left = f.local(I32);
  const body = (L: Lanes, x: 0 | 1): void => {
    const P = L.param;
    f.set(vw[x], L.round(L.mul(L.load(w), P(shrink)))); // w as stored after the decay
    f.set(vg[x], L.add(L.load(g), L.mul(P(l2), get(vw[x]))));
    f.set(vm[x], L.load(m));
    f.set(vm[x], L.round(L.add(get(vm[x]), L.mul(P(c1), L.sub(get(vg[x]), get(vm[x]))))));
    f.run(L.store(m, get(vm[x])));
    f.set(vv[x], L.round(L.add(L.mul(P(b2), L.load(v)), L.mul(L.mul(P(c2), get(vg[x])), get(vg[x])))));
    f.run(L.store(v, get(vv[x])));
    f.run(L.store(w, L.sub(get(vw[x]), L.div(L.mul(P(s), get(vm[x])), L.add(L.div(L.sqrt(get(vv[x])), P(k)), P(eps))))));
  };
  const advance = (bytes: number): void => {
    for (const p of [w, g, m, v]) f.set(p, add(get(p), i32(bytes)));
  };
  f.set(left, get(n));
  f.block((done) =>
    f.loop((pairs) => {
      f.brIf(done, lt(get(left), i32(2)));
      body(two, 0);
      advance(8);
      f.set(left, sub(get(left), i32(2)));
      f.br(pairs);
    }),
  );
  f.if(lt(i32(0), get(left)), () => body(one, 1));
  return f;
}

export function adamModuleBytes(mem?: MemoryImport): Uint8Array {
  return encodeModule([adamFunc()], { adam: 0 }, 1, mem);
}

export interface AdamScalars {
  shrink: number;
  l2: number;
  c1: number;
  b2: number;
  c2: number;
  stepSize: number;
  bc2Sqrt: number;
  eps: number;
}

interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
type AdamFn = (n: number, w: number, g: number, m: number, v: number, ...s: number[]) => void;
let kernel: AdamFn | null | undefined;

function adamKernel(): AdamFn | null {
  if (!wasmActive()) return null;
  if (kernel === undefined) {
    try {
      const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly as WasmApi;
      const bytes = adamModuleBytes(arenaIsShared() ? { shared: true, maxPages: MAX_PAGES } : undefined);
      kernel = new api.Instance(new api.Module(bytes), { env: { memory: arenaMemory() } }).exports.adam as AdamFn;
    } catch (e) {
      kernel = null; // the JS loop stays correct, and the reason is told once
      noteFallback(`the Adam module did not instantiate: ${String(e)}`);
    }
  }
  return kernel;
}

let stage = 0;
let stageBytes = 0;

/**
 * The update above on float32 arrays of equal length, in place on w, m, v, when float32 work goes
 * to wasm; false (nothing done) otherwise. Arrays outside the arena are staged through one reused
 * block (copied in, and w, m, v back out).
 */
export function adamF32(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, c: AdamScalars): boolean {
  const k = adamKernel();
  if (k === null) return false;
  const n = w.length;
  const arrays = [w, g, m, v];
  const outside = arrays.filter((a) => addressOf(a) < 0).length;
  if (4 * n * outside > stageBytes) {
    if (stage !== 0) arenaFree(stage);
    stageBytes = 4 * n * outside;
    stage = arenaAlloc(stageBytes);
  }
  const heap = new Float32Array(arenaMemory().buffer); // after the allocation
  let next = stage;
  const at = arrays.map((a) => {
    const addr = addressOf(a);
    if (addr >= 0) return addr;
    const s = next;
    next += 4 * n;
    heap.set(a, s >> 2);
    return s;
  });
  k(n, at[0], at[1], at[2], at[3], c.shrink, c.l2, c.c1, c.b2, c.c2, c.stepSize, c.bc2Sqrt, c.eps);
  for (const i of [0, 2, 3]) if (addressOf(arrays[i]) < 0) arrays[i].set(heap.subarray(at[i] >> 2, (at[i] >> 2) + n));
  return true;
}
