/**
 * The few ONNX protobuf messages an exported model needs, encoded by hand over the field
 * numbers of onnx/onnx.proto (proto2), writing only — about a hundred lines instead of a
 * protobuf runtime plus a generated or reflected onnx.proto in the library's bundle. The
 * output is checked by two independent decoders: ONNX Runtime (jest) and python3-onnx's
 * checker (scripts/interop/onnx_check.py).
 *
 * Wire format: each field is a key varint (field << 3 | wire type) then its value — varint (0),
 * 64-bit (1), length-delimited bytes / string / sub-message (2), or 32-bit (5). Repeated
 * scalars are written unpacked, one key per element (proto2's default; parsers accept both).
 */

class Writer {
  private chunks: Uint8Array[] = [];
  private scratch: number[] = [];
  length = 0;

  private flush(): void {
    if (this.scratch.length) {
      this.chunks.push(Uint8Array.from(this.scratch));
      this.length += this.scratch.length;
      this.scratch = [];
    }
  }

  /** Unsigned varint of a non-negative safe integer, or a negative int64 as its 10-byte two's complement. */
  varint(v: number | bigint): this {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.scratch.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.scratch.push(Number(x));
    return this;
  }

  key(field: number, wire: 0 | 1 | 2 | 5): this {
    return this.varint(field * 8 + wire);
  }

  bytes(field: number, b: Uint8Array): this {
    this.key(field, 2).varint(b.length);
    this.flush();
    this.chunks.push(b);
    this.length += b.length;
    return this;
  }

  /** Raw bytes with no length prefix (the 4 bytes of a fixed32 value). */
  fixed(b: Uint8Array): this {
    for (const x of b) this.scratch.push(x);
    return this;
  }

  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A message: a list of fields written in order. */
export type Field =
  | { f: number; int: number | bigint } // varint (int32, int64, enum, bool)
  | { f: number; str: string }
  | { f: number; raw: Uint8Array }
  | { f: number; msg: Field[] }
  | { f: number; float: number }; // fixed 32-bit

export function encode(fields: Field[]): Uint8Array {
  const w = new Writer();
  for (const x of fields) {
    if ('int' in x) w.key(x.f, 0).varint(x.int);
    else if ('str' in x) w.bytes(x.f, utf8(x.str));
    else if ('raw' in x) w.bytes(x.f, x.raw);
    else if ('msg' in x) w.bytes(x.f, encode(x.msg));
    else {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setFloat32(0, x.float, true);
      w.key(x.f, 5).fixed(b);
    }
  }
  return w.finish();
}

// ---- onnx.proto messages (field numbers in the comments' order) ----

/** TensorProto.DataType */
export const ONNX_FLOAT = 1;
export const ONNX_INT32 = 6;
export const ONNX_INT64 = 7;

/** TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9 (little-endian values). */
export function tensorProto(name: string, dims: readonly number[], dataType: number, raw: Uint8Array): Field[] {
  return [...dims.map((d) => ({ f: 1, int: d })), { f: 2, int: dataType }, { f: 8, str: name }, { f: 9, raw }];
}

/** ValueInfoProto name = 1, type = 2 → TypeProto.tensor_type = 1 → { elem_type = 1, shape = 2 → dim = 1 → { dim_value = 1 | dim_param = 2 } }. */
export function valueInfo(name: string, elemType: number, dims: readonly (number | string)[]): Field[] {
  const dim = dims.map((d) => ({ f: 1, msg: [typeof d === 'number' ? { f: 1, int: d } : { f: 2, str: d }] }));
  return [{ f: 1, str: name }, { f: 2, msg: [{ f: 1, msg: [{ f: 1, int: elemType }, { f: 2, msg: dim }] }] }];
}

export type AttrValue = number | string | number[] | string[] | { floats: number[] } | { float: number } | { tensor: Field[] };

/**
 * AttributeProto: name = 1, type = 20 (FLOAT 1, INT 2, STRING 3, TENSOR 4, FLOATS 6, INTS 7,
 * STRINGS 8), f = 2, i = 3, s = 4, t = 5, floats = 7, ints = 8, strings = 9. Plain numbers are
 * INT (integers only), arrays of numbers INTS.
 */
export function attribute(name: string, v: AttrValue): Field[] {
  const head: Field = { f: 1, str: name };
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}: ${v} is not an integer (use { float })`);
    return [head, { f: 20, int: 2 }, { f: 3, int: v }];
  }
  if (typeof v === 'string') return [head, { f: 20, int: 3 }, { f: 4, str: v }];
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) return [head, { f: 20, int: 8 }, ...(v as string[]).map((s) => ({ f: 9, str: s }))];
    return [head, { f: 20, int: 7 }, ...(v as number[]).map((i) => ({ f: 8, int: i }))];
  }
  if ('float' in v) return [head, { f: 20, int: 1 }, { f: 2, float: v.float }];
  if ('floats' in v) return [head, { f: 20, int: 6 }, ...v.floats.map((x) => ({ f: 7, float: x }))];
  return [head, { f: 20, int: 4 }, { f: 5, msg: v.tensor }];
}

/** NodeProto: input = 1, output = 2, name = 3, op_type = 4, attribute = 5. */
export function nodeProto(op: string, inputs: readonly string[], outputs: readonly string[], name: string, attrs: Record<string, AttrValue>): Field[] {
  return [
    ...inputs.map((s) => ({ f: 1, str: s })),
    ...outputs.map((s) => ({ f: 2, str: s })),
    { f: 3, str: name },
    { f: 4, str: op },
    ...Object.entries(attrs).map(([k, v]) => ({ f: 5, msg: attribute(k, v) })),
  ];
}

/** GraphProto: node = 1, name = 2, initializer = 5, doc_string = 10, input = 11, output = 12. */
export function graphProto(g: { name: string; nodes: Field[][]; initializers: Field[][]; inputs: Field[][]; outputs: Field[][]; doc?: string }): Field[] {
  return [
    ...g.nodes.map((n) => ({ f: 1, msg: n })),
    { f: 2, str: g.name },
    ...g.initializers.map((t) => ({ f: 5, msg: t })),
    ...(g.doc ? [{ f: 10, str: g.doc }] : []),
    ...g.inputs.map((v) => ({ f: 11, msg: v })),
    ...g.outputs.map((v) => ({ f: 12, msg: v })),
  ];
}

/**
 * ModelProto: ir_version = 1, producer_name = 2, producer_version = 3, doc_string = 6,
 * graph = 7, opset_import = 8 → OperatorSetIdProto { domain = 1, version = 2 },
 * metadata_props = 14 → StringStringEntryProto { key = 1, value = 2 }.
 */
export function modelProto(m: { irVersion: number; opset: number; producer: string; producerVersion: string; doc?: string; graph: Field[]; metadata?: Record<string, string> }): Uint8Array {
  return encode([
    { f: 1, int: m.irVersion },
    { f: 2, str: m.producer },
    { f: 3, str: m.producerVersion },
    ...(m.doc ? [{ f: 6, str: m.doc }] : []),
    { f: 7, msg: m.graph },
    { f: 8, msg: [{ f: 1, str: '' }, { f: 2, int: m.opset }] },
    ...Object.entries(m.metadata ?? {}).map(([k, v]) => ({ f: 14, msg: [{ f: 1, str: k }, { f: 2, str: v }] })),
  ]);
}
