import { Tensor, TensorError } from '@unfold/tensor';
import { AttrValue, Field, ONNX_FLOAT, ONNX_INT64, graphProto, modelProto, nodeProto, tensorProto, valueInfo } from './proto';

/** The opsets the exporter writes (every op it uses has kept its semantics over this range). */
export const ONNX_OPSETS = { min: 14, max: 21, default: 17 } as const;

/** IR version that goes with an opset (onnx/onnx docs/Versioning.md). */
function irVersionFor(opset: number): number {
  return opset <= 14 ? 7 : opset <= 18 ? 8 : opset <= 20 ? 9 : 10;
}

/**
 * A graph under construction: named inputs, outputs, float32 initializers and nodes in
 * topological order (the order they are added). Node outputs get unique names from `fresh`.
 */
export class OnnxGraph {
  private nodes: Field[][] = [];
  private inits: Field[][] = [];
  private inputs: Field[][] = [];
  private outputs: Field[][] = [];
  private names = new Set<string>();
  private counter = 0;

  constructor(readonly name: string) {}

  private claim(name: string): string {
    if (this.names.has(name)) throw new TensorError('exportOnnx', `duplicate value name '${name}'`);
    this.names.add(name);
    return name;
  }

  fresh(hint: string): string {
    let n: string;
    do n = `${hint}_${this.counter++}`;
    while (this.names.has(n));
    return this.claim(n);
  }

  input(name: string, elemType: number, dims: (number | string)[]): string {
    this.inputs.push(valueInfo(this.claim(name), elemType, dims));
    return name;
  }

  output(name: string, elemType: number, dims: (number | string)[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** A float32 initializer from a tensor (any dtype, any strides: row-major copy). */
  weight(name: string, t: Tensor | { shape: readonly number[]; data: Float32Array }): string {
    const data = t instanceof Tensor ? Float32Array.from(t.toTypedArray()) : t.data;
    this.inits.push(tensorProto(this.claim(name), t.shape, ONNX_FLOAT, leBytes(data)));
    return name;
  }

  /** An int64 constant initializer (shapes, axes, slice bounds). */
  ints(hint: string, values: number[]): string {
    const b = new Uint8Array(values.length * 8);
    const dv = new DataView(b.buffer);
    values.forEach((v, i) => dv.setBigInt64(i * 8, BigInt(v), true));
    const name = this.fresh(hint);
    this.inits.push(tensorProto(name, [values.length], ONNX_INT64, b));
    return name;
  }

  /** Adds a node; `outputs` are names (already claimed or new) or a count of fresh ones. Returns the output names. */
  node(op: string, inputs: string[], outputs: string[] | number, attrs: Record<string, AttrValue> = {}): string[] {
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(op.toLowerCase())) : outputs.map((o) => (this.names.has(o) ? o : this.claim(o)));
    this.nodes.push(nodeProto(op, inputs, outs, `${op}_${this.nodes.length}`, attrs));
    return outs;
  }

  /** One-output node. */
  op(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, out?: string): string {
    return this.node(op, inputs, out ? [out] : 1, attrs)[0];
  }

  toModel(o: { opset?: number; doc?: string; metadata?: Record<string, string> } = {}): Uint8Array {
    const opset = o.opset ?? ONNX_OPSETS.default;
    if (!Number.isInteger(opset) || opset < ONNX_OPSETS.min || opset > ONNX_OPSETS.max) {
      throw new TensorError('exportOnnx', `opset must be an integer in [${ONNX_OPSETS.min}, ${ONNX_OPSETS.max}], got ${opset}`);
    }
    const graph = graphProto({ name: this.name, nodes: this.nodes, initializers: this.inits, inputs: this.inputs, outputs: this.outputs, doc: o.doc });
    return modelProto({ irVersion: irVersionFor(opset), opset, producer: 'unfold', producerVersion: '0.1.0', graph, metadata: o.metadata });
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function leBytes(a: Float32Array): Uint8Array {
  const b = new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();
  if (!LITTLE_ENDIAN) for (let i = 0; i < b.length; i += 4) b.subarray(i, i + 4).reverse();
  return b;
}
