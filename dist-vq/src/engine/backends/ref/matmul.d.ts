import type { AnyArray } from '../../dtype.js';
import type { F32, GemmParams } from '../../kernels.js';
/**
 * C[bt] (+)= op(A[bt]) · op(B[bt]) for bt < batch; see GemmParams. Every C entry is one float64 dot
 * product over l in order 0..k-1; entries are computed 2 rows × 2 columns at a time so each loaded
 * operand is used twice. Batch strides of 0 reuse the staged operand.
 */
export declare function gemm(a: F32, b: AnyArray, c: F32, p: GemmParams): void;
