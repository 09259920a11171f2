import {
  Expr, F32, Func, I32, V128, add, and, bytes, call, encodeModule, eq, eqz, f32, f32add, f32load, f32mul, f32store,
  get, i32, loadSplat, lt, min, mul, select, shuffle32, splat, sub, v128load, v128store, vadd, vmul,
} from './emitter';
import { vmadd } from './vmath';

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
 * Two variants: mul then add (baseline SIMD), or f32x4.relaxed_madd ({ fma: true }).
 *
 * Speed (benchmarks/src/kernel/sgemm-raw.ts; Node 20, Xeon Ice Lake ~3.4 GHz, 1 thread):
 * the loop is bound by the two SIMD FP ports, so mul+add peaks at 2·4 = 8 flops/cycle
 * (~27 GFLOP/s here) and FMA at 16 (~53); pre-packed B the kernel reaches 27.2 and 52.3 at
 * [32,256]×[256,512], ~97% of either bound. Packing B in the call costs 5–15% at M = 32
 * (B meets only M/MR = 8 tiles): sgemm 25.7 / 47.2 there. Hence packB + sgemmPacked, for a
 * B reused across calls (W_hh over the time steps of a forward). Tried and dropped
 * (measured with the variants interleaved in one process):
 * - reading a row-major B (csB = 1, N % 8 = 0) in place instead of packing it: FMA 45 → 37
 *   at [32,256]×[256,512] (rows 2 KB apart fall in 2 of the 64 L1 sets), mul+add ±4%;
 * - packing two 8-wide panels per pass (one whole 64-byte line of B per step): packB of
 *   [256,512] 12.7 → 14.9 µs;
 * - unrolling p by 2 (on the loop below);
 * - 6×8 / 4×12 tiles (12 accumulators): 12 + 2 + 1 registers leave V8 none to spare. Built
 *   as MR = 6 (2026-12-04, Node 20, AMD EPYC; sgemm-raw.js, pre-packed [32,128]×[128,512]):
 *   FMA 48.6 → 21.1 GFLOP/s, mul+add 42.4 → 22.2 — the accumulators spill. 6 rows would also
 *   waste 12.5% at M = 32.
 *
 * Numerics: products and sums in float32, summed in p order within a KC slice, then
 * C ← alpha·acc + beta·C per slice (later slices beta = 1): the classical K·u bound of a
 * float32 dot product. beta = 0 never reads C. Deterministic: the order of every sum
 * depends only on M, N, K, and sgemm and sgemmPacked give the same bits. The FMA variant
 * rounds once per step instead of twice (where the runtime fuses: V8 on x64 with FMA3),
 * so it differs from mul+add in the last bits (13386 of 16384 elements at
 * [32,256]×[256,512] in the test); it is deterministic too, for a given runtime and CPU.
 */

export const MR = 4;
export const NR = 8;
export const KC = 256;
export const MC = 128; // A block: MC·KC·4 B = 128 KB, stays in L2
export const NC = 1024; // B block: KC·NC·4 B = 1 MB
/** Bytes at the `spill` address (default 0) where the micro-kernel spills an edge tile (MR·NR floats). */
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
 * kernel(kc, a, b, c, rsC, csC, mr, nr, alpha, beta, load, spill): one MR×NR tile from kc rank-1
 * updates of the packed panels at byte addresses a, b; stores the valid mr×nr part to C
 * (element index c) as alpha·acc + beta·C, reading C only when load ≠ 0.
 */
function emitKernel(fma: boolean): Func {
  const f = new Func([I32, I32, I32, I32, I32, I32, I32, I32, F32, F32, I32, I32]);
  const [kc, a, b, c, rsC, csC, mr, nr, alpha, beta, load, spill] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
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

  // kc rank-1 updates, one per iteration. Not unrolled: unrolled by 2 (same locals, offsets
  // 0 and 32/16 bytes), V8 hoists the second step's loads above the first step's arithmetic
  // and runs out of xmm registers; measured 07:24 (Node 20, Xeon Ice Lake), pre-packed
  // [32,256]×[256,512]: FMA 52 → 33 GFLOP/s, mul+add 27.1 → 26.6. Nor is there anything
  // to win: both variants already run at ~96% of their port bound (below, on emitKernel).
  f.set(p, get(kc));
  f.loop((again) => {
    f.set(b0, v128load(get(b))).set(b1, v128load(get(b), 16));
    for (let r = 0; r < MR; r++) {
      f.set(av, loadSplat(get(a), 4 * r));
      for (let h = 0; h < 2; h++) {
        const bh = get(h === 0 ? b0 : b1);
        f.set(acc[r][h], fma ? vmadd(get(av), bh, get(acc[r][h])) : vadd(get(acc[r][h]), vmul(get(av), bh)));
      }
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
        f.run(v128store(get(spill), get(acc[r][0]), 32 * r), v128store(get(spill), get(acc[r][1]), 32 * r + 16));
      }
      f.set(i, i32(0));
      f.loop((rowsLoop) => {
        f.set(j, i32(0)).set(t, add(get(spill), mul(get(i), i32(4 * NR)))).set(addr, add(get(c), mul(get(i), get(rsC))));
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
const SGEMM = 3;
export const PACK_B_ALL = 4;
export const SGEMM_PACKED = 5;

/**
 * The module's functions in index order (their calls name each other by these indices): a
 * module that holds them as its first six functions (./recurrence.ts) can call sgemmPacked and
 * packB directly.
 */
export function sgemmFuncs(fma: boolean): Func[] {
  return [emitPack(MR), emitPack(NR), emitKernel(fma), emitDriver(false), emitPackAll(), emitDriver(true)];
}

/**
 * The loop nest over packed panels. Unpacked (`sgemm`), B[pc:+KC, jc:+NC] is packed into
 * the buffer at pB for each block (M > MC), or panel by panel (M ≤ MC, below); pre-packed (`sgemmPacked`), pB is the whole of B as
 * packB laid it out, slice pc at pB + pc·Np floats (Np = N rounded up to NR), and block jc
 * of that slice at + jc·kc floats (panels are kc·NR floats, in column order).
 *
 *   sgemm(M, N, K, alpha, beta, load, aBase, rsA, csA, bBase, rsB, csB, cBase, rsC, csC, pA, pB, spill)
 *   sgemmPacked(M, N, K, alpha, beta, load, aBase, rsA, csA, pB, cBase, rsC, csC, pA, spill, jOff, np)
 * require M, N, K ≥ 1; pA, pB are 16-byte-aligned byte addresses (pack buffers of MC·KC
 * and KC·NC floats, or less for smaller problems). load = 0 when beta = 0. spill: byte
 * address of SCRATCH_BYTES where edge tiles are spilled (one per thread sharing a
 * memory); a JS caller that leaves it out passes undefined, i.e. 0. sgemmPacked on a
 * column block of a wider packed B (a thread's share): jOff = its first column (a
 * multiple of NR), np = the packed width of the whole B (packedBFloats(K, Nall) / K);
 * both 0 (or left out) for the whole of B: jOff = 0, np = N rounded up to NR.
 */
function emitDriver(prepacked: boolean): Func {
  const f = prepacked
    ? new Func([I32, I32, I32, F32, F32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32])
    : new Func([I32, I32, I32, F32, F32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [M, N, K, alpha, beta, load, aBase, rsA, csA] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [bBase, rsB, csB, cBase, rsC, csC, pA, pB, spill] = prepacked ? [-1, -1, -1, 10, 11, 12, 13, 9, 14] : [9, 10, 11, 12, 13, 14, 15, 16, 17];
  const [jc, nc, pc, kc, ic, mc, jr, nr, ir, ld, bBlock, bPanel, fused, np] = Array.from({ length: 14 }, () => f.local(I32));
  const [jOff, npArg] = [15, 16]; // sgemmPacked only
  if (prepacked) f.set(np, select(get(npArg), and(add(get(N), i32(NR - 1)), i32(-NR)), get(npArg)));
  const be = f.local(F32);
  // M ≤ MC (one A block, the RNN's batch of 32): B is packed one NR panel at a time, just
  // before the A panels meet it, into an 8 KB buffer that stays in L1, instead of a whole
  // KC×NC block written to and read back from L2. Measured (interleaved, best of 40):
  // FMA [32,256]×[256,512] 45 → 47 GFLOP/s, [32,512]×[512,1024] 38 → 41 (ABt 39 → 45);
  // mul+add +2..5%. With several A blocks each panel would be packed once per block.
  if (!prepacked) f.set(fused, lt(get(M), i32(MC + 1)));
  f.loop((jcLoop) => {
    f.set(nc, min(i32(NC), sub(get(N), get(jc)))).set(pc, i32(0));
    f.loop((pcLoop) => {
      f.set(kc, min(i32(KC), sub(get(K), get(pc))));
      if (prepacked) {
        f.set(bBlock, add(get(pB), bytes(add(mul(get(pc), get(np)), mul(add(get(jOff), get(jc)), get(kc))))));
      } else {
        f.if(eqz(get(fused)), () =>
          f.run(call(PACK_B, add(get(bBase), add(mul(get(pc), get(rsB)), mul(get(jc), get(csB)))), get(csB), get(rsB), get(kc), get(nc), get(pB))),
        );
        f.set(bBlock, get(pB));
      }
      // The first K slice applies the caller's beta; later slices add onto it.
      f.set(ld, select(get(load), i32(1), eqz(get(pc)))).set(be, select(get(beta), f32(1), eqz(get(pc))));
      f.set(ic, i32(0));
      f.loop((icLoop) => {
        f.set(mc, min(i32(MC), sub(get(M), get(ic))));
        f.run(call(PACK_A, add(get(aBase), add(mul(get(ic), get(rsA)), mul(get(pc), get(csA)))), get(rsA), get(csA), get(kc), get(mc), get(pA)));
        // jr outside ir: one kc×NR panel of B (8 KB) stays in L1 while it meets every
        // A panel of the block (MC·KC·4 = 128 KB in L2; all of A in L1 when M = 32).
        f.set(jr, i32(0));
        f.loop((jrLoop) => {
          f.set(nr, min(i32(NR), sub(get(nc), get(jr)))).set(ir, i32(0));
          if (prepacked) f.set(bPanel, add(get(bBlock), bytes(mul(get(jr), get(kc)))));
          else {
            f.if(
              get(fused),
              () => {
                f.run(call(PACK_B, add(get(bBase), add(mul(get(pc), get(rsB)), mul(add(get(jc), get(jr)), get(csB)))), get(csB), get(rsB), get(kc), get(nr), get(pB)));
                f.set(bPanel, get(pB));
              },
              () => f.set(bPanel, add(get(bBlock), bytes(mul(get(jr), get(kc))))),
            );
          }
          f.loop((irLoop) => {
            const cTile = add(get(cBase), add(mul(add(get(ic), get(ir)), get(rsC)), mul(add(get(jc), get(jr)), get(csC))));
            f.run(
              call(
                KERNEL,
                get(kc), add(get(pA), bytes(mul(get(ir), get(kc)))), get(bPanel),
                cTile, get(rsC), get(csC), min(i32(MR), sub(get(mc), get(ir))), get(nr), get(alpha), get(be), get(ld), get(spill),
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

/**
 * packB(bBase, rsB, csB, K, N, dst): all of B[K,N] into the layout sgemmPacked reads,
 * K slices of KC in order, each kc × Np floats of NR-wide panels; packedBFloats(K, N)
 * floats at the 16-byte-aligned byte address dst.
 */
function emitPackAll(): Func {
  const f = new Func([I32, I32, I32, I32, I32, I32]);
  const [bBase, rsB, csB, K, N, dst] = [0, 1, 2, 3, 4, 5];
  const pc = f.local(I32);
  const kc = f.local(I32);
  f.loop((pcLoop) => {
    f.set(kc, min(i32(KC), sub(get(K), get(pc))));
    const np = and(add(get(N), i32(NR - 1)), i32(-NR));
    f.run(call(PACK_B, add(get(bBase), mul(get(pc), get(rsB))), get(csB), get(rsB), get(kc), get(N), add(get(dst), bytes(mul(get(pc), np)))));
    f.set(pc, add(get(pc), i32(KC)));
    f.brIf(pcLoop, lt(get(pc), get(K)));
  });
  return f;
}

/** Floats of a pre-packed B[K,N] (packB's output): K rows of N rounded up to NR. */
export function packedBFloats(K: number, N: number): number {
  return K * Math.ceil(N / NR) * NR;
}

export interface SgemmModuleOptions {
  /**
   * Micro-kernel with f32x4.relaxed_madd (needs relaxedSimdSupported()): 1.9× the mul+add
   * kernel. On x64 with FMA3 V8 emits a fused multiply-add (one rounding per step instead
   * of two); the relaxed-SIMD spec lets a runtime pick fused or unfused per platform, so
   * results are deterministic for a given machine and runtime and differ from fma: false
   * in the last bits. Both are within the same K·u error bound.
   */
  fma?: boolean;
  /** Import the memory as shared (maximum 65536 pages): for a `shared: true` WebAssembly.Memory. */
  shared?: boolean;
}

/**
 * The module: imports `env.memory`; exports `sgemm`, `packB`, `sgemmPacked` (signatures on
 * emitDriver and emitPackAll).
 */
export function sgemmModuleBytes(opts: SgemmModuleOptions = {}): Uint8Array {
  const funcs = sgemmFuncs(opts.fma === true);
  // Shared: maximum 65536 pages (4 GiB), so that any shared memory matches the import
  // (import matching asks the memory's maximum to be ≤ the declared one).
  return encodeModule(funcs, { sgemm: SGEMM, packB: PACK_B_ALL, sgemmPacked: SGEMM_PACKED }, 1, { shared: opts.shared === true, maxPages: 65536 });
}

let relaxed: boolean | undefined;
/** Whether this runtime validates f32x4.relaxed_madd (Node 20: only with --experimental-wasm-relaxed-simd). */
export function relaxedSimdSupported(): boolean {
  if (relaxed === undefined) {
    const api = (globalThis as { WebAssembly?: { validate(b: Uint8Array): boolean } }).WebAssembly;
    const v = splat(f32(0));
    try {
      relaxed = api !== undefined && api.validate(encodeModule([new Func([], [V128]).run(vmadd(v, v, v))], {}));
    } catch {
      relaxed = false;
    }
  }
  return relaxed;
}
