// Machine roofline probes for the benchmarks: streaming reads (bandwidth_streams with 1-8 streams
// per range, and the older four-stream bandwidth_sum; the ceiling for decode matvec is the highest,
// see bench/roofline.ts) and a register-only FMA loop (fma_peak, the ceiling for GEMM at SIMD128
// width with this build's fma4: relaxed_madd or mul + add). None writes memory beyond its scratch word.

import { fma4, hsum4 } from './simd';

/**
 * Read-bandwidth probe: sums f32 lanes of the 64-byte lines [start, end) from p and stores the sum at
 * scratch (so the loads are live). The range is read as four concurrent sequential streams (as
 * matvec reads four W rows), which is what the hardware prefetchers need to reach full bandwidth.
 * The first probe, kept as one of the roofline's: it reads below bandwidth_streams' four streams on
 * the SPR VM (13.1-13.6 vs 14.6-15.3 GB/s on one thread), so alone it understated the roofline.
 */
export function bandwidth_sum(p: usize, start: i32, end: i32, scratch: usize): void {
  let a = f32x4.splat(0), b = f32x4.splat(0), c = f32x4.splat(0), d = f32x4.splat(0);
  const quarter = <usize>((end - start) >> 2) << 6;
  let q = p + (<usize>start << 6);
  const e = q + quarter;
  for (; q < e; q += 64) {
    a = f32x4.add(a, f32x4.add(v128.load(q), v128.load(q, 16)));
    b = f32x4.add(b, f32x4.add(v128.load(q + quarter), v128.load(q + quarter, 16)));
    c = f32x4.add(c, f32x4.add(v128.load(q + 2 * quarter), v128.load(q + 2 * quarter, 16)));
    d = f32x4.add(d, f32x4.add(v128.load(q + 3 * quarter), v128.load(q + 3 * quarter, 16)));
    a = f32x4.add(a, f32x4.add(v128.load(q, 32), v128.load(q, 48)));
    b = f32x4.add(b, f32x4.add(v128.load(q + quarter, 32), v128.load(q + quarter, 48)));
    c = f32x4.add(c, f32x4.add(v128.load(q + 2 * quarter, 32), v128.load(q + 2 * quarter, 48)));
    d = f32x4.add(d, f32x4.add(v128.load(q + 3 * quarter, 32), v128.load(q + 3 * quarter, 48)));
  }
  // Lines left over after four equal streams.
  q = p + (<usize>start << 6) + 4 * quarter;
  const tail = p + (<usize>end << 6);
  for (; q < tail; q += 64) a = f32x4.add(a, f32x4.add(f32x4.add(v128.load(q), v128.load(q, 16)), f32x4.add(v128.load(q, 32), v128.load(q, 48))));
  store<f32>(scratch, hsum4(f32x4.add(f32x4.add(a, b), f32x4.add(c, d))));
}

/**
 * Multi-stream read probe: sums the 64-byte lines [start, end) from p, read as `streams` (1, 2, 4 or
 * 8) equal parts at once, each one sequential stream, as matvec reads its four (or three) W rows;
 * the sum goes to scratch so the loads are live. Every step loads 128 bytes (eight vectors, 128 /
 * streams from each stream) into four independent accumulators, so neither the add latency nor
 * the register budget caps it below DRAM speed; lines after the equal parts are read at the end.
 */
export function bandwidth_streams(p: usize, streams: i32, start: i32, end: i32, scratch: usize): void {
  const s = streams <= 1 ? 1 : streams <= 2 ? 2 : streams <= 4 ? 4 : 8;
  // Parts of whole 128-byte steps: an even number of lines each.
  const part = <usize>(((end - start) / s) & ~1) << 6;
  let a = f32x4.splat(0), b = f32x4.splat(0), c = f32x4.splat(0), d = f32x4.splat(0);
  let q = p + (<usize>start << 6);
  const e = q + part;
  if (s == 1) {
    for (; q < e; q += 128) {
      a = f32x4.add(a, f32x4.add(v128.load(q), v128.load(q, 16)));
      b = f32x4.add(b, f32x4.add(v128.load(q, 32), v128.load(q, 48)));
      c = f32x4.add(c, f32x4.add(v128.load(q, 64), v128.load(q, 80)));
      d = f32x4.add(d, f32x4.add(v128.load(q, 96), v128.load(q, 112)));
    }
  } else if (s == 2) {
    for (; q < e; q += 64) {
      const q1 = q + part;
      a = f32x4.add(a, f32x4.add(v128.load(q), v128.load(q, 16)));
      b = f32x4.add(b, f32x4.add(v128.load(q, 32), v128.load(q, 48)));
      c = f32x4.add(c, f32x4.add(v128.load(q1), v128.load(q1, 16)));
      d = f32x4.add(d, f32x4.add(v128.load(q1, 32), v128.load(q1, 48)));
    }
  } else if (s == 4) {
    for (; q < e; q += 32) {
      const q1 = q + part, q2 = q + 2 * part, q3 = q + 3 * part;
      a = f32x4.add(a, f32x4.add(v128.load(q), v128.load(q, 16)));
      b = f32x4.add(b, f32x4.add(v128.load(q1), v128.load(q1, 16)));
      c = f32x4.add(c, f32x4.add(v128.load(q2), v128.load(q2, 16)));
      d = f32x4.add(d, f32x4.add(v128.load(q3), v128.load(q3, 16)));
    }
  } else {
    for (; q < e; q += 16) {
      const q2 = q + 2 * part, q4 = q + 4 * part, q6 = q + 6 * part;
      a = f32x4.add(a, f32x4.add(v128.load(q), v128.load(q + part)));
      b = f32x4.add(b, f32x4.add(v128.load(q2), v128.load(q2 + part)));
      c = f32x4.add(c, f32x4.add(v128.load(q4), v128.load(q4 + part)));
      d = f32x4.add(d, f32x4.add(v128.load(q6), v128.load(q6 + part)));
    }
  }
  q = p + (<usize>start << 6) + <usize>s * part;
  const tail = p + (<usize>end << 6);
  for (; q < tail; q += 64) a = f32x4.add(a, f32x4.add(f32x4.add(v128.load(q), v128.load(q, 16)), f32x4.add(v128.load(q, 32), v128.load(q, 48))));
  store<f32>(scratch, hsum4(f32x4.add(f32x4.add(a, b), f32x4.add(c, d))));
}

/**
 * Compute probe: each of the items [start, end) runs `iters` steps of ten independent 4-lane fma4
 * chains with no loads, 80 flops per step; the result is stored at scratch so the chains stay live.
 * Ten chains cover the FMA latency x throughput product of current x86 cores (4 cycles x 2 ports),
 * so the relaxed build measures the machine's SIMD128 FMA peak. In the plain build each chain step
 * is a dependent multiply then add, so it reads low; the benchmarks use the relaxed figure as the
 * ceiling for both builds (mul + add cannot beat FMA) and this build's only when relaxed is missing.
 */
export function fma_peak(iters: i32, start: i32, end: i32, scratch: usize): void {
  const x = f32x4.splat(<f32>0.9999999);
  const y = f32x4.splat(<f32>1e-7);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(1), a2 = f32x4.splat(2), a3 = f32x4.splat(3), a4 = f32x4.splat(4);
  let a5 = f32x4.splat(5), a6 = f32x4.splat(6), a7 = f32x4.splat(7), a8 = f32x4.splat(8), a9 = f32x4.splat(9);
  for (let item = start; item < end; item++) {
    for (let i = 0; i < iters; i++) {
      a0 = fma4(a0, x, y); a1 = fma4(a1, x, y); a2 = fma4(a2, x, y); a3 = fma4(a3, x, y); a4 = fma4(a4, x, y);
      a5 = fma4(a5, x, y); a6 = fma4(a6, x, y); a7 = fma4(a7, x, y); a8 = fma4(a8, x, y); a9 = fma4(a9, x, y);
    }
  }
  const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(f32x4.add(a6, a7), f32x4.add(a8, a9))));
  store<f32>(scratch, hsum4(s));
}
