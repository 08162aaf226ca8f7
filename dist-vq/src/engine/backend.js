// The Backend interface: a kernel table plus the memory those kernels can address. Backends are
// plain values created by a factory and passed to an Engine explicitly (there is no registry).
// `ref` allocates ordinary ArrayBuffers; `wasm` hands out regions of one shared WebAssembly.Memory.
export {};
//# sourceMappingURL=backend.js.map