import { type ExportName } from './abi.js';
type KernelFn = (...args: number[]) => void;
/** A started worker thread, as the platform adapter reports it. */
export interface WorkerHandle {
    terminate(): Promise<void>;
}
export declare class ThreadPool {
    private readonly memory;
    private readonly workers;
    private readonly scratchBase;
    private readonly scratchStride;
    readonly threads: number;
    private readonly ctl;
    private readonly args;
    private readonly fns;
    private readonly call;
    private disposed;
    constructor(memory: WebAssembly.Memory, exports: Record<string, KernelFn>, workers: WorkerHandle[], scratchBase: number, scratchStride: number);
    /** Bytes of scratch each participant owns. */
    get scratchBytes(): number;
    /** Scratch address of participant p (per-participant pack buffers, partial results). */
    scratch(p: number): number;
    /**
     * Runs export `name` over `total` items split into ranges aligned to `align`; `parallel` false
     * (or one thread) runs it all on the main thread. `label` names the kernel in errors.
     */
    run(label: string, name: ExportName, args: readonly number[], total: number, align: number, parallel: boolean): void;
    private waitDone;
    dispose(): Promise<void>;
}
export {};
