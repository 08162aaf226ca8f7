import type { AnyArray, DType } from '../../dtype.js';
import type { BinaryOp, F32, UnaryOp } from '../../kernels.js';
/** out[idx] = a[idx·aStrides] op b[idx·bStrides] over outShape (out dense). */
export declare function binary(op: BinaryOp, a: F32, b: F32, out: F32, outShape: readonly number[], aStrides: readonly number[], bStrides: readonly number[]): void;
export declare function unary(op: UnaryOp, x: F32, out: F32): void;
/**
 * gx = gy · f'(x). The derivative is taken from y = f(x) for exp, sqrt, rsqrt, sigmoid and tanh, and
 * from x for log, silu, square, relu and abs (neg reads neither). relu'(0) = 0 and abs'(0) = 0.
 */
export declare function unaryBackward(op: UnaryOp, x: F32, y: F32, gy: F32, gx: F32): void;
/** out = x · mul + add. */
export declare function affine(x: F32, out: F32, mul: number, add: number): void;
/** Sets every element of out to value, stored as the array's element type (raw bits for bf16/f16). */
export declare function fill(out: AnyArray, value: number): void;
/**
 * Converts x (xDtype) into out (outDtype): f32 -> bf16/f16 round to nearest even, bf16/f16 -> f32
 * exact, f32 -> i32 truncates toward zero (saturating, NaN -> 0), i32 -> f32 rounds to nearest.
 * Other pairs go through f32; equal dtypes copy.
 */
export declare function cast(x: AnyArray, xDtype: DType, out: AnyArray, outDtype: DType): void;
