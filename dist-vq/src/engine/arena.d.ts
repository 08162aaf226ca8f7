import type { Backend } from './backend.js';
import { type AnyArray, type DType } from './dtype.js';
/** Position of an arena at some moment; release(mark) frees everything allocated after it. */
export interface ArenaMark {
    chunk: number;
    used: number;
}
export declare class Arena {
    readonly name: string;
    private readonly backend;
    private readonly minChunk;
    private readonly chunks;
    private current;
    /** Bytes handed out (after alignment) and not yet released. */
    private live;
    private peak;
    constructor(name: string, backend: Backend, minChunk?: number);
    /**
     * A typed array of n elements in backend memory. Contents are zero when `zero` is true (default),
     * otherwise unspecified (the caller's kernel must overwrite every element).
     */
    alloc(dtype: DType, n: number, zero?: boolean): AnyArray;
    private nextChunk;
    mark(): ArenaMark;
    /** Frees everything allocated after `m` (the memory is reused by later allocations). */
    release(m: ArenaMark): void;
    /** Frees everything; chunks stay reserved for reuse. */
    reset(): void;
    /** Returns all chunks to the backend. */
    dispose(): void;
    stats(): {
        name: string;
        liveBytes: number;
        peakBytes: number;
        reservedBytes: number;
    };
}
