// The ref backend: every kernel of the `Kernels` contract in plain TypeScript (the readable spec the
// wasm backend is tested against and falls back to), over ordinary ArrayBuffers, single-threaded.
// This file only assembles the kernel table and the memory bookkeeping; the math is in the siblings.
// The kernels only index their arrays, so they also run over Float64Array storage (the float64 oracle).

import type { Backend } from '../../backend.js';
import { HostMemory, type MemoryRegion } from '../../memory.js';
import type { KernelName, Kernels } from '../../kernels.js';
import { attention, attentionBackward, rope, softmax, softmaxBackward } from './attention.js';
import { conv2d, conv2dBackward, upsampleNearest, upsampleNearestBackward } from './conv.js';
import { affine, binary, cast, fill, unary, unaryBackward } from './elementwise.js';
import { adamw, crossEntropy, crossEntropyBackward, dropout, sumSquares, swiglu, swigluBackward } from './loss.js';
import { gemm } from './matmul.js';
import { broadcast, copyAxis, gather, permute, reduce, reduceMaxBackward, scatterAdd } from './movement.js';
import { groupnorm, groupnormBackward, layernorm, layernormBackward, rmsnorm, rmsnormBackward } from './norm.js';

export { dropoutKey, dropoutUniform } from './loss.js';

/** The reference kernel table; typed as `Kernels`, so a missing kernel is a compile error. */
export const refKernels: Kernels = {
  gemm,
  binary,
  unary,
  unaryBackward,
  affine,
  fill,
  cast,
  reduce,
  reduceMaxBackward,
  broadcast,
  permute,
  copyAxis,
  gather,
  scatterAdd,
  rmsnorm,
  rmsnormBackward,
  layernorm,
  layernormBackward,
  groupnorm,
  groupnormBackward,
  softmax,
  softmaxBackward,
  attention,
  attentionBackward,
  rope,
  swiglu,
  swigluBackward,
  conv2d,
  conv2dBackward,
  upsampleNearest,
  upsampleNearestBackward,
  dropout,
  crossEntropy,
  crossEntropyBackward,
  adamw,
  sumSquares,
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
