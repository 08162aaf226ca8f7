import { type SimdVariant, type WasmBackend } from './index.js';
export type { WasmBackend, SimdVariant } from './index.js';
export interface WasmBackendOptions {
    /** Threads including the main thread; default os.availableParallelism(). */
    threads?: number;
    /** 'auto' picks relaxed when this V8 accepts the relaxed build, else plain. */
    simd?: 'auto' | 'relaxed' | 'plain';
    /** Idle spin of a worker before it sleeps, µs. */
    spinUs?: number;
}
/** The compiled module of a variant, or null when this engine rejects it. */
export declare function loadKernelModule(variant: SimdVariant): WebAssembly.Module | null;
export declare function createWasmBackend(opts?: WasmBackendOptions): Promise<WasmBackend>;
