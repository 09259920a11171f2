import { DType, TypedArray, allocArray } from '@unfold/tensor';

// The format is little-endian. On a little-endian host (x86, ARM as JS engines run it) the
// typed array's bytes are the file's bytes; elsewhere each element goes through a DataView.
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Writes `a`'s elements little-endian into `out` at byteOffset. */
export function writeLE(a: TypedArray, out: Uint8Array, byteOffset: number): void {
  if (LITTLE) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), byteOffset);
    return;
  }
  const view = new DataView(out.buffer, out.byteOffset + byteOffset, a.byteLength);
  if (a instanceof Float64Array) for (let i = 0; i < a.length; i++) view.setFloat64(8 * i, a[i], true);
  else for (let i = 0; i < a.length; i++) view.setFloat32(4 * i, a[i], true);
}

/** A fresh typed array of `length` elements decoded from `src` at byteOffset. */
export function readLE(dtype: DType, length: number, src: Uint8Array, byteOffset: number): TypedArray {
  const a = allocArray(dtype, length);
  if (LITTLE) {
    new Uint8Array(a.buffer).set(src.subarray(byteOffset, byteOffset + a.byteLength));
    return a;
  }
  const view = new DataView(src.buffer, src.byteOffset + byteOffset, a.byteLength);
  if (a instanceof Float64Array) for (let i = 0; i < length; i++) a[i] = view.getFloat64(8 * i, true);
  else for (let i = 0; i < length; i++) a[i] = view.getFloat32(4 * i, true);
  return a;
}
