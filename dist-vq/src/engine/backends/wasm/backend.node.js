// Node adapter of the wasm backend: reads build/kernels/{relaxed,simd}.wasm, enables relaxed SIMD
// in V8 (Node 20 needs --experimental-wasm-relaxed-simd, settable only via v8.setFlagsFromString),
// turns off the Liftoff baseline tier so long kernels never run unoptimised, and starts the pool
// as worker_threads running worker.node.js. Everything else is the platform-neutral core (index.ts).
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { refKernels } from '../ref/index.js';
import { createWasmBackendCore } from './index.js';
const BUILD = new URL('../../../../../build/kernels/', import.meta.url);
let flagsSet = false;
function setV8Flags() {
    if (flagsSet)
        return;
    flagsSet = true;
    setFlagsFromString('--experimental-wasm-relaxed-simd');
    setFlagsFromString('--no-liftoff');
}
const cache = new Map();
/** The compiled module of a variant, or null when this engine rejects it. */
export function loadKernelModule(variant) {
    setV8Flags();
    if (cache.has(variant))
        return cache.get(variant);
    const bytes = readFileSync(new URL(variant === 'relaxed' ? 'relaxed.wasm' : 'simd.wasm', BUILD));
    const mod = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
    cache.set(variant, mod);
    return mod;
}
function spawnWorker(init) {
    return new Promise((resolve, reject) => {
        const worker = new Worker(new URL('./worker.node.js', import.meta.url), { workerData: init });
        const onError = (err) => reject(err);
        worker.once('error', onError);
        worker.once('message', () => {
            worker.off('error', onError);
            // Workers block in Atomics.wait between jobs; they must not keep the process alive.
            worker.unref();
            resolve({
                async terminate() {
                    await worker.terminate();
                },
            });
        });
    });
}
export async function createWasmBackend(opts = {}) {
    const want = opts.simd ?? 'auto';
    let simd = want === 'plain' ? 'plain' : 'relaxed';
    let module = loadKernelModule(simd);
    if (module === null) {
        if (want === 'relaxed')
            throw new Error('wasm backend: this JavaScript engine rejects the relaxed-SIMD kernel build');
        simd = 'plain';
        module = loadKernelModule('plain');
    }
    if (module === null)
        throw new Error('wasm backend: this JavaScript engine rejects the SIMD128 kernel build');
    const threads = opts.threads ?? availableParallelism();
    return createWasmBackendCore({ module, simd, threads, spawnWorker, fallback: refKernels, spinUs: opts.spinUs });
}
//# sourceMappingURL=backend.node.js.map