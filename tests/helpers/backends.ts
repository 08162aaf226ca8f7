// Backends under test: the float64 oracle (ref kernels over Float64Array storage), ref, and wasm.
// The oracle is a test-only device: identical ref kernels, but every "f32" tensor is stored as
// float64, so finite differences and reference values are computed in double precision.

import { createRefBackend } from '../../src/engine/backends/ref/index.js';
import { createWasmBackend } from '../../src/engine/backends/wasm/backend.node.js';
import type { Backend } from '../../src/engine/backend.js';
import { TYPE_TRAITS, bytesFor, type AnyArray, type DType } from '../../src/engine/dtype.js';

export function createRef64Backend(): Backend {
  const ref = createRefBackend();
  return {
    name: 'ref64',
    kernels: ref.kernels,
    threads: 1,
    native: ref.native,
    description: 'ref kernels over float64 storage (test oracle)',
    memory: ref.memory,
    reserve: (b) => ref.reserve(b),
    unreserve: (r) => ref.unreserve(r),
    reservedBytes: () => ref.reservedBytes(),
    storage: {
      bytes: (d: DType) => (d === 'f32' ? 8 : bytesFor(d, 1)),
      make: (d: DType, buf: ArrayBufferLike, off: number, n: number): AnyArray =>
        d === 'f32' ? (new Float64Array(buf, off, n) as unknown as Float32Array) : TYPE_TRAITS[d].view(buf, off, n),
    },
    dispose: () => ref.dispose(),
  };
}

export interface NamedBackend {
  name: string;
  backend: Backend;
}

/** ref and wasm (2 threads), created once per test file. */
export async function backendsUnderTest(): Promise<NamedBackend[]> {
  const wasm = await createWasmBackend({ threads: 2 });
  return [
    { name: 'ref', backend: createRefBackend() },
    { name: `wasm(${wasm.description})`, backend: wasm },
  ];
}
