// Machine roofline probes for the benchmarks: a streaming read (bandwidth_sum, the ceiling for
// decode matvec) and a register-only FMA loop (fma_peak, the ceiling for GEMM at SIMD128 width with
// this build's fma4: relaxed_madd or mul + add). Neither touches memory beyond its scratch word.

import { fma4, hsum4 } from './simd';

/**
 * Read-bandwidth probe: sums f32 lanes of the 64-byte lines [start, end) from p and stores the sum at
 * scratch (so the loads are live). The range is read as four concurrent sequential streams (as
 * matvec reads four W rows), which is what the hardware prefetchers need to reach full bandwidth.
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
