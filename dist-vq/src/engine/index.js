// Public surface of the engine: tensors, the Engine context, backends' interface, ops, autograd
// and the optimizer. Backend factories are imported from their own modules (ref is pure; wasm
// needs a platform adapter such as backends/wasm/backend.node.ts).
export { Engine } from './engine.js';
export { Tensor, numel, stridesOf, sameShape } from './tensor.js';
export * from './dtype.js';
export * as ops from './ops/index.js';
export { backward, zeroGrad } from './autograd/backward.js';
export { AdamW, clipGradNorm, gradNorm } from './optim.js';
//# sourceMappingURL=index.js.map