import type { AnyArray, DType } from '../../dtype.js';
import type { AdamWParams, BinaryOp, F32, GemmParams, Kernels, UnaryOp } from '../../kernels.js';
import type { SharedHeap } from './memory.js';
import type { ThreadPool } from './pool.js';
/** What native kernels need: the pool that runs exports, the heap that owns arrays, the fallback. */
export interface NativeContext {
    readonly pool: ThreadPool;
    readonly heap: SharedHeap;
    readonly ref: Kernels;
}
/** Elementwise jobs smaller than this run on the main thread only (wake-up would dominate). */
export declare const PAR_ELEMS = 32768;
/** True when every non-null array is a view inside the backend's memory. */
export declare function inHeap(heap: SharedHeap, ...arrays: (AnyArray | null)[]): boolean;
export declare function gemm(ctx: NativeContext, a: F32, b: AnyArray, c: F32, p: GemmParams): void;
export declare function binary(ctx: NativeContext, op: BinaryOp, a: F32, b: F32, out: F32, outShape: readonly number[], aStrides: readonly number[], bStrides: readonly number[]): void;
export declare function unary(ctx: NativeContext, op: UnaryOp, x: F32, out: F32): void;
export declare function unaryBackward(ctx: NativeContext, op: UnaryOp, x: F32, y: F32, gy: F32, gx: F32): void;
export declare function affine(ctx: NativeContext, x: F32, out: F32, mul: number, add: number): void;
export declare function fill(ctx: NativeContext, out: AnyArray, value: number): void;
export declare function cast(ctx: NativeContext, x: AnyArray, xDtype: DType, out: AnyArray, outDtype: DType): void;
export declare function swiglu(ctx: NativeContext, g: F32, u: F32, out: F32): void;
export declare function swigluBackward(ctx: NativeContext, g: F32, u: F32, gy: F32, gg: F32, gu: F32): void;
export declare function adamw(ctx: NativeContext, param: F32, grad: F32, m: F32, v: F32, p: AdamWParams): void;
export declare function sumSquares(ctx: NativeContext, x: F32): number;
