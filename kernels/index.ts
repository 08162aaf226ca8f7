// Entry point of the kernel module: re-exports every kernel family so one build yields one wasm
// module. The ABI (export names, argument order, flag encodings) is mirrored in
// src/engine/backends/wasm/abi.ts; change both together.

export * from './matmul';
export * from './elementwise';
export * from './movement';
export * from './norm';
export * from './loss';
export * from './attention';
export * from './conv';
export * from './optim';
export * from './debug';
export * from './probes';
