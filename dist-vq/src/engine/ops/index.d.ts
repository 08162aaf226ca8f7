export * from './elementwise.js';
export * from './shape.js';
export * from './matmul.js';
export * from './nn.js';
export * from './conv.js';
export * from './loss.js';
