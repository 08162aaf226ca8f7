// What every native (wasm) kernel wrapper shares: the context (pool, heap, ref kernels for explicit
// shape- or dtype-based routes), the check that every operand lives in the backend's memory (else a
// KernelMemoryError naming kernel and memory: never a silent slow path), the byte address of an
// optional array, and the sizes below which a job stays on the main thread. No kernels here.

import type { AnyArray } from '../../../dtype.js';
import { KernelMemoryError, memoryName } from '../../../memory.js';
import type { Kernels } from '../../../kernels.js';
import type { SharedHeap } from '../memory.js';
import type { ThreadPool } from '../pool.js';

/** What native kernels need: the pool that runs exports, the heap that owns arrays, the ref kernels. */
export interface NativeContext {
  readonly pool: ThreadPool;
  readonly heap: SharedHeap;
  readonly ref: Kernels;
}

/**
 * Dynamic scheduling (chunks per thread) for kernels whose ranges are independent: the two vCPUs of
 * this machine often run at different speeds when both are busy (measured: one core ~40% slower),
 * so fixed halves leave the fast core idle. GEMM uses fewer chunks (matmul.ts: each re-packs panels).
 */
export const DYNAMIC_STREAM = 8;

/** Elementwise jobs smaller than this run on the main thread only (wake-up would dominate). */
export const PAR_ELEMS = 32768;

/** Throws KernelMemoryError unless every non-null array is a view inside the backend's memory. */
export function requireHeap(ctx: NativeContext, kernel: string, ...arrays: (AnyArray | null)[]): void {
  for (const a of arrays) {
    if (a !== null && !ctx.heap.owns(a.buffer)) throw new KernelMemoryError(kernel, 'wasm', memoryName(a.buffer));
  }
}

/** Byte address of an optional array (0 = absent, as the kernels read it). */
export const ptr = (a: AnyArray | null): number => (a === null ? 0 : a.byteOffset);

/** Row kernels run threaded when there is more than one row and half the elementwise work. */
export const par = (rows: number, dim: number): boolean => rows > 1 && rows * dim >= PAR_ELEMS / 2;
