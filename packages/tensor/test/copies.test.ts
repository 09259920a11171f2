import { Tensor, tensor } from '@unfold/tensor';

/**
 * Two copies of the package in one program (npm nesting; CJS + ESM): `instanceof Tensor`
 * accepts the other copy's tensors, ids never collide, the second copy warns once.
 */
test('a second copy of @unfold/tensor interoperates and announces itself once', () => {
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  let other: typeof import('@unfold/tensor') | undefined;
  jest.isolateModules(() => {
    other = require('../src/index') as typeof import('@unfold/tensor'); // eslint-disable-line @typescript-eslint/no-require-imports
  });
  try {
    const o = other as typeof import('@unfold/tensor');
    expect(o.Tensor).not.toBe(Tensor); // really another copy
    const a = tensor([1, 2, 3]);
    const b = o.tensor([4, 5, 6]);
    expect(b instanceof Tensor).toBe(true);
    expect(a instanceof o.Tensor).toBe(true);
    expect(b.id).not.toBe(a.id);
    expect(new Set([a.id, b.id, tensor([0]).id, o.tensor([0]).id]).size).toBe(4);
    expect(warn.mock.calls.filter((c) => /second copy of the package/.test(String(c[0]))).length).toBe(1);
    // Not everything is a Tensor: plain objects and look-alikes are still refused.
    expect(({ shape: [3], data: new Float32Array(3) } as unknown) instanceof Tensor).toBe(false);
    expect((null as unknown) instanceof Tensor).toBe(false);
  } finally {
    warn.mockRestore();
  }
});
