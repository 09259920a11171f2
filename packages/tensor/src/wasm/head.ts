import { Expr, F32, Func, I32, MemoryImport, V128, add, encodeModule, f32, f32load, f32store, get, i32, lt, shl, shuffle32, splat, sub, uleb, v128load, v128store } from './emitter';
import { VMath, extractLane, replaceLane, vadd, vconstIn, vdiv, vmul, vpmax, vsub, vzero } from './vmath';

/**
 * The output head's row kernel as a WebAssembly SIMD module: softmax cross-entropy over the
 * rows of logits z [N, V] (row-major, contiguous) against integer targets, four classes at a
 * time. Per row i, with y = targets[i]:
 *   z_ij ← z_ij + bias_j                   (in place: the linear layer's bias, added here rather than
 *                                           copied into every row before the GEMM)
 *   m_i = max_j z_ij                       (NaN entries skipped: they reach the sum below)
 *   s_i = Σ_j e^(z_ij − m_i)                (vector exp of ./vmath.ts, ≤ 2 ulp)
 *   stats[i] = (m_i, s_i, z_iy)             the caller forms loss_i = log s_i − (z_iy − m_i)
 * and, with `grad` ≠ 0, z overwritten in place by the scaled softmax-minus-onehot
 *   dz_ij = c_i · (e^(z_ij − m_i) / s_i − [j = y]),   c_i = wts[i] (wts ≠ 0) or `scale`
 *   col[j] += Σ_i dz_ij                      (the bias gradient of a linear layer before it)
 * A row with c_i = 0 (a masked row) gets dz = 0 exactly, whatever its logits.
 * Rows of all −∞, or holding +∞ or NaN, give s (or m) NaN/∞ → a NaN loss, as PyTorch.
 * Addresses are BYTE addresses in the imported memory: z, col, bias f32 [V]; tgt i32 [N]; stats f32 [N, 3];
 * wts f32 [N]. Any N ≥ 0, V ≥ 1; the V % 4 classes at a row's end go through the same vector
 * code, loaded and stored lane by lane (unused lanes hold −∞: e^(−∞) = 0 adds nothing).
 */
export interface HeadKernels {
  xent(N: number, V: number, z: number, bias: number, tgt: number, stats: number, scale: number, wts: number, col: number, grad: number): void;
}

// Core opcodes emitter.ts does not list.
const I32_LOAD = 0x28;
const F32_EQ = 0x5b;
const F32_SUB = 0x93;

const i32load = (addr: Expr): Expr => (f) => {
  addr(f);
  f.body.push(I32_LOAD, 2);
  uleb(0, f.body);
};
const f32op = (op: number, a: Expr, b: Expr): Expr => (f) => {
  a(f);
  b(f);
  f.body.push(op);
};

function xent(fma: boolean): Func {
  const f = new Func([I32, I32, I32, I32, I32, I32, F32, I32, I32, I32]);
  const [N, V, z, bias, tgt, stats, scale, wts, col, grad] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const m = new VMath(f, { fma });
  const i = f.local(I32);
  const o = f.local(I32); // byte offset of j within the row
  const wb = f.local(I32); // row width in bytes (4V)
  const rem = f.local(I32); // bytes left after the last full vector
  const y = f.local(I32); // byte offset of the target class
  const [mx, s, e, t, r] = Array.from({ length: 5 }, () => f.local(V128));
  const picked = f.local(F32);
  const c = f.local(F32);

  const at = (base: number): Expr => add(get(base), get(o));
  const NEG_INF = vconstIn(f, -Infinity);
  /** The 1–3 floats at z + o into lanes 0..2 of a vector of −∞. */
  const tailLoad = (dst: number): void => {
    f.set(dst, replaceLane(NEG_INF, 0, f32load(at(z))));
    for (let k = 1; k < 3; k++) f.if(lt(i32(4 * k), get(rem)), () => void f.set(dst, replaceLane(get(dst), k, f32load(at(z), 4 * k))));
  };
  const tailStore = (base: number, v: number): void => {
    f.run(f32store(at(base), extractLane(get(v), 0)));
    for (let k = 1; k < 3; k++) f.if(lt(i32(4 * k), get(rem)), () => void f.run(f32store(at(base), extractLane(get(v), k), 4 * k)));
  };
  /** for o over the full vectors of the row: body(); then, if the row has a tail, tail(). */
  const cols = (body: () => void, tail: () => void): void => {
    f.set(o, i32(0));
    f.block((done) =>
      f.loop((next) => {
        f.brIf(done, lt(sub(get(wb), get(o)), i32(16)));
        body();
        f.set(o, add(get(o), i32(16)));
        f.br(next);
      }),
    );
    f.set(rem, sub(get(wb), get(o)));
    f.if(get(rem), tail);
  };
  /** Both lanes pairs, then both halves: every lane ends up holding op over all four. */
  const reduce = (v: number, op: (a: Expr, b: Expr) => Expr): void => {
    f.set(v, op(get(v), shuffle32(get(v), get(v), [2, 3, 0, 1])));
    f.set(v, op(get(v), shuffle32(get(v), get(v), [1, 0, 3, 2])));
  };

  const rows = (train: boolean): void => {
    f.set(i, i32(0));
    f.loop((rowLoop) => {
      f.set(y, shl(i32load(get(tgt)), i32(2)));
      // pass 1: z += b (stored), m = max_j z_j — pmax(acc, x) keeps acc when x is NaN
      f.set(mx, NEG_INF);
      cols(
        () => {
          f.set(t, vadd(v128load(at(z), 0, 2), v128load(at(bias), 0, 2)));
          f.run(v128store(at(z), get(t), 0, 2));
          f.set(mx, vpmax(get(mx), get(t)));
        },
        () => {
          tailLoad(t); // −∞ past the row's end, and −∞ + b = −∞
          f.set(e, replaceLane(vzero(), 0, f32load(at(bias))));
          for (let k = 1; k < 3; k++) f.if(lt(i32(4 * k), get(rem)), () => void f.set(e, replaceLane(get(e), k, f32load(at(bias), 4 * k))));
          f.set(t, vadd(get(t), get(e)));
          tailStore(z, t);
          f.set(mx, vpmax(get(mx), get(t)));
        },
      );
      reduce(mx, vpmax);
      f.set(picked, f32load(add(get(z), get(y))));
      // pass 2: s = Σ_j e^(z_j − m), the exponentials kept in z when training
      f.set(s, vzero());
      cols(
        () => {
          m.expNeg(e, vsub(v128load(at(z), 0, 2), get(mx))); // z − max ≤ 0 (or NaN)
          f.set(s, vadd(get(s), get(e)));
          if (train) f.run(v128store(at(z), get(e), 0, 2));
        },
        () => {
          tailLoad(t);
          m.expNeg(e, vsub(get(t), get(mx)));
          f.set(s, vadd(get(s), get(e)));
          if (train) tailStore(z, e);
        },
      );
      reduce(s, vadd);
      f.run(f32store(get(stats), extractLane(get(mx), 0)), f32store(get(stats), extractLane(get(s), 0), 4), f32store(get(stats), get(picked), 8));
      if (train) {
        // pass 3: dz = c·e/s − c·[j = y];  col += dz
        f.if(get(wts), () => void f.set(c, f32load(get(wts))), () => void f.set(c, get(scale)));
        f.if(
          f32op(F32_EQ, get(c), f32(0)),
          () => cols(() => void f.run(v128store(at(z), vzero(), 0, 2)), () => {
            f.set(e, vzero());
            tailStore(z, e);
          }),
          () => {
            f.set(r, vdiv(splat(get(c)), get(s)));
            cols(
              () => {
                f.set(e, vmul(v128load(at(z), 0, 2), get(r)));
                f.run(v128store(at(z), get(e), 0, 2));
                f.run(v128store(at(col), vadd(v128load(at(col), 0, 2), get(e)), 0, 2));
              },
              () => {
                tailLoad(t); // lanes past the row read −∞ but are never stored
                f.set(e, vmul(get(t), get(r)));
                tailStore(z, e);
                f.set(t, replaceLane(vzero(), 0, f32load(at(col))));
                for (let k = 1; k < 3; k++) f.if(lt(i32(4 * k), get(rem)), () => void f.set(t, replaceLane(get(t), k, f32load(at(col), 4 * k))));
                f.set(t, vadd(get(t), get(e)));
                tailStore(col, t);
              },
            );
            const zy = add(get(z), get(y));
            const cy = add(get(col), get(y));
            f.run(f32store(zy, f32op(F32_SUB, f32load(zy), get(c))));
            f.run(f32store(cy, f32op(F32_SUB, f32load(cy), get(c))));
          },
        );
        f.if(get(wts), () => void f.set(wts, add(get(wts), i32(4))));
      }
      f.set(z, add(get(z), get(wb)));
      f.set(tgt, add(get(tgt), i32(4)));
      f.set(stats, add(get(stats), i32(12)));
      f.set(i, add(get(i), i32(1)));
      f.brIf(rowLoop, lt(get(i), get(N)));
    });
  };

  f.set(wb, shl(get(V), i32(2)));
  f.if(lt(i32(0), get(N)), () => f.if(get(grad), () => rows(true), () => rows(false)));
  return f;
}

/**
 * The module: imports `env.memory` (shared with a maximum when `mem.shared`, as the arena's),
 * exports `xent` (HeadKernels). Instantiate with `{ env: { memory } }`. `fma`: the exponentials'
 * range reduction and polynomial with relaxed_madd, as the recurrence's gate kernels (the module
 * then needs relaxed SIMD; ./vmath.ts gives both variants' accuracy).
 */
export function headModuleBytes(mem?: MemoryImport, opts: { fma?: boolean } = {}): Uint8Array {
  return encodeModule([xent(opts.fma === true)], { xent: 0 }, 1, mem);
}
