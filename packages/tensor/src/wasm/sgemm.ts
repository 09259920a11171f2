import {
  Expr, F32, Func, I32, V128, add, and, bytes, call, encodeModule, eq, eqz, f32, f32add, f32load, f32mul, f32store,
  get, i32, loadSplat, lt, min, mul, select, shuffle32, splat, sub, v128load, v128store, vadd, vmul,
} from './emitter';

/**
 * The float32 GEMM kernel as a WebAssembly SIMD module, emitted as bytes at load time.
 *
 *   C[M,N] ← alpha · A[M,K] · B[K,N] + beta · C       (all in the module's memory)
 *
 * Same loop nest as the JS kernel in ../gemm.ts (GotoBLAS/BLIS), in one exported call:
 *   jc: N in NC blocks → pc: K in KC slices → pack B[pc:+KC, jc:+NC] into NR-wide panels
 *     → ic: M in MC blocks → pack A[ic:+MC, pc:+KC] into MR-tall panels
 *       → jr, ir: one MR×NR tile of C per micro-kernel call.
 * A, B and C are addressed as base + i·rs + j·cs (element indices, signed strides), so
 * transposes, steps and reversals of the caller's views survive the copy into wasm memory,
 * and packing (in wasm, 4 or 8 lanes at a time when a panel's lines are contiguous) is the
 * only reordering.
 *
 * Micro-kernel: a 4×8 tile of C in eight f32x4 accumulators (row i: lanes j = 0..3, 4..7).
 * Each step p loads two vectors of the B panel and broadcasts four A values:
 *   acc[i][h] += splat(a[p·4+i]) · b[p·8 + 4h .. +4]      (64 flops per 6 loads)
 * 8 accumulators + 2 B + 1 A vector fit the 16 xmm registers of x64 without spills.
 *
 * Numerics: products and sums in float32 (mul then add: no FMA in baseline SIMD), summed in
 * p order within a KC slice, then C ← alpha·acc + beta·C per slice (later slices beta = 1):
 * the classical K·u bound of a float32 dot product. beta = 0 never reads C.
 * Deterministic: the order of every sum depends only on M, N, K.
 */

export const MR = 4;
export const NR = 8;
export const KC = 256;
export const MC = 128; // A block: MC·KC·4 B = 128 KB, stays in L2
export const NC = 1024; // B block: KC·NC·4 B = 1 MB
/** Bytes at address 0 that the micro-kernel uses to spill an edge tile (MR·NR floats). */
export const SCRATCH_BYTES = 256;

/**
 * pack(src, line, depth, kc, len, dst): `len` lines of a kc-deep slice into W-wide panels,
 *   dst[(l/W)·kc·W + p·W + l%W] = X[src + l·line + p·depth],   last panel zero-padded.
 * (A: lines are rows, depth runs along K; B: lines are columns.) dst is a byte address.
 */
function emitPack(W: number): Func {
  const f = new Func([I32, I32, I32, I32, I32, I32]);
  const [src, line, depth, kc, len, dst] = [0, 1, 2, 3, 4, 5];
  const l0 = f.local(I32);
  const w = f.local(I32);
  const s = f.local(I32);
  const p = f.local(I32);
  const x = f.local(I32);
  const r = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  const t = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  const step = (n: number): void => {
    f.set(s, add(get(s), mul(get(depth), i32(n))))
      .set(dst, add(get(dst), i32(4 * W * n)))
      .set(p, sub(get(p), i32(n)));
  };
  // Lines 4g..4g+3, steps p..p+3 (depth stride 1): r_i = X[line 4g+i, p..p+3], transposed
  // so that column q of the r's, (r_0[q], …, r_3[q]), lands at dst[q·W + 4g .. +4].
  const transpose4 = (g: number): void => {
    for (let i = 0; i < 4; i++) f.set(r[i], v128load(bytes(add(get(s), mul(get(line), i32(4 * g + i)))), 0, 2));
    f.set(t[0], shuffle32(get(r[0]), get(r[1]), [0, 4, 1, 5]))
      .set(t[1], shuffle32(get(r[0]), get(r[1]), [2, 6, 3, 7]))
      .set(t[2], shuffle32(get(r[2]), get(r[3]), [0, 4, 1, 5]))
      .set(t[3], shuffle32(get(r[2]), get(r[3]), [2, 6, 3, 7]));
    f.run(
      v128store(get(dst), shuffle32(get(t[0]), get(t[2]), [0, 1, 4, 5]), 16 * g),
      v128store(get(dst), shuffle32(get(t[0]), get(t[2]), [2, 3, 6, 7]), 4 * W + 16 * g),
      v128store(get(dst), shuffle32(get(t[1]), get(t[3]), [0, 1, 4, 5]), 8 * W + 16 * g),
      v128store(get(dst), shuffle32(get(t[1]), get(t[3]), [2, 3, 6, 7]), 12 * W + 16 * g),
    );
  };
  f.loop((panels) => {
    f.set(w, min(i32(W), sub(get(len), get(l0))))
      .set(s, add(get(src), mul(get(l0), get(line))))
      .set(p, get(kc));
    f.if(
      and(eq(get(w), i32(W)), eq(get(line), i32(1))),
      // Contiguous lines: each step p is W consecutive floats, copied as W/4 vectors.
      () =>
        f.loop((ps) => {
          for (let v = 0; v < W / 4; v++) f.run(v128store(get(dst), v128load(bytes(get(s)), 16 * v, 2), 16 * v));
          step(1);
          f.brIf(ps, get(p));
        }),
      () => {
        // Full panel of lines contiguous along depth (a row-major A, a transposed B): four
        // steps of p at a time, as 4×4 transposes of one vector per line.
        f.if(and(eq(get(w), i32(W)), eq(get(depth), i32(1))), () =>
          f.block((done) =>
            f.loop((ps) => {
              f.brIf(done, lt(get(p), i32(4)));
              for (let g = 0; g < W / 4; g++) transpose4(g);
              step(4);
              f.br(ps);
            }),
          ),
        );
        // Strided lines, the last partial panel, or the p % 4 steps left: lane by lane, zero past w.
        f.block((done) =>
          f.loop((ps) => {
            f.brIf(done, eqz(get(p)));
            f.set(x, get(s));
            for (let l = 0; l < W; l++) {
              f.if(
                lt(i32(l), get(w)),
                () => f.run(f32store(get(dst), f32load(bytes(get(x))), 4 * l)).set(x, add(get(x), get(line))),
                () => f.run(f32store(get(dst), f32(0), 4 * l)),
              );
            }
            step(1);
            f.br(ps);
          }),
        );
      },
    );
    f.set(l0, add(get(l0), i32(W)));
    f.brIf(panels, lt(get(l0), get(len)));
  });
  return f;
}

/**
 * kernel(kc, a, b, c, rsC, csC, mr, nr, alpha, beta, load): one MR×NR tile from kc rank-1
 * updates of the packed panels at byte addresses a, b; stores the valid mr×nr part to C
 * (element index c) as alpha·acc + beta·C, reading C only when load ≠ 0.
 */
function emitKernel(): Func {
  const f = new Func([I32, I32, I32, I32, I32, I32, I32, I32, F32, F32, I32]);
  const [kc, a, b, c, rsC, csC, mr, nr, alpha, beta, load] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const acc = Array.from({ length: MR }, () => [f.local(V128), f.local(V128)]);
  const b0 = f.local(V128);
  const b1 = f.local(V128);
  const av = f.local(V128);
  const va = f.local(V128);
  const vb = f.local(V128);
  const p = f.local(I32);
  const addr = f.local(I32);
  const i = f.local(I32);
  const j = f.local(I32);
  const t = f.local(I32);

  // kc rank-1 updates, one per iteration. Not unrolled on purpose: unrolled, V8's
  // scheduler hoists the next steps' broadcasts above this step's arithmetic and runs out
  // of xmm registers (accumulators spill to the stack, ~40% slower).
  f.set(p, get(kc));
  f.loop((again) => {
    f.set(b0, v128load(get(b))).set(b1, v128load(get(b), 16));
    for (let r = 0; r < MR; r++) {
      f.set(av, loadSplat(get(a), 4 * r));
      f.set(acc[r][0], vadd(get(acc[r][0]), vmul(get(av), get(b0))));
      f.set(acc[r][1], vadd(get(acc[r][1]), vmul(get(av), get(b1))));
    }
    f.set(a, add(get(a), i32(4 * MR)))
      .set(b, add(get(b), i32(4 * NR)))
      .set(p, sub(get(p), i32(1)));
    f.brIf(again, get(p));
  });

  const full = and(and(eq(get(mr), i32(MR)), eq(get(nr), i32(NR))), eq(get(csC), i32(1)));
  f.if(
    full,
    () => {
      // Interior tile, unit column stride: whole rows as two vectors (align hint 4 bytes).
      f.set(va, splat(get(alpha))).set(vb, splat(get(beta)));
      const rows = (withC: boolean): void => {
        f.set(addr, bytes(get(c)));
        for (let r = 0; r < MR; r++) {
          for (let h = 0; h < 2; h++) {
            let v: Expr = vmul(get(acc[r][h]), get(va));
            if (withC) v = vadd(v, vmul(v128load(get(addr), 16 * h, 2), get(vb)));
            f.run(v128store(get(addr), v, 16 * h, 2));
          }
          if (r < MR - 1) f.set(addr, add(get(addr), bytes(get(rsC))));
        }
      };
      f.if(get(load), () => rows(true), () => rows(false));
    },
    () => {
      // Edge tile or strided C: spill the tile to scratch, store element by element.
      for (let r = 0; r < MR; r++) {
        f.run(v128store(i32(0), get(acc[r][0]), 32 * r), v128store(i32(0), get(acc[r][1]), 32 * r + 16));
      }
      f.set(i, i32(0));
      f.loop((rowsLoop) => {
        f.set(j, i32(0)).set(t, mul(get(i), i32(4 * NR))).set(addr, add(get(c), mul(get(i), get(rsC))));
        f.loop((cols) => {
          const ab = f32mul(get(alpha), f32load(get(t)));
          f.if(
            get(load),
            () => f.run(f32store(bytes(get(addr)), f32add(ab, f32mul(get(beta), f32load(bytes(get(addr))))))),
            () => f.run(f32store(bytes(get(addr)), ab)),
          );
          f.set(addr, add(get(addr), get(csC))).set(t, add(get(t), i32(4))).set(j, add(get(j), i32(1)));
          f.brIf(cols, lt(get(j), get(nr)));
        });
        f.set(i, add(get(i), i32(1)));
        f.brIf(rowsLoop, lt(get(i), get(mr)));
      });
    },
  );
  return f;
}

const PACK_A = 0;
const PACK_B = 1;
const KERNEL = 2;

/**
 * sgemm(M, N, K, alpha, beta, load, aBase, rsA, csA, bBase, rsB, csB, cBase, rsC, csC, pA, pB):
 * requires M, N, K ≥ 1; pA, pB are 16-byte-aligned byte addresses of the pack buffers
 * (MC·KC and KC·NC floats, or less for smaller problems). load = 0 when beta = 0.
 */
function emitDriver(): Func {
  const f = new Func([I32, I32, I32, F32, F32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [M, N, K, alpha, beta, load, aBase, rsA, csA, bBase, rsB, csB, cBase, rsC, csC, pA, pB] = Array.from({ length: 17 }, (_, k) => k);
  const [jc, nc, pc, kc, ic, mc, jr, nr, ir, ld] = Array.from({ length: 10 }, () => f.local(I32));
  const be = f.local(F32);
  f.loop((jcLoop) => {
    f.set(nc, min(i32(NC), sub(get(N), get(jc)))).set(pc, i32(0));
    f.loop((pcLoop) => {
      f.set(kc, min(i32(KC), sub(get(K), get(pc))));
      f.run(call(PACK_B, add(get(bBase), add(mul(get(pc), get(rsB)), mul(get(jc), get(csB)))), get(csB), get(rsB), get(kc), get(nc), get(pB)));
      // The first K slice applies the caller's beta; later slices add onto it.
      f.set(ld, select(get(load), i32(1), eqz(get(pc)))).set(be, select(get(beta), f32(1), eqz(get(pc))));
      f.set(ic, i32(0));
      f.loop((icLoop) => {
        f.set(mc, min(i32(MC), sub(get(M), get(ic))));
        f.run(call(PACK_A, add(get(aBase), add(mul(get(ic), get(rsA)), mul(get(pc), get(csA)))), get(rsA), get(csA), get(kc), get(mc), get(pA)));
        f.set(jr, i32(0));
        f.loop((jrLoop) => {
          f.set(nr, min(i32(NR), sub(get(nc), get(jr)))).set(ir, i32(0));
          f.loop((irLoop) => {
            const cTile = add(get(cBase), add(mul(add(get(ic), get(ir)), get(rsC)), mul(add(get(jc), get(jr)), get(csC))));
            f.run(
              call(
                KERNEL,
                get(kc), add(get(pA), bytes(mul(get(ir), get(kc)))), add(get(pB), bytes(mul(get(jr), get(kc)))),
                cTile, get(rsC), get(csC), min(i32(MR), sub(get(mc), get(ir))), get(nr), get(alpha), get(be), get(ld),
              ),
            );
            f.set(ir, add(get(ir), i32(MR)));
            f.brIf(irLoop, lt(get(ir), get(mc)));
          });
          f.set(jr, add(get(jr), i32(NR)));
          f.brIf(jrLoop, lt(get(jr), get(nc)));
        });
        f.set(ic, add(get(ic), i32(MC)));
        f.brIf(icLoop, lt(get(ic), get(M)));
      });
      f.set(pc, add(get(pc), i32(KC)));
      f.brIf(pcLoop, lt(get(pc), get(K)));
    });
    f.set(jc, add(get(jc), i32(NC)));
    f.brIf(jcLoop, lt(get(jc), get(N)));
  });
  return f;
}

/** The module: imports `env.memory`, exports `sgemm`. */
export function sgemmModuleBytes(): Uint8Array {
  const funcs = [emitPack(MR), emitPack(NR), emitKernel(), emitDriver()];
  return encodeModule(funcs, { sgemm: 3 });
}
