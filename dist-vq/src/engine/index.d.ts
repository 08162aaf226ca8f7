export { Engine, type ArenaName, type AllocOptions } from './engine.js';
export { Tensor, numel, stridesOf, sameShape } from './tensor.js';
export type { Backend, MemoryRegion } from './backend.js';
export type { Kernels, KernelName } from './kernels.js';
export * from './dtype.js';
export * as ops from './ops/index.js';
export { backward, zeroGrad } from './autograd/backward.js';
export { AdamW, clipGradNorm, gradNorm, type AdamWOptions } from './optim.js';
