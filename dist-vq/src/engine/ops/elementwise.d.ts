import type { DType } from '../dtype.js';
import type { UnaryOp } from '../kernels.js';
import type { Tensor } from '../tensor.js';
export declare const add: (a: Tensor, b: Tensor) => Tensor;
export declare const sub: (a: Tensor, b: Tensor) => Tensor;
export declare const mul: (a: Tensor, b: Tensor) => Tensor;
export declare const div: (a: Tensor, b: Tensor) => Tensor;
export declare const maximum: (a: Tensor, b: Tensor) => Tensor;
export declare const minimum: (a: Tensor, b: Tensor) => Tensor;
export declare function unary(op: UnaryOp, x: Tensor): Tensor;
export declare const neg: (x: Tensor) => Tensor;
export declare const exp: (x: Tensor) => Tensor;
export declare const log: (x: Tensor) => Tensor;
export declare const sqrt: (x: Tensor) => Tensor;
export declare const rsqrt: (x: Tensor) => Tensor;
export declare const sigmoid: (x: Tensor) => Tensor;
export declare const silu: (x: Tensor) => Tensor;
export declare const tanh: (x: Tensor) => Tensor;
export declare const square: (x: Tensor) => Tensor;
export declare const relu: (x: Tensor) => Tensor;
export declare const abs: (x: Tensor) => Tensor;
/** x · mul + add (scalars). */
export declare function affine(x: Tensor, mulBy: number, addTo?: number): Tensor;
export declare const scale: (x: Tensor, s: number) => Tensor;
export declare const addScalar: (x: Tensor, s: number) => Tensor;
/** Converts between storage dtypes (bf16/f16 round to nearest even). Differentiable for float types. */
export declare function cast(x: Tensor, dtype: DType): Tensor;
