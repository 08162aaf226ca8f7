// The kernel contract between the op layer and the backends. Every backend provides every kernel
// (the type checker enforces it); `ref` implements them in plain TypeScript as the readable spec,
// `wasm` replaces the hot ones with SIMD kernels run on a worker pool. Kernels never validate
// input: the op layer checks shapes, dtypes and index ranges before calling them. All arrays are
// contiguous row-major; a kernel fully overwrites its outputs unless the doc says "accumulates".
// Elementwise kernels (binary, unary, affine, cast within a dtype) allow `out` to alias an input of
// the output's shape (in-place updates such as gradient accumulation rely on it).
export {};
//# sourceMappingURL=kernels.js.map