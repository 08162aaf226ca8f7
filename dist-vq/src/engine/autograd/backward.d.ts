import type { Tensor } from '../tensor.js';
/**
 * Backpropagates from `out` (a scalar unless `seed` gives its gradient) into every leaf that
 * requires grad. Returns the leaves that received gradients.
 */
export declare function backward(out: Tensor, seed?: Tensor): Tensor[];
/** Zeroes the gradients of the given leaves (before the next accumulation). */
export declare function zeroGrad(params: Iterable<Tensor>): void;
