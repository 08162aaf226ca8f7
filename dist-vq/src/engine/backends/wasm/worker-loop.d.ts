export interface WorkerInit {
    module: WebAssembly.Module;
    memory: WebAssembly.Memory;
    /** Participant index (1..threads-1; the main thread is 0). */
    index: number;
    scratchBase: number;
    scratchStride: number;
    /** How long an idle worker spins before it sleeps in Atomics.wait, in microseconds. */
    spinUs: number;
}
type KernelFn = (...args: number[]) => void;
export declare function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): Record<string, KernelFn>;
/** Records the first failure of a job (participant p) into the control block. */
export declare function recordError(memory: WebAssembly.Memory, p: number, err: unknown): void;
/** Runs jobs until the main thread posts FN_EXIT. Blocks the calling thread. */
export declare function runWorkerLoop(init: WorkerInit, exports: Record<string, KernelFn>): void;
export {};
