// The ref backend: every kernel of the `Kernels` contract in plain TypeScript (the readable spec the
// wasm backend is tested against and falls back to), over ordinary ArrayBuffers, single-threaded.
// This file only assembles the kernel table and the memory bookkeeping; the math is in one file per
// kernel family (KERNEL_FAMILY in kernels.ts).
// The kernels only index their arrays, so they also run over Float64Array storage (the float64 oracle).

import type { Backend } from '../../backend.js';
import { HostMemory, type MemoryRegion } from '../../memory.js';
import type { KernelName, Kernels } from '../../kernels.js';
import { attentionKernels } from './attention.js';
import { convKernels } from './conv.js';
import { elementwiseKernels } from './elementwise.js';
import { lossKernels } from './loss.js';
import { matmulKernels } from './matmul.js';
import { movementKernels } from './movement.js';
import { normKernels } from './norm.js';
import { optimKernels } from './optim.js';

export { dropoutUniform } from './loss.js';

/**
 * The reference kernel table, one object per family file (each typed as that family's slice of
 * `Kernels`); typed as `Kernels`, so a missing kernel is a compile error.
 */
export const refKernels: Kernels = {
  ...matmulKernels,
  ...elementwiseKernels,
  ...movementKernels,
  ...normKernels,
  ...attentionKernels,
  ...convKernels,
  ...lossKernels,
  ...optimKernels,
};

/** A ref backend: one thread, every kernel native, each reserve() a fresh zero-filled ArrayBuffer. */
export function createRefBackend(): Backend {
  const memory = new HostMemory('ref');
  return {
    name: 'ref',
    kernels: refKernels,
    threads: 1,
    native: new Set(Object.keys(refKernels) as KernelName[]),
    description: 'plain TypeScript reference kernels, 1 thread',
    memory,
    reserve(bytes: number): MemoryRegion {
      return memory.reserve(bytes);
    },
    unreserve(region: MemoryRegion): void {
      // Unknown or already returned regions are ignored, so a double unreserve cannot skew the count.
      memory.unreserve(region);
    },
    reservedBytes(): number {
      return memory.reservedBytes();
    },
    async dispose(): Promise<void> {},
  };
}
