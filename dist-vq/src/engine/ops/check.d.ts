import type { DType } from '../dtype.js';
import type { Engine } from '../engine.js';
import type { Tensor } from '../tensor.js';
/** Checks that all tensors are live, share one engine, and returns it. */
export declare function engineOf(op: string, ...ts: Tensor[]): Engine;
export declare function expectDtype(op: string, t: Tensor, ...dtypes: DType[]): void;
export declare function expectRank(op: string, t: Tensor, rank: number, what?: string): void;
export declare function expectShape(op: string, t: Tensor, shape: readonly number[], what?: string): void;
/** Normalises a possibly negative axis for a tensor of the given rank. */
export declare function normAxis(op: string, axis: number, rank: number): number;
/** numpy broadcasting of two shapes. */
export declare function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[];
/** Element strides of `shape` read as `outShape` (0 on broadcast axes). */
export declare function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[];
/** Checks an i32 index tensor's values lie in [0, limit) (ignoring `ignore`), naming the first bad one. */
export declare function checkIndices(op: string, ids: Int32Array, limit: number, what: string, ignore?: number): void;
