import { Tensor } from '../tensor.js';
/** Same data, new shape (one dimension may be -1). Zero-copy. */
export declare function reshape(x: Tensor, shape: readonly number[]): Tensor;
/** out.shape[i] = x.shape[perm[i]] (a copy). */
export declare function permute(x: Tensor, perm: readonly number[]): Tensor;
/** Swaps two axes (a copy). */
export declare function transpose(x: Tensor, a?: number, b?: number): Tensor;
/** Elements [start, end) along an axis (a copy). */
export declare function slice(x: Tensor, axis: number, start: number, end: number): Tensor;
/** Joins tensors along an axis; all other dimensions must match. */
export declare function concat(xs: readonly Tensor[], axis: number): Tensor;
/** Writes src into dst[..., start:start+n, ...] along an axis, in place (KV caches). Not differentiable. */
export declare function assignSlice(dst: Tensor, src: Tensor, axis: number, start: number): void;
/** Broadcast copy to a larger shape (numpy rules). */
export declare function broadcastTo(x: Tensor, shape: readonly number[]): Tensor;
/** Sum over the given axes (all axes when omitted). */
export declare function sum(x: Tensor, axes?: number | readonly number[], keepdims?: boolean): Tensor;
/** Mean over the given axes (all when omitted). */
export declare function mean(x: Tensor, axes?: number | readonly number[], keepdims?: boolean): Tensor;
/** Max over one axis. */
export declare function max(x: Tensor, axis: number, keepdims?: boolean): Tensor;
/** Sums a broadcast result back down to `shape` (the gradient of broadcasting). */
export declare function sumTo(x: Tensor, shape: readonly number[]): Tensor;
