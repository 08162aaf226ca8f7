// Roofline probes shared by the benchmarks, on a wasm backend: read bandwidth (a SIMD sum,
// bandwidth_sum, over ≥ 1 GiB of written memory; the ceiling for decode matvec) and the SIMD128 FMA
// peak (fma_peak: independent fma4 chains with no loads; the ceiling for GEMM with this build).
// Non-wasm backends have no probes.

import type { Backend } from '../src/engine/backend.js';
import type { WasmBackend } from '../src/engine/backends/wasm/index.js';
import { median } from './stats.js';

function isWasm(b: Backend): b is WasmBackend {
  return typeof (b as Partial<WasmBackend>).runExport === 'function';
}

/** Median ms of `samples` calls of run, after one warm-up call. */
function medianMs(run: () => void, samples: number): number {
  run();
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** GB/s of a streaming read over `bytes` (default 1 GiB) using all of the backend's threads. */
export async function measureReadBandwidth(backend: Backend, bytes = 1 << 30, samples = 5): Promise<number> {
  if (!isWasm(backend)) throw new Error(`measureReadBandwidth needs the wasm backend, got ${backend.name}`);
  const region = backend.reserve(bytes);
  try {
    // Touch every page first: never-written pages would read the shared zero page, not DRAM.
    backend.kernels.fill(new Float32Array(region.buffer, region.byteOffset, bytes / 4), 1);
    const lines = Math.floor(bytes / 64);
    const ms = medianMs(() => backend.runExport('bandwidth_sum', [region.byteOffset], lines, 1024, true), samples);
    return bytes / (ms * 1e6);
  } finally {
    backend.unreserve(region);
  }
}

/**
 * GFLOP/s of register-only fma4 chains on all of the backend's threads (dynamically scheduled, so
 * a slower core contributes what it can): the compute ceiling of any SIMD128 kernel in this build.
 */
export function measureFmaPeak(backend: Backend, samples = 5): number {
  if (!isWasm(backend)) throw new Error(`measureFmaPeak needs the wasm backend, got ${backend.name}`);
  const items = 64;
  const iters = 200_000; // 64 × 200k × 80 flops ≈ 1 GFLOP per sample
  const ms = medianMs(() => backend.runExport('fma_peak', [iters], items, 1, true, 8), samples);
  return (items * iters * 80) / (ms * 1e6);
}
