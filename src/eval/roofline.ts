// Roofline probes shared by the benchmarks and the trainer's MFU, on a wasm backend. Read bandwidth
// (the ceiling for decode matvec) is the highest of several probes over >= 1 GiB of written memory: 1, 2, 4 or 8
// concurrent sequential streams per thread (bandwidth_streams), split statically, dynamically as
// matvec is, or 64 MiB per call, plus the older bandwidth_sum. The SIMD128 FMA peak (fma_peak:
// independent fma4 chains, no loads) is the ceiling for GEMM. Non-wasm backends have no probes.

import type { Backend } from '../engine/backend.js';
import type { WasmBackend } from '../engine/backends/wasm/index.js';

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function isWasm(b: Backend): b is WasmBackend {
  return typeof (b as Partial<WasmBackend>).runExport === 'function';
}

/** Median ms of `samples` calls of run, after one warm-up call. */
function sampleMs(run: () => void, samples: number): number[] {
  run();
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  return times;
}

/** The read-bandwidth roofline and every probe behind it (GB/s). */
export interface ReadBandwidth {
  /** The highest probe: the roofline. */
  gbps: number;
  /** Name of the probe that gave it, e.g. "streams=4 dynamic". */
  best: string;
  /** Median GB/s of each probe. */
  probes: Record<string, number>;
}

/** The streams-per-thread counts bandwidth_streams is probed with. */
const STREAM_COUNTS = [1, 2, 4, 8] as const;

/** Bytes per call of the "pieces" probes: about one 4096 x 4096 f32 matrix, as a matvec call reads. */
const PIECE_BYTES = 64 << 20;

/**
 * Read bandwidth over `bytes` (default 1 GiB) on all of the backend's threads: each probe's median of
 * `samples` calls (probes interleaved, so the host's drift hits them alike), the highest as roofline.
 * Probes: bandwidth_streams with S streams per thread over the whole region split once per thread
 * ("static"), over 8 dynamically taken chunks per thread as matvec schedules its rows ("dynamic",
 * multi-threaded only), and one 64 MiB call at a time ("pieces": streams a few MiB apart, as within
 * one weight matrix; measured faster than streams 256 MiB apart on the SPR VM); every range a line
 * count that puts no two streams a power of two apart (such streams share cache sets and DRAM
 * banks); and bandwidth_sum, the earlier single probe.
 */
export function measureReadBandwidth(backend: Backend, bytes = 1 << 30, samples = 5): ReadBandwidth {
  if (!isWasm(backend)) throw new Error(`measureReadBandwidth needs the wasm backend, got ${backend.name}`);
  const region = backend.reserve(bytes);
  try {
    // Touch every page first: never-written pages would read the shared zero page, not DRAM.
    backend.kernels.fill(new Float32Array(region.buffer, region.byteOffset, bytes / 4), 1);
    const lines = Math.floor(bytes / 64);
    const odd = lines - 1000;
    const pieces = Math.max(1, Math.floor(bytes / PIECE_BYTES));
    const pieceLines = Math.floor(Math.min(bytes, PIECE_BYTES) / 64) - 10;
    const p = region.byteOffset;
    const probes: { name: string; lines: number; run: () => void }[] = [{ name: 'bandwidth_sum', lines, run: () => backend.runExport('bandwidth_sum', [p], lines, 1024, true) }];
    for (const s of STREAM_COUNTS) {
      probes.push({ name: `streams=${s} static`, lines: odd, run: () => backend.runExport('bandwidth_streams', [p, s], odd, 1, true) });
      if (backend.threads > 1) probes.push({ name: `streams=${s} dynamic`, lines: odd, run: () => backend.runExport('bandwidth_streams', [p, s], odd, 1, true, 8) });
      const run = (): void => {
        for (let i = 0; i < pieces; i++) backend.runExport('bandwidth_streams', [p + i * PIECE_BYTES, s], pieceLines, 1, true);
      };
      probes.push({ name: `streams=${s} pieces`, lines: pieces * pieceLines, run });
    }
    for (const pr of probes) pr.run(); // warm-up
    const times = probes.map((): number[] => []);
    for (let i = 0; i < samples; i++) {
      probes.forEach((pr, j) => {
        const t0 = performance.now();
        pr.run();
        times[j].push(performance.now() - t0);
      });
    }
    const out: ReadBandwidth = { gbps: 0, best: '', probes: {} };
    probes.forEach((pr, j) => {
      const gbps = (pr.lines * 64) / (median(times[j]) * 1e6);
      out.probes[pr.name] = gbps;
      if (gbps > out.gbps) Object.assign(out, { gbps, best: pr.name });
    });
    return out;
  } finally {
    backend.unreserve(region);
  }
}

/** The higher of two bandwidth measurements (interference only lowers a probe). */
export function higherBandwidth(a: ReadBandwidth, b: ReadBandwidth): ReadBandwidth {
  return b.gbps > a.gbps ? b : a;
}

/**
 * GFLOP/s of register-only fma4 chains on all of the backend's threads (dynamically scheduled, so
 * a slower core contributes what it can): the compute ceiling of any SIMD128 kernel in this build.
 */
export function measureFmaPeak(backend: Backend, samples = 5): number {
  if (!isWasm(backend)) throw new Error(`measureFmaPeak needs the wasm backend, got ${backend.name}`);
  const items = 64;
  const iters = 200_000; // 64 × 200k × 80 flops ≈ 1 GFLOP per sample
  // The fastest sample: a peak is an upper bound, and another process on the cores only lowers a
  // sample (a median taken while one ran put the trainer's MFU above 1).
  const ms = Math.min(...sampleMs(() => backend.runExport('fma_peak', [iters], items, 1, true, 8), samples));
  return (items * iters * 80) / (ms * 1e6);
}
