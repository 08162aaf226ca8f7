// Public surface of the op layer: every user-facing tensor op, grouped by file.
export * from './elementwise.js';
export * from './shape.js';
export * from './matmul.js';
export * from './nn.js';
export * from './conv.js';
export * from './loss.js';
//# sourceMappingURL=index.js.map