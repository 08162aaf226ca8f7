import type { AnyArray, DType } from '../../dtype.js';
import type { F32, I32, ReduceOp } from '../../kernels.js';
/**
 * x viewed as [outer, len, inner]; out[o, i] = op over l of x[o, l, i]. Sums accumulate in float64;
 * max propagates NaN; an empty axis gives 0 (sum) or -Infinity (max).
 */
export declare function reduce(op: ReduceOp, x: F32, out: F32, outer: number, len: number, inner: number): void;
/** gx[o, l, i] = gy[o, i] at the first l with x[o, l, i] == y[o, i], else 0. */
export declare function reduceMaxBackward(x: F32, y: F32, gy: F32, gx: F32, outer: number, len: number, inner: number): void;
/** out[idx] = x[idx·xStrides] over outShape (strides 0 on broadcast axes). */
export declare function broadcast(x: AnyArray, out: AnyArray, outShape: readonly number[], xStrides: readonly number[]): void;
/** out = x permuted: out.shape[i] = inShape[perm[i]]. */
export declare function permute(x: AnyArray, out: AnyArray, inShape: readonly number[], perm: readonly number[]): void;
/** dst[o, dstStart + l, i] (+)= src[o, srcStart + l, i] for o < outer, l < count, i < inner. */
export declare function copyAxis(src: AnyArray, dst: AnyArray, outer: number, inner: number, srcLen: number, srcStart: number, dstLen: number, dstStart: number, count: number, accumulate: boolean): void;
/** out[i, :] = table[ids[i], :] widened to f32; table is [rows, dim] of tableDtype. */
export declare function gather(table: AnyArray, tableDtype: DType, ids: I32, out: F32, dim: number): void;
/** Accumulates gTable[ids[i], :] += g[i, :] (repeated ids add up, in order of i). */
export declare function scatterAdd(g: F32, ids: I32, gTable: F32, dim: number): void;
