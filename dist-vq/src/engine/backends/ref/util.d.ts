import type { AnyArray, DType } from '../../dtype.js';
/** All 65536 f16 bit patterns widened to f32 (256 KiB, built on first use). */
export declare function f16Table(): Float32Array;
/** All 65536 bf16 bit patterns widened to f32 (256 KiB, built on first use). */
export declare function bf16Table(): Float32Array;
/** out[outOff + j] = src[srcOff + j] read as dtype and widened to f32, for j < len. */
export declare function widenRun(src: AnyArray, srcDtype: DType, srcOff: number, out: Float32Array, outOff: number, len: number): void;
/** A loop nest after coalescing: shape plus one stride list per operand (same rank). */
export interface Coalesced {
    shape: number[];
    strides: number[][];
}
/**
 * Drops size-1 axes and merges adjacent axes that are contiguous with each other in every operand
 * (stride[d] = stride[d+1]·shape[d+1]), so strided loops run over as few, as long, axes as possible.
 * The output is assumed dense in `shape`. Returns rank ≥ 1 (a scalar becomes shape [1]).
 */
export declare function coalesce(shape: readonly number[], strides: readonly (readonly number[])[]): Coalesced;
/** Number of elements of a shape (1 for a scalar). */
export declare function numel(shape: readonly number[]): number;
