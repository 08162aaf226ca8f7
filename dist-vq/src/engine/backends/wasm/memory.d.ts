import type { MemoryRegion } from '../../backend.js';
export declare class SharedHeap {
    readonly memory: WebAssembly.Memory;
    private readonly base;
    private top;
    /** Every byte at or above this offset has never been handed out, so it is still zero. */
    private clean;
    private free;
    private readonly live;
    private readonly buffers;
    private reserved;
    /** `base`: first byte the heap may use (after static data, control block and scratch). */
    constructor(base: number, initialPages: number);
    /** The current SharedArrayBuffer of the memory (a new object after every grow). */
    get buffer(): ArrayBufferLike;
    reserve(bytes: number): MemoryRegion;
    unreserve(region: MemoryRegion): void;
    reservedBytes(): number;
    /** Whether a typed array (or region) lies inside this memory, so wasm can address it at byteOffset. */
    owns(buffer: ArrayBufferLike): boolean;
    private release;
    private ensure;
}
