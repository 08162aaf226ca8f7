// The wasm backend, platform-neutral: given a compiled kernel module and a way to start workers, it
// lays out the shared memory (static data | control block | per-thread scratch | heap), starts the
// pool and assembles the kernel table (native kernels plus ref fallbacks). Node wiring (reading the
// .wasm files, worker_threads, V8 flags) is in backend.node.ts; a browser adapter would mirror it.
import { CTL_BYTES, CTL_OFFSET } from './abi.js';
import { SharedHeap } from './memory.js';
import { buildKernels } from './native-rows.js';
import { ThreadPool } from './pool.js';
import { instantiateKernels } from './worker-loop.js';
export { runWorkerLoop, instantiateKernels } from './worker-loop.js';
/** Minimum scratch per participant; gemm reports what its pack buffers need. */
const MIN_SCRATCH = 64 * 1024;
export async function createWasmBackendCore(opts) {
    const threads = Math.max(1, Math.floor(opts.threads));
    // A throwaway instance on a small memory reads the scratch size before the real layout exists.
    const probe = instantiateKernels(opts.module, new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true }));
    const scratchStride = Math.ceil(Math.max(MIN_SCRATCH, probe.gemm_scratch_bytes()) / 64) * 64;
    const scratchBase = CTL_OFFSET + CTL_BYTES;
    const heapBase = scratchBase + threads * scratchStride;
    const heap = new SharedHeap(heapBase, opts.initialPages ?? 256);
    const exports = instantiateKernels(opts.module, heap.memory);
    const spinUs = opts.spinUs ?? 100;
    const workers = [];
    try {
        for (let i = 1; i < threads; i++) {
            workers.push(await opts.spawnWorker({ module: opts.module, memory: heap.memory, index: i, scratchBase, scratchStride, spinUs }));
        }
    }
    catch (err) {
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
        reserve(bytes) {
            return heap.reserve(bytes);
        },
        unreserve(region) {
            heap.unreserve(region);
        },
        reservedBytes() {
            return heap.reservedBytes();
        },
        runExport(name, args, total, align, parallel) {
            pool.run(name, name, args, total, align, parallel);
        },
        scratchAddress(p) {
            return pool.scratch(p);
        },
        async dispose() {
            if (disposed)
                return;
            disposed = true;
            await pool.dispose();
        },
    };
}
//# sourceMappingURL=index.js.map