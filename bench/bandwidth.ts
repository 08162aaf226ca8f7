// Read-bandwidth probe shared by the benchmarks: a wasm SIMD sum (bandwidth_sum) over ≥ 1 GiB of
// written memory on a wasm backend, GB/s = bytes / median time. This is the roofline for decode
// (matvec) figures. Non-wasm backends have no probe.

import type { Backend } from '../src/engine/backend.js';
import type { WasmBackend } from '../src/engine/backends/wasm/index.js';
import { median } from './stats.js';

function isWasm(b: Backend): b is WasmBackend {
  return typeof (b as Partial<WasmBackend>).runExport === 'function';
}

/** GB/s of a streaming read over `bytes` (default 1 GiB) using all of the backend's threads. */
export async function measureReadBandwidth(backend: Backend, bytes = 1 << 30, samples = 5): Promise<number> {
  if (!isWasm(backend)) throw new Error(`measureReadBandwidth needs the wasm backend, got ${backend.name}`);
  const region = backend.reserve(bytes);
  try {
    // Touch every page first: never-written pages would read the shared zero page, not DRAM.
    backend.kernels.fill(new Float32Array(region.buffer, region.byteOffset, bytes / 4), 1);
    const lines = Math.floor(bytes / 64);
    const run = (): void => backend.runExport('bandwidth_sum', [region.byteOffset], lines, 1024, true);
    run();
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t0 = performance.now();
      run();
      times.push(performance.now() - t0);
    }
    return bytes / (median(times) * 1e6);
  } finally {
    backend.unreserve(region);
  }
}
