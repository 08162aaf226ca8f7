import type { Backend } from '../../backend.js';
import type { Kernels } from '../../kernels.js';
import { type ExportName } from './abi.js';
import { type WorkerHandle } from './pool.js';
import { type WorkerInit } from './worker-loop.js';
export type { WorkerInit } from './worker-loop.js';
export type { WorkerHandle } from './pool.js';
export { runWorkerLoop, instantiateKernels } from './worker-loop.js';
export type SimdVariant = 'relaxed' | 'plain';
/** The Backend plus wasm-specific hooks for tests and benchmarks. */
export interface WasmBackend extends Backend {
    readonly simd: SimdVariant;
    /**
     * Runs a raw kernel export through the pool: args, then [start, end) over `total` items split
     * with `align`, on all threads when `parallel`. Throws KernelError on a trap.
     */
    runExport(name: ExportName, args: readonly number[], total: number, align: number, parallel: boolean): void;
    /** Byte address of participant p's scratch (raw exports store partial results there). */
    scratchAddress(p: number): number;
}
export interface WasmBackendCoreOptions {
    /** The compiled kernel module (build/kernels/relaxed.wasm or simd.wasm). */
    module: WebAssembly.Module;
    simd: SimdVariant;
    /** Threads including the main thread (≥ 1). */
    threads: number;
    /** Starts one worker that runs runWorkerLoop(init); resolves once it has instantiated the module. */
    spawnWorker: (init: WorkerInit) => Promise<WorkerHandle>;
    /** The ref kernels, used for every kernel without a native version and for foreign arrays. */
    fallback: Kernels;
    /** Idle spin before a worker sleeps, µs (default 100). */
    spinUs?: number;
    /** Initial memory in 64 KiB pages (default 256 = 16 MiB). */
    initialPages?: number;
}
export declare function createWasmBackendCore(opts: WasmBackendCoreOptions): Promise<WasmBackend>;
