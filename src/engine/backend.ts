// The Backend interface: a kernel table plus the memory those kernels can address. Backends are
// plain values created by a factory and passed to an Engine explicitly (there is no registry).
// `ref` allocates ordinary ArrayBuffers; `wasm` hands out regions of one shared WebAssembly.Memory.
// A kernel given an operand outside `memory` that it cannot address throws KernelMemoryError.

import type { AnyArray, DType } from './dtype.js';
import type { KernelName, Kernels } from './kernels.js';
import type { Memory, MemoryRegion } from './memory.js';

export type { MemoryRegion } from './memory.js';

export interface Backend {
  readonly name: string;
  readonly kernels: Kernels;
  /** Threads kernels may use (1 for ref). */
  readonly threads: number;
  /** Kernels with a backend-specific implementation; the rest are the ref kernels over its memory. */
  readonly native: ReadonlySet<KernelName>;
  /** Human-readable facts for benchmarks and `inspect` (e.g. "relaxed-simd, 2 threads"). */
  readonly description: string;
  /** The memory the kernels address; reserve/unreserve/reservedBytes below are its methods. */
  readonly memory: Memory;
  /**
   * Reserves a region of at least `bytes` bytes, 64-byte aligned: zero-filled, or with unspecified
   * contents when `zero` is false (for callers that overwrite all of it). Same as memory.reserve.
   */
  reserve(bytes: number, zero?: boolean): MemoryRegion;
  /** Returns a region obtained from reserve(). */
  unreserve(region: MemoryRegion): void;
  /** Total bytes currently reserved. */
  reservedBytes(): number;
  /**
   * Optional storage override: how many bytes an element of a dtype takes and how to view it.
   * Only the float64 test oracle uses it (f32 tensors stored as Float64Array so the ref kernels run
   * in double precision for finite-difference checks); real backends leave it undefined.
   */
  readonly storage?: {
    bytes(dtype: DType): number;
    make(dtype: DType, buffer: ArrayBufferLike, byteOffset: number, length: number): AnyArray;
  };
  /** Stops worker threads and releases memory. The backend is unusable afterwards. */
  dispose(): Promise<void>;
}
