export type DType = 'f32' | 'bf16' | 'f16' | 'i32';
export type TypedArrayFor<D extends DType> = D extends 'f32' ? Float32Array : D extends 'i32' ? Int32Array : Uint16Array;
export type AnyArray = Float32Array | Uint16Array | Int32Array;
export interface DTypeInfo {
    readonly bytes: number;
    /** Floating-point storage that ops may read as numbers (f32 compute after widening). */
    readonly float: boolean;
    readonly make: (buffer: ArrayBufferLike, byteOffset: number, length: number) => AnyArray;
}
export declare const DTYPES: {
    readonly [D in DType]: DTypeInfo;
};
export declare function isDType(s: string): s is DType;
/** bf16 bits -> f32 value (exact). */
export declare function bf16ToF32(h: number): number;
/** f32 value -> bf16 bits, round to nearest even (NaN stays NaN), as PyTorch does. */
export declare function f32ToBf16(x: number): number;
/** IEEE half bits -> f32 value (exact, subnormals included). */
export declare function f16ToF32(h: number): number;
/** f32 value -> IEEE half bits, round to nearest even, overflow to infinity. */
export declare function f32ToF16(x: number): number;
/** Reads element i of a float-storage array as an f32 number. */
export declare function readFloat(a: AnyArray, dtype: DType, i: number): number;
