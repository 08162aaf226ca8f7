import { type AnyArray, type DType } from './dtype.js';
import type { Engine } from './engine.js';
import type { Node } from './autograd/primitives.js';
export declare class Tensor {
    readonly engine: Engine;
    readonly shape: readonly number[];
    readonly dtype: DType;
    readonly data: AnyArray;
    /** Id of the engine scope that owns the memory; 0 = never released by a scope. */
    readonly scope: number;
    /** Set by ops when recording for autograd: the primitive application that produced this tensor. */
    node: Node | null;
    /** For leaves that require grad: the accumulated gradient (lives in the engine's grads arena). */
    grad: Tensor | null;
    requiresGrad: boolean;
    /** Optional name (parameters carry their checkpoint key). */
    name: string;
    constructor(engine: Engine, shape: readonly number[], dtype: DType, data: AnyArray, 
    /** Id of the engine scope that owns the memory; 0 = never released by a scope. */
    scope: number);
    get size(): number;
    get rank(): number;
    /** The f32 data; throws if the tensor is not f32. */
    f32(): Float32Array;
    /** The i32 data; throws if the tensor is not i32. */
    i32(): Int32Array;
    /** A copy of the values as plain numbers (bf16/f16 widened). */
    toArray(): number[];
    /** A copy of the values as f32 (widening bf16/f16, converting i32). */
    toFloat32(): Float32Array;
    /** The single value of a one-element tensor. */
    item(): number;
    /** Marks a leaf as trainable (its gradient accumulates into `grad`). Returns this. */
    trainable(on?: boolean): this;
    toString(): string;
}
export declare function numel(shape: readonly number[]): number;
/** Row-major strides of a shape, in elements. */
export declare function stridesOf(shape: readonly number[]): number[];
export declare function sameShape(a: readonly number[], b: readonly number[]): boolean;
