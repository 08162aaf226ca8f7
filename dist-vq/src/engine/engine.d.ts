import { Arena } from './arena.js';
import type { Backend } from './backend.js';
import { type DType } from './dtype.js';
import type { Kernels } from './kernels.js';
import { Tensor } from './tensor.js';
export type ArenaName = 'params' | 'grads' | 'optim' | 'state' | 'scratch';
export interface AllocOptions {
    /** Arena to allocate in (default: scratch, owned by the innermost open scope). */
    arena?: ArenaName;
    /** Zero-fill (default true). Ops pass false when their kernel overwrites every element. */
    zero?: boolean;
}
export declare class Engine {
    readonly backend: Backend;
    readonly k: Kernels;
    readonly arenas: {
        readonly [A in ArenaName]: Arena;
    };
    private readonly scopeStack;
    private nextScopeId;
    private gradEnabled_;
    private disposed;
    constructor(backend: Backend);
    /** True when ops record the autograd graph (outside noGrad). */
    get gradEnabled(): boolean;
    /** Runs fn without recording autograd nodes (inference); restores the previous mode after. */
    noGrad<T>(fn: () => T): T;
    /**
     * Runs fn in a new scope: scratch tensors created inside die when it returns (their memory is
     * reused). Return plain values, or copy tensors out with keep() first.
     */
    scope<T>(fn: () => T): T;
    /** Async variant of scope(): the scope stays open across awaits; do not interleave two of them. */
    scopeAsync<T>(fn: () => Promise<T>): Promise<T>;
    /** Id of the innermost open scope (0 outside any scope). */
    get currentScope(): number;
    /** Whether a tensor's memory is still valid (its scope has not ended). */
    isLive(t: Tensor): boolean;
    /** Throws a clear error when `op` receives a tensor whose scope already ended or of another engine. */
    assertLive(op: string, t: Tensor): void;
    /** A new tensor of the given shape; contents zero unless opts.zero is false. */
    empty(shape: readonly number[], dtype?: DType, opts?: AllocOptions): Tensor;
    zeros(shape: readonly number[], dtype?: DType, arena?: ArenaName): Tensor;
    full(shape: readonly number[], value: number, arena?: ArenaName): Tensor;
    /**
     * A tensor holding `values` (copied into backend memory). For bf16/f16, numbers are rounded to
     * nearest even; a Uint16Array is taken as raw bits.
     */
    tensor(values: ArrayLike<number>, shape: readonly number[], dtype?: DType, arena?: ArenaName): Tensor;
    /** i32 tensor of token ids. */
    ids(values: ArrayLike<number>, shape?: readonly number[]): Tensor;
    /** Copies a tensor into a persistent arena (default 'state') so it outlives the current scope. */
    keep(t: Tensor, arena?: Exclude<ArenaName, 'scratch'>): Tensor;
    /** Bytes per arena (live, peak, reserved) and the backend total, for inspection and benchmarks. */
    memoryStats(): {
        arenas: ReturnType<Arena['stats']>[];
        reservedBytes: number;
    };
    private assertUsable;
    /** Frees all arenas (the backend itself is disposed by its owner). */
    dispose(): void;
}
/** Size in bytes of n elements of dtype. */
export declare function bytesOf(dtype: DType, n: number): number;
