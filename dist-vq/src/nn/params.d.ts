import type { Engine } from '../engine/engine.js';
import type { Tensor } from '../engine/tensor.js';
/** What a checkpoint reader offers (SafetensorsArchive implements it). dtype: safetensors name, e.g. "BF16". */
export interface TensorSource {
    tensors(): ReadonlyMap<string, {
        readonly dtype: string;
        readonly shape: readonly number[];
        readonly byteLength: number;
    }>;
    /** Copies the tensor's raw little-endian bytes into dest (dest.byteLength === byteLength). */
    readInto(name: string, dest: Uint8Array): void;
}
export type Init = {
    kind: 'zeros';
} | {
    kind: 'ones';
} | {
    kind: 'normal';
    std: number;
} | {
    kind: 'uniform';
    bound: number;
};
export interface LoadOptions {
    /** Only names starting with this prefix are considered in the source (and it is stripped). */
    prefix?: string;
    /** Source tensors that may be present without a parameter (e.g. "model.vqmodel."). */
    ignore?: (name: string) => boolean;
    /**
     * Keep the checkpoint dtype (bf16/f16 weights stay half-size; matmul/embedding widen them) for
     * parameters whose rank is ≥ 2; 'f32' converts everything. Default 'f32'.
     */
    weights?: 'f32' | 'keep';
    /** Called after each tensor (for progress bars). */
    onTensor?: (name: string, bytes: number) => void;
}
export declare class ParamStore {
    readonly engine: Engine;
    private readonly map;
    private readonly specs;
    constructor(engine: Engine);
    /** Declares a parameter (allocated now, f32, zero) with its init rule; returns the tensor. */
    declare(name: string, shape: readonly number[], init?: Init): Tensor;
    get(name: string): Tensor;
    has(name: string): boolean;
    names(): string[];
    /** Parameters in declaration order. */
    list(): Tensor[];
    /** Parameters that are trained (f32 and marked requiresGrad). */
    trainable(): Tensor[];
    /** Expected shapes by name (for checking a checkpoint before reading it). */
    shapes(): Map<string, number[]>;
    numel(): number;
    /** Fills every parameter from its init rule with a seeded RNG (same seed -> same weights). */
    initialize(seed: number): void;
    /**
     * Loads every parameter from `src`. Throws one FormatError listing all missing tensors, all
     * unexpected ones and every shape mismatch (naming tensor and both shapes) before reading anything.
     */
    load(src: TensorSource, opts?: LoadOptions): void;
    /** Re-allocates a parameter with another storage dtype (half-precision weights are not trained). */
    private replace;
    /** Bytes of all parameters as stored. */
    bytes(): number;
    /** Number of elements expected for a name (for tests and inspection). */
    sizeOf(name: string): number;
}
