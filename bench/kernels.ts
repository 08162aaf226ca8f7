// `npm run bench -- kernels`: wasm backend kernel throughput on this machine. f32 GEMM GFLOP/s at
// n = 256, 1024, 2048 (1 thread and all threads, selected SIMD variant plus plain when relaxed is
// selected) against the measured SIMD128 FMA peak at the same thread count; decode matvec GB/s
// for f32 and bf16 weights streamed from RAM (cycling > 1 GiB of distinct matrices) against the
// measured read bandwidth at the same thread count (the highest of the multi-stream read probes in
// roofline.ts) as roofline. The header and every --json row name the CPU, its ISA and the SIMD build.

import { availableParallelism } from 'node:os';
import type { GemmParams } from '../src/engine/kernels.js';
import { createWasmBackend, loadKernelModule, type SimdVariant, type WasmBackend } from '../src/engine/backends/wasm/backend.node.js';
import { higherBandwidth, measureFmaPeak, measureReadBandwidth } from '../src/eval/roofline.js';
import { hostFields, hostLine, readCpuInfo, type HostFields } from './host.js';
import { median } from './stats.js';

interface Row extends Partial<HostFields> {
  kind: 'gemm' | 'matvec' | 'bandwidth' | 'peak';
  n?: number;
  shape?: string;
  dtype: string;
  threads: number;
  gflops?: number;
  gbps?: number;
  pctRoofline?: number;
  /** gemm: % of the SIMD128 FMA peak (selected build, same threads) measured around the relaxed GEMMs. */
  pctPeak?: number;
  simd: SimdVariant;
  /** bandwidth: the probe that gave the roofline, and every probe's GB/s. */
  probe?: string;
  probes?: Record<string, number>;
}

const SAMPLES = 9;
const MIN_SAMPLE_MS = 60;
const COLD_BYTES = 1.1 * 2 ** 30;

function progress(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

/** Median seconds per call of fn, repeating inside a sample until it lasts MIN_SAMPLE_MS. */
function timeIt(fn: () => void): number {
  fn();
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) fn();
    const dt = performance.now() - t0;
    if (dt >= MIN_SAMPLE_MS || reps >= 1 << 16) break;
    reps = Math.max(reps * 2, Math.ceil((reps * MIN_SAMPLE_MS) / Math.max(dt, 0.01)));
  }
  const times: number[] = [];
  for (let s = 0; s < SAMPLES; s++) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) fn();
    times.push((performance.now() - t0) / reps);
  }
  return median(times) / 1000;
}

function f32View(be: WasmBackend, n: number): Float32Array {
  const r = be.reserve(n * 4);
  return new Float32Array(r.buffer, r.byteOffset, n);
}

function release(be: WasmBackend, ...arrays: ArrayBufferView[]): void {
  for (const a of arrays) be.unreserve({ buffer: a.buffer, byteOffset: a.byteOffset, byteLength: a.byteLength });
}

function benchGemm(be: WasmBackend, n: number): number {
  const a = f32View(be, n * n);
  const b = f32View(be, n * n);
  const c = f32View(be, n * n);
  for (let i = 0; i < n * n; i++) {
    a[i] = ((i * 7919) % 1000) / 1000 - 0.5;
    b[i] = ((i * 104729) % 1000) / 1000 - 0.5;
  }
  const p: GemmParams = { batch: 1, m: n, n, k: n, transA: false, transB: false, aStride: 0, bStride: 0, cStride: 0, bDtype: 'f32', accumulate: false };
  const sec = timeIt(() => be.kernels.gemm(a, b, c, p));
  release(be, a, b, c);
  return (2 * n ** 3) / sec / 1e9;
}

/** GB/s of weights read by y = W·x with W [rows, k], cycling through enough copies to touch > 1 GiB. */
function benchMatvec(be: WasmBackend, rows: number, k: number, dtype: 'f32' | 'bf16'): number {
  const es = dtype === 'f32' ? 4 : 2;
  const wBytes = rows * k * es;
  const copies = Math.ceil(COLD_BYTES / wBytes);
  const ws: (Float32Array | Uint16Array)[] = [];
  for (let i = 0; i < copies; i++) {
    const r = be.reserve(wBytes);
    const w = dtype === 'f32' ? new Float32Array(r.buffer, r.byteOffset, rows * k) : new Uint16Array(r.buffer, r.byteOffset, rows * k);
    be.kernels.fill(w, dtype === 'f32' ? 0.001 * (i + 1) : 0x3c00 + i);
    ws.push(w);
  }
  const x = f32View(be, k);
  x.fill(0.5);
  const y = f32View(be, rows);
  const p: GemmParams = { batch: 1, m: 1, n: rows, k, transA: false, transB: true, aStride: 0, bStride: 0, cStride: 0, bDtype: dtype, accumulate: false };
  const cycle = (): void => {
    for (const w of ws) be.kernels.gemm(x, w, y, p);
  };
  cycle();
  const times: number[] = [];
  for (let s = 0; s < SAMPLES; s++) {
    const t0 = performance.now();
    cycle();
    times.push((performance.now() - t0) / copies);
  }
  release(be, x, y, ...ws);
  return wBytes / (median(times) * 1e6);
}

export async function run(json: boolean): Promise<void> {
  const all = availableParallelism();
  const threadCounts = all > 1 ? [1, all] : [1];
  const selected: SimdVariant = loadKernelModule('relaxed') !== null ? 'relaxed' : 'plain';
  const variants: SimdVariant[] = selected === 'relaxed' ? ['relaxed', 'plain'] : ['plain'];
  const rows: Row[] = [];
  const peaks = new Map<number, number>();
  const cpu = readCpuInfo();
  const emit = (r0: Row): void => {
    const r = { ...r0, ...hostFields(cpu, 'wasm', r0.simd) };
    rows.push(r);
    if (json) process.stdout.write(`${JSON.stringify(r)}\n`);
  };

  for (const simd of variants) {
    for (const threads of threadCounts) {
      const be = await createWasmBackend({ threads, simd });
      try {
        // The ceiling is the FMA peak of the selected build (relaxed when available: mul + add
        // cannot beat FMA, so it bounds the plain build too), probed before and after the GEMMs;
        // the host's speed drifts between minutes and interference only lowers a probe, so the
        // higher of the two is the ceiling.
        const probe = (): number => (simd === selected ? measureFmaPeak(be) : NaN);
        if (simd === selected) progress(`fma peak ${simd} ${threads}T...`);
        const peakBefore = probe();
        const gemms: Row[] = [];
        for (const n of [256, 1024, 2048]) {
          progress(`gemm ${simd} ${threads}T n=${n}...`);
          gemms.push({ kind: 'gemm', n, dtype: 'f32', threads, gflops: benchGemm(be, n), simd });
        }
        if (simd === selected) {
          peaks.set(threads, Math.max(peakBefore, probe()));
          emit({ kind: 'peak', dtype: 'f32', threads, gflops: peaks.get(threads), simd });
        }
        const peak = peaks.get(threads) ?? NaN;
        for (const g of gemms) emit({ ...g, pctPeak: (100 * (g.gflops ?? 0)) / peak });
        if (simd !== selected) continue;
        // Bandwidth probed before and after the matvecs (the higher is the roofline, as for the peak).
        progress(`read bandwidth ${threads}T...`);
        const bwBefore = measureReadBandwidth(be);
        const mv: Row[] = [];
        for (const dtype of ['f32', 'bf16'] as const) {
          for (const [r, k] of [
            [4096, 4096],
            [4096, 11008],
          ]) {
            progress(`matvec ${dtype} ${r}x${k} ${threads}T...`);
            mv.push({ kind: 'matvec', shape: `${r}x${k}`, dtype, threads, gbps: benchMatvec(be, r, k, dtype), simd });
          }
        }
        const bw = higherBandwidth(bwBefore, measureReadBandwidth(be));
        const roof = bw.gbps;
        const probes = Object.fromEntries(Object.entries(bw.probes).map(([k, v]) => [k, Number(v.toFixed(2))]));
        emit({ kind: 'bandwidth', dtype: 'f32', threads, gbps: roof, simd, probe: bw.best, probes });
        for (const m of mv) emit({ ...m, pctRoofline: (100 * (m.gbps ?? 0)) / roof });
      } finally {
        await be.dispose();
      }
    }
  }
  if (!json) printTable(rows, selected);
}

function printTable(rows: Row[], selected: SimdVariant): void {
  const out: string[] = [hostLine(rows[0] as HostFields), ''];
  const threads = [...new Set(rows.map((r) => r.threads))].sort((a, b) => a - b);
  const tlabel = threads.map((t) => `${t}T`).join(' / ');
  out.push(`f32 GEMM, GFLOP/s (${tlabel}); FMA peak = register-only ${selected} fma4 chains, same threads (the ceiling for both builds)`);
  out.push('| simd | n=256 | n=1024 | n=2048 | FMA peak | n=2048 % of peak |');
  out.push('|---|---|---|---|---|---|');
  for (const simd of [...new Set(rows.filter((r) => r.kind === 'gemm').map((r) => r.simd))]) {
    const find = (kind: Row['kind'], t: number, n?: number): Row | undefined => rows.find((r) => r.kind === kind && r.simd === simd && r.threads === t && (n === undefined || r.n === n));
    const cell = (n: number): string => threads.map((t) => find('gemm', t, n)?.gflops?.toFixed(1) ?? '-').join(' / ');
    const peak = threads.map((t) => rows.find((r) => r.kind === 'peak' && r.threads === t)?.gflops?.toFixed(1) ?? '-').join(' / ');
    const pct = threads.map((t) => { const v = find('gemm', t, 2048)?.pctPeak; return v === undefined ? '-' : `${v.toFixed(0)}%`; }).join(' / ');
    out.push(`| ${simd} | ${cell(256)} | ${cell(1024)} | ${cell(2048)} | ${peak} | ${pct} |`);
  }
  out.push('');
  const bw = threads.map((t) => rows.find((r) => r.kind === 'bandwidth' && r.threads === t)?.gbps?.toFixed(1) ?? '-').join(' / ');
  const best = threads.map((t) => rows.find((r) => r.kind === 'bandwidth' && r.threads === t)?.probe ?? '-').join(' / ');
  out.push(`read bandwidth (highest of the wasm read probes over 1 GiB: 1/2/4/8 streams per thread), GB/s (${tlabel}): ${bw}  [${best}]`);
  out.push('');
  out.push(`matvec y = W·x, weights from RAM (> 1 GiB cycled), GB/s of W and % of read bandwidth (${tlabel}), ${selected} SIMD`);
  out.push('| weights | shape | GB/s | % roofline |');
  out.push('|---|---|---|---|');
  for (const r0 of rows.filter((r) => r.kind === 'matvec' && r.threads === threads[0])) {
    const same = threads.map((t) => rows.find((r) => r.kind === 'matvec' && r.dtype === r0.dtype && r.shape === r0.shape && r.threads === t));
    out.push(`| ${r0.dtype} | ${r0.shape} | ${same.map((r) => r?.gbps?.toFixed(1) ?? '-').join(' / ')} | ${same.map((r) => (r?.pctRoofline !== undefined ? `${r.pctRoofline.toFixed(0)}%` : '-')).join(' / ')} |`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}
