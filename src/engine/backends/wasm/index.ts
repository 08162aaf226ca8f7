// The wasm backend, platform-neutral: given a compiled kernel module and a way to start workers, it
// lays out the shared memory (static data | control block | per-thread scratch | heap), starts the
// pool and assembles the kernel table (native kernels plus ref fallbacks). Node wiring (reading the
// .wasm files, worker_threads, V8 flags) is in backend.node.ts; a browser adapter would mirror it.

import type { Backend, MemoryRegion } from '../../backend.js';
import type { Kernels } from '../../kernels.js';
import { CTL_BYTES, CTL_OFFSET, type ExportName } from './abi.js';
import { SharedHeap } from './memory.js';
import { buildKernels } from './kernels/index.js';
import { ThreadPool, type WorkerHandle } from './pool.js';
import { instantiateKernels, type WorkerInit } from './worker-loop.js';

export type { WorkerInit } from './worker-loop.js';
export type { WorkerHandle } from './pool.js';

export type SimdVariant = 'relaxed' | 'plain';

/** The Backend plus wasm-specific hooks for tests and benchmarks. */
export interface WasmBackend extends Backend {
  readonly simd: SimdVariant;
  /**
   * Runs a raw kernel export through the pool: args, then [start, end) over `total` items split
   * with `align`, on all threads when `parallel`; `chunksPerThread` > 0 schedules the ranges
   * dynamically (see WorkerPool.run). Throws KernelError on a trap.
   */
  runExport(name: ExportName, args: readonly number[], total: number, align: number, parallel: boolean, chunksPerThread?: number): void;
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

/** Minimum scratch per participant; gemm reports what its pack buffers need. */
const MIN_SCRATCH = 64 * 1024;

export async function createWasmBackendCore(opts: WasmBackendCoreOptions): Promise<WasmBackend> {
  const threads = Math.max(1, Math.floor(opts.threads));
  // A throwaway instance on a small memory reads the scratch size before the real layout exists.
  const probe = instantiateKernels(opts.module, new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true }));
  const scratchStride = Math.ceil(Math.max(MIN_SCRATCH, (probe.gemm_scratch_bytes as unknown as () => number)()) / 64) * 64;
  const scratchBase = CTL_OFFSET + CTL_BYTES;
  const heapBase = scratchBase + threads * scratchStride;
  const heap = new SharedHeap(heapBase, opts.initialPages ?? 256);
  const exports = instantiateKernels(opts.module, heap.memory);
  const spinUs = opts.spinUs ?? 100;
  const workers: WorkerHandle[] = [];
  try {
    for (let i = 1; i < threads; i++) {
      workers.push(await opts.spawnWorker({ module: opts.module, memory: heap.memory, index: i, scratchBase, scratchStride, spinUs }));
    }
  } catch (err) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw err;
  }
  const pool = new ThreadPool(heap.memory, exports, workers, scratchBase, scratchStride);
  const { kernels, native } = buildKernels({ pool, heap, ref: opts.fallback });
  let disposed = false;
  return {
    name: 'wasm',
    kernels,
    threads,
    native,
    simd: opts.simd,
    description: `wasm ${opts.simd === 'relaxed' ? 'relaxed-simd' : 'simd128'}, ${threads} thread${threads === 1 ? '' : 's'}`,
    memory: heap,
    reserve(bytes: number, zero = true): MemoryRegion {
      return heap.reserve(bytes, zero);
    },
    unreserve(region: MemoryRegion): void {
      heap.unreserve(region);
    },
    reservedBytes(): number {
      return heap.reservedBytes();
    },
    runExport(name: ExportName, args: readonly number[], total: number, align: number, parallel: boolean, chunksPerThread = 0): void {
      pool.run(name, name, args, total, align, parallel, chunksPerThread);
    },
    scratchAddress(p: number): number {
      return pool.scratch(p);
    },
    async dispose(): Promise<void> {
      if (disposed) return;
      disposed = true;
      await pool.dispose();
    },
  };
}

