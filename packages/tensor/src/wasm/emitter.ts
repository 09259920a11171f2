/**
 * A small WebAssembly binary emitter: just enough of the format to write the sgemm module
 * by hand in TypeScript, so that nothing but bytes we generate is ever instantiated.
 *
 * Format (core spec §5, SIMD proposal "BinarySIMD.md"):
 *   module   = magic "\0asm" · version 1 · sections, each id · u32 size · payload
 *   integers = LEB128 (unsigned for sizes/indices, signed for i32.const)
 *   SIMD op  = 0xFD prefix · u32 LEB128 opcode · immediates (memarg = align log2, offset)
 *
 * Code is written as expression trees: an `Expr` emits its operands, then its opcode,
 * so `add(get(x), i32(4))` reads as the WAT `(i32.add (local.get $x) (i32.const 4))`.
 */

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;
export const F64 = 0x7c;
export type ValType = typeof I32 | typeof F32 | typeof V128 | typeof F64;

export function uleb(n: number, out: number[]): void {
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
}

export function sleb(n: number, out: number[]): void {
  n |= 0; // i32
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return;
  }
}

const f32Scratch = new Float32Array(1);
const f32Bytes = new Uint8Array(f32Scratch.buffer);

/** Core opcodes used here (one byte each). */
export const OP = {
  block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d, call: 0x10,
  select: 0x1b, localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Load: 0x28, f32Load: 0x2a, i32Store: 0x36, f32Store: 0x38, i32Const: 0x41, f32Const: 0x43,
  i32Eqz: 0x45, i32Eq: 0x46, i32Ne: 0x47, i32LtS: 0x48, i32GtS: 0x4a,
  i32Add: 0x6a, i32Sub: 0x6b, i32Mul: 0x6c, i32And: 0x71, i32Shl: 0x74,
  f32Add: 0x92, f32Mul: 0x94,
} as const;

/** SIMD opcodes (after the 0xFD prefix). */
export const SIMD = {
  v128Load: 0x00, load32Splat: 0x09, v128Store: 0x0b, i8x16Shuffle: 0x0d, f32x4Splat: 0x13,
  f32x4Add: 0xe4, f32x4Mul: 0xe6,
} as const;

const BLOCK_VOID = 0x40;

/** A structured-control label; `br` computes its relative depth from where it is used. */
export interface Label {
  readonly depth: number;
}

/** An expression emits code that leaves (at most) one value on the stack. */
export type Expr = (f: Func) => void;

export class Func {
  readonly body: number[] = [];
  private readonly locals: ValType[] = [];
  private depth = 0;
  /** Code run once on entry, before the body: the locals `constant` sets. */
  private readonly prologue: number[] = [];
  private readonly constants = new Map<string, number>();

  constructor(
    readonly params: readonly ValType[],
    readonly results: readonly ValType[] = [],
  ) {}

  /** Declares a local; returns its index (after the parameters). */
  local(type: ValType): number {
    this.locals.push(type);
    return this.params.length + this.locals.length - 1;
  }

  /**
   * A local holding `value` (an expression of constants only, e.g. a v128.const), set once on
   * entry: emitted in a loop, `get` of it is a register or a stack reload, where V8 (x64)
   * rematerializes a v128.const at every use with several instructions. Same key, same local.
   */
  constant(key: string, type: ValType, value: Expr): number {
    const have = this.constants.get(key);
    if (have !== undefined) return have;
    const local = this.local(type);
    const start = this.body.length;
    value(this);
    this.body.push(OP.localSet);
    uleb(local, this.body);
    this.prologue.push(...this.body.splice(start));
    this.constants.set(key, local);
    return local;
  }

  byte(...bs: number[]): this {
    for (const b of bs) this.body.push(b);
    return this;
  }

  /** Emits each expression for its effect (statements, or values left for the next op). */
  run(...es: Expr[]): this {
    for (const e of es) e(this);
    return this;
  }

  set(local: number, value: Expr): this {
    value(this);
    this.body.push(OP.localSet);
    uleb(local, this.body);
    return this;
  }

  block(body: (l: Label) => void): this {
    return this.structured(OP.block, body);
  }

  /** `br` to a loop label jumps back to its start. */
  loop(body: (l: Label) => void): this {
    return this.structured(OP.loop, body);
  }

  if(cond: Expr, then: () => void, otherwise?: () => void): this {
    cond(this);
    this.body.push(OP.if, BLOCK_VOID);
    this.depth++;
    then();
    if (otherwise) {
      this.body.push(OP.else);
      otherwise();
    }
    this.depth--;
    this.body.push(OP.end);
    return this;
  }

  br(l: Label): this {
    this.body.push(OP.br);
    uleb(this.depth - l.depth, this.body);
    return this;
  }

  brIf(l: Label, cond: Expr): this {
    cond(this);
    this.body.push(OP.brIf);
    uleb(this.depth - l.depth, this.body);
    return this;
  }

  /** Locals declaration + body + `end`, as a code-section entry (without its size). */
  encode(): number[] {
    const out: number[] = [];
    uleb(this.locals.length, out); // one (count = 1, type) group per local: simple and still tiny
    for (const t of this.locals) out.push(1, t);
    out.push(...this.prologue, ...this.body, OP.end);
    return out;
  }

  private structured(op: number, body: (l: Label) => void): this {
    this.body.push(op, BLOCK_VOID);
    this.depth++;
    body({ depth: this.depth });
    this.depth--;
    this.body.push(OP.end);
    return this;
  }
}

// ---- expressions -------------------------------------------------------------------

/** Any one-byte opcode over its operands (emitted first, in order). */
export const withOp = (op: number, ...args: Expr[]): Expr => (f) => {
  for (const a of args) a(f);
  f.body.push(op);
};
/** Any SIMD opcode (0xFD prefix, LEB128 opcode, then its immediates) over its operands. */
export const withSimd = (op: number, imm: readonly number[], ...args: Expr[]): Expr => (f) => {
  for (const a of args) a(f);
  f.body.push(0xfd);
  uleb(op, f.body);
  f.body.push(...imm);
};
/** memarg: alignment as log2 bytes (a hint; smaller than natural is always valid), offset. */
const memarg = (alignLog2: number, offset: number): number[] => {
  const out = [alignLog2];
  uleb(offset, out);
  return out;
};

export const get = (l: number): Expr => (f) => {
  f.body.push(OP.localGet);
  uleb(l, f.body);
};
export const i32 = (n: number): Expr => (f) => {
  f.body.push(OP.i32Const);
  sleb(n, f.body);
};
export const f32 = (x: number): Expr => (f) => {
  f32Scratch[0] = x;
  f.body.push(OP.f32Const, ...f32Bytes);
};
export const add = (a: Expr, b: Expr): Expr => withOp(OP.i32Add, a, b);
export const sub = (a: Expr, b: Expr): Expr => withOp(OP.i32Sub, a, b);
export const mul = (a: Expr, b: Expr): Expr => withOp(OP.i32Mul, a, b);
export const and = (a: Expr, b: Expr): Expr => withOp(OP.i32And, a, b);
export const shl = (a: Expr, b: Expr): Expr => withOp(OP.i32Shl, a, b);
export const eq = (a: Expr, b: Expr): Expr => withOp(OP.i32Eq, a, b);
export const lt = (a: Expr, b: Expr): Expr => withOp(OP.i32LtS, a, b);
export const eqz = (a: Expr): Expr => withOp(OP.i32Eqz, a);
/** select(a, b, cond) = cond ? a : b; both sides are evaluated. */
export const select = (a: Expr, b: Expr, cond: Expr): Expr => withOp(OP.select, a, b, cond);
export const min = (a: Expr, b: Expr): Expr => select(a, b, lt(a, b));
/** Element index → byte address (×4). */
export const bytes = (elems: Expr): Expr => shl(elems, i32(2));
export const call = (fn: number, ...args: Expr[]): Expr => (f) => {
  for (const a of args) a(f);
  f.body.push(OP.call);
  uleb(fn, f.body);
};

export const f32add = (a: Expr, b: Expr): Expr => withOp(OP.f32Add, a, b);
export const f32mul = (a: Expr, b: Expr): Expr => withOp(OP.f32Mul, a, b);
export const i32load = (addr: Expr, offset = 0): Expr => (f) => {
  addr(f);
  f.body.push(OP.i32Load, ...memarg(2, offset));
};
export const i32store = (addr: Expr, v: Expr, offset = 0): Expr => (f) => {
  addr(f);
  v(f);
  f.body.push(OP.i32Store, ...memarg(2, offset));
};
/** memory.copy (bulk memory, 0xFC 10): n bytes from src to dst, overlapping allowed. */
export const memcopy = (dst: Expr, src: Expr, n: Expr): Expr => (f) => {
  dst(f);
  src(f);
  n(f);
  f.body.push(0xfc, 10, 0, 0);
};
/** memory.fill (bulk memory, 0xFC 11): n bytes at dst set to the byte value v. */
export const memfill = (dst: Expr, v: Expr, n: Expr): Expr => (f) => {
  dst(f);
  v(f);
  n(f);
  f.body.push(0xfc, 11, 0);
};
export const f32load = (addr: Expr, offset = 0): Expr => (f) => {
  addr(f);
  f.body.push(OP.f32Load, ...memarg(2, offset));
};
export const f32store = (addr: Expr, v: Expr, offset = 0): Expr => (f) => {
  addr(f);
  v(f);
  f.body.push(OP.f32Store, ...memarg(2, offset));
};

/** v128 loads/stores take an alignment hint: 4 (natural for packed panels) or 2 (any f32). */
export const v128load = (addr: Expr, offset = 0, alignLog2 = 4): Expr => withSimd(SIMD.v128Load, memarg(alignLog2, offset), addr);
export const v128store = (addr: Expr, v: Expr, offset = 0, alignLog2 = 4): Expr => withSimd(SIMD.v128Store, memarg(alignLog2, offset), addr, v);
/** One f32 from memory broadcast to all four lanes. */
export const loadSplat = (addr: Expr, offset = 0): Expr => withSimd(SIMD.load32Splat, memarg(2, offset), addr);
export const splat = (x: Expr): Expr => withSimd(SIMD.f32x4Splat, [], x);
/** f32 lanes of (a, b) numbered 0..3 and 4..7, picked into a new vector (i8x16.shuffle). */
export const shuffle32 = (a: Expr, b: Expr, lanes: readonly [number, number, number, number]): Expr =>
  withSimd(SIMD.i8x16Shuffle, lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]), a, b);
export const vadd = (a: Expr, b: Expr): Expr => withSimd(SIMD.f32x4Add, [], a, b);
export const vmul = (a: Expr, b: Expr): Expr => withSimd(SIMD.f32x4Mul, [], a, b);

// ---- module ------------------------------------------------------------------------

function section(id: number, payload: number[], out: number[]): void {
  out.push(id);
  uleb(payload.length, out);
  out.push(...payload);
}

/** Names here are ASCII identifiers, so UTF-8 is one byte per character. */
function name(s: string, out: number[]): void {
  uleb(s.length, out);
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
}

/**
 * How the module declares its imported memory. A shared memory (the arena of ./arena.ts,
 * which worker threads map too) must be imported as shared with the same maximum.
 */
export interface MemoryImport {
  shared: boolean;
  /** Maximum in 64 KiB pages; required when shared. */
  maxPages?: number;
}

/**
 * A module of functions over one imported memory `env.memory` (the caller owns and grows it).
 * Function i of `funcs` has index i; `exports` maps export names to those indices.
 */
export function encodeModule(
  funcs: readonly Func[], exports: Readonly<Record<string, number>>, minPages = 1, mem: MemoryImport = { shared: false },
): Uint8Array {
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

  const types: number[] = [];
  uleb(funcs.length, types); // one type per function: duplicates are allowed
  for (const f of funcs) {
    types.push(0x60);
    uleb(f.params.length, types);
    types.push(...f.params);
    uleb(f.results.length, types);
    types.push(...f.results);
  }
  section(1, types, out);

  const imports: number[] = [1];
  name('env', imports);
  name('memory', imports);
  if (mem.shared) {
    if (mem.maxPages === undefined) throw new Error('encodeModule: a shared memory import needs maxPages');
    imports.push(0x02, 0x03); // memory, limits flag 3 = shared with a maximum (threads proposal)
    uleb(minPages, imports);
    uleb(mem.maxPages, imports);
  } else {
    imports.push(0x02, 0x00); // memory, limits without a maximum
    uleb(minPages, imports);
  }
  section(2, imports, out);

  const fnSec: number[] = [];
  uleb(funcs.length, fnSec);
  funcs.forEach((_, i) => uleb(i, fnSec));
  section(3, fnSec, out);

  const names = Object.keys(exports);
  const exp: number[] = [];
  uleb(names.length, exp);
  for (const n of names) {
    name(n, exp);
    exp.push(0x00);
    uleb(exports[n], exp);
  }
  section(7, exp, out);

  const code: number[] = [];
  uleb(funcs.length, code);
  for (const f of funcs) {
    const body = f.encode();
    uleb(body.length, code);
    code.push(...body);
  }
  section(10, code, out);
  return Uint8Array.from(out);
}
