// Decode-shaped products: Y[i, j] (+)= Σ_p X[i, p] · W[j, p] for a few rows of X (m ≤ 8) and W
// stored n x k (nn.Linear layout) as f32, bf16 or f16, widened in registers. Four W rows share
// each load of X; W streams once per call, so this runs at memory bandwidth. Also the read-
// bandwidth probe used as the benchmark roofline. Threading: the caller gives the W row range.

import { fma4, hsum4, bf16ToF32, f16ToF32, f16x4, DT_F32, DT_BF16 } from './simd';
import { gemm_scratch_bytes } from './gemm';

@inline function widenLo(w: v128, dt: i32): v128 {
  const u = i32x4.extend_low_i16x8_u(w);
  return dt == DT_BF16 ? i32x4.shl(u, 16) : f16x4(u);
}

@inline function widenHi(w: v128, dt: i32): v128 {
  const u = i32x4.extend_high_i16x8_u(w);
  return dt == DT_BF16 ? i32x4.shl(u, 16) : f16x4(u);
}

@inline function w1(p: usize, dt: i32): f32 {
  if (dt == DT_F32) return load<f32>(p);
  const h = <u32>load<u16>(p);
  return dt == DT_BF16 ? bf16ToF32(h) : f16ToF32(h);
}

@inline function put(y: usize, v: f32, acc: bool): void {
  store<f32>(y, acc ? load<f32>(y) + v : v);
}

/** Four W rows (r0 + q*rs) against one x of length k, f32 weights. */
function dot4f32(r0: usize, rs: usize, x: usize, k: i32, y: usize, acc: bool): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
  const r1 = r0 + rs, r2 = r0 + 2 * rs, r3 = r0 + 3 * rs;
  let p = 0;
  for (; p + 8 <= k; p += 8) {
    const o = <usize>p << 2;
    const x0 = v128.load(x + o);
    const x1 = v128.load(x + o, 16);
    a0 = fma4(v128.load(r0 + o), x0, a0); b0 = fma4(v128.load(r0 + o, 16), x1, b0);
    a1 = fma4(v128.load(r1 + o), x0, a1); b1 = fma4(v128.load(r1 + o, 16), x1, b1);
    a2 = fma4(v128.load(r2 + o), x0, a2); b2 = fma4(v128.load(r2 + o, 16), x1, b2);
    a3 = fma4(v128.load(r3 + o), x0, a3); b3 = fma4(v128.load(r3 + o, 16), x1, b3);
  }
  let s0 = hsum4(f32x4.add(a0, b0)), s1 = hsum4(f32x4.add(a1, b1));
  let s2 = hsum4(f32x4.add(a2, b2)), s3 = hsum4(f32x4.add(a3, b3));
  for (; p < k; p++) {
    const o = <usize>p << 2;
    const xv = load<f32>(x + o);
    s0 += load<f32>(r0 + o) * xv; s1 += load<f32>(r1 + o) * xv;
    s2 += load<f32>(r2 + o) * xv; s3 += load<f32>(r3 + o) * xv;
  }
  put(y, s0, acc); put(y + 4, s1, acc); put(y + 8, s2, acc); put(y + 12, s3, acc);
}

/** Four W rows of 16-bit weights (bf16 or f16) against one x of length k. */
function dot4h(r0: usize, rs: usize, x: usize, k: i32, y: usize, acc: bool, dt: i32): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
  const r1 = r0 + rs, r2 = r0 + 2 * rs, r3 = r0 + 3 * rs;
  let p = 0;
  for (; p + 8 <= k; p += 8) {
    const o = <usize>p << 1;
    const x0 = v128.load(x + (o << 1));
    const x1 = v128.load(x + (o << 1), 16);
    let w = v128.load(r0 + o);
    a0 = fma4(widenLo(w, dt), x0, a0); b0 = fma4(widenHi(w, dt), x1, b0);
    w = v128.load(r1 + o);
    a1 = fma4(widenLo(w, dt), x0, a1); b1 = fma4(widenHi(w, dt), x1, b1);
    w = v128.load(r2 + o);
    a2 = fma4(widenLo(w, dt), x0, a2); b2 = fma4(widenHi(w, dt), x1, b2);
    w = v128.load(r3 + o);
    a3 = fma4(widenLo(w, dt), x0, a3); b3 = fma4(widenHi(w, dt), x1, b3);
  }
  let s0 = hsum4(f32x4.add(a0, b0)), s1 = hsum4(f32x4.add(a1, b1));
  let s2 = hsum4(f32x4.add(a2, b2)), s3 = hsum4(f32x4.add(a3, b3));
  for (; p < k; p++) {
    const o = <usize>p << 1;
    const xv = load<f32>(x + (o << 1));
    s0 += w1(r0 + o, dt) * xv; s1 += w1(r1 + o, dt) * xv;
    s2 += w1(r2 + o, dt) * xv; s3 += w1(r3 + o, dt) * xv;
  }
  put(y, s0, acc); put(y + 4, s1, acc); put(y + 8, s2, acc); put(y + 12, s3, acc);
}

/**
 * Four bf16 W rows against x deinterleaved per block of 8 as [x0 x2 x4 x6 x1 x3 x5 x7]: the even
 * weights of a u32 lane are `lane << 16`, the odd ones `lane & 0xffff0000`, one op per 4 weights.
 * Requires k % 8 == 0.
 */
function dot4bf16(r0: usize, rs: usize, xd: usize, k: i32, y: usize, acc: bool): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
  const r1 = r0 + rs, r2 = r0 + 2 * rs, r3 = r0 + 3 * rs;
  const hi = i32x4.splat(0xffff0000);
  for (let p = 0; p < k; p += 8) {
    const o = <usize>p << 1;
    const xe = v128.load(xd + (o << 1));
    const xo = v128.load(xd + (o << 1), 16);
    let w = v128.load(r0 + o);
    a0 = fma4(i32x4.shl(w, 16), xe, a0); b0 = fma4(v128.and(w, hi), xo, b0);
    w = v128.load(r1 + o);
    a1 = fma4(i32x4.shl(w, 16), xe, a1); b1 = fma4(v128.and(w, hi), xo, b1);
    w = v128.load(r2 + o);
    a2 = fma4(i32x4.shl(w, 16), xe, a2); b2 = fma4(v128.and(w, hi), xo, b2);
    w = v128.load(r3 + o);
    a3 = fma4(i32x4.shl(w, 16), xe, a3); b3 = fma4(v128.and(w, hi), xo, b3);
  }
  put(y, hsum4(f32x4.add(a0, b0)), acc); put(y + 4, hsum4(f32x4.add(a1, b1)), acc);
  put(y + 8, hsum4(f32x4.add(a2, b2)), acc); put(y + 12, hsum4(f32x4.add(a3, b3)), acc);
}

/**
 * Four W rows (bf16) against two deinterleaved x rows: each weight vector is loaded and widened once
 * for both rows. Four W rows keep four DRAM streams in flight (two streams reach only ~60 % of the
 * bandwidth); several x rows (classifier-free guidance decodes three) are taken two at a time, and a
 * second pass over the same four rows hits the cache. y row i gets outputs j..j+3 at y + i·ldy.
 */
function dot4bf16x2(r0: usize, rs: usize, xd: usize, k: i32, y: usize, ldy: usize, acc: bool): void {
  const r1 = r0 + rs, r2 = r0 + 2 * rs, r3 = r0 + 3 * rs;
  const hi = i32x4.splat(0xffff0000);
  const xs = <usize>k << 2;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
  for (let p = 0; p < k; p += 8) {
    const o = <usize>p << 1;
    const x = xd + (o << 1);
    const xe = v128.load(x), xo = v128.load(x, 16);
    const ye = v128.load(x + xs), yo = v128.load(x + xs, 16);
    let w = v128.load(r0 + o);
    let e = i32x4.shl(w, 16), d = v128.and(w, hi);
    a0 = fma4(e, xe, fma4(d, xo, a0)); b0 = fma4(e, ye, fma4(d, yo, b0));
    w = v128.load(r1 + o);
    e = i32x4.shl(w, 16); d = v128.and(w, hi);
    a1 = fma4(e, xe, fma4(d, xo, a1)); b1 = fma4(e, ye, fma4(d, yo, b1));
    w = v128.load(r2 + o);
    e = i32x4.shl(w, 16); d = v128.and(w, hi);
    a2 = fma4(e, xe, fma4(d, xo, a2)); b2 = fma4(e, ye, fma4(d, yo, b2));
    w = v128.load(r3 + o);
    e = i32x4.shl(w, 16); d = v128.and(w, hi);
    a3 = fma4(e, xe, fma4(d, xo, a3)); b3 = fma4(e, ye, fma4(d, yo, b3));
  }
  put(y, hsum4(a0), acc); put(y + 4, hsum4(a1), acc); put(y + 8, hsum4(a2), acc); put(y + 12, hsum4(a3), acc);
  put(y + ldy, hsum4(b0), acc); put(y + ldy + 4, hsum4(b1), acc); put(y + ldy + 8, hsum4(b2), acc); put(y + ldy + 12, hsum4(b3), acc);
}

/**
 * dot4bf16x2 for three x rows at once (the 3-way CFG decode): 12 chained accumulators, each weight
 * vector widened once for all three rows.
 */
function dot4bf16x3(r0: usize, rs: usize, xd: usize, k: i32, y: usize, ldy: usize, acc: bool): void {
  const r1 = r0 + rs, r2 = r0 + 2 * rs, r3 = r0 + 3 * rs;
  const hi = i32x4.splat(0xffff0000);
  const xs = <usize>k << 2;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  for (let p = 0; p < k; p += 8) {
    const o = <usize>p << 1;
    const x = xd + (o << 1);
    let w = v128.load(r0 + o);
    let e = i32x4.shl(w, 16), d = v128.and(w, hi);
    a0 = fma4(e, v128.load(x), fma4(d, v128.load(x, 16), a0));
    b0 = fma4(e, v128.load(x + xs), fma4(d, v128.load(x + xs, 16), b0));
    c0 = fma4(e, v128.load(x + 2 * xs), fma4(d, v128.load(x + 2 * xs, 16), c0));
    w = v128.load(r1 + o);
    e = i32x4.shl(w, 16); d = v128.and(w, hi);
    a1 = fma4(e, v128.load(x), fma4(d, v128.load(x, 16), a1));
    b1 = fma4(e, v128.load(x + xs), fma4(d, v128.load(x + xs, 16), b1));
    c1 = fma4(e, v128.load(x + 2 * xs), fma4(d, v128.load(x + 2 * xs, 16), c1));
    w = v128.load(r2 + o);
    e = i32x4.shl(w, 16); d = v128.and(w, hi);
    a2 = fma4(e, v128.load(x), fma4(d, v128.load(x, 16), a2));
    b2 = fma4(e, v128.load(x + xs), fma4(d, v128.load(x + xs, 16), b2));
    c2 = fma4(e, v128.load(x + 2 * xs), fma4(d, v128.load(x + 2 * xs, 16), c2));
    w = v128.load(r3 + o);
    e = i32x4.shl(w, 16); d = v128.and(w, hi);
    a3 = fma4(e, v128.load(x), fma4(d, v128.load(x, 16), a3));
    b3 = fma4(e, v128.load(x + xs), fma4(d, v128.load(x + xs, 16), b3));
    c3 = fma4(e, v128.load(x + 2 * xs), fma4(d, v128.load(x + 2 * xs, 16), c3));
  }
  put(y, hsum4(a0), acc); put(y + 4, hsum4(a1), acc); put(y + 8, hsum4(a2), acc); put(y + 12, hsum4(a3), acc);
  put(y + ldy, hsum4(b0), acc); put(y + ldy + 4, hsum4(b1), acc); put(y + ldy + 8, hsum4(b2), acc); put(y + ldy + 12, hsum4(b3), acc);
  const y2 = y + 2 * ldy;
  put(y2, hsum4(c0), acc); put(y2 + 4, hsum4(c1), acc); put(y2 + 8, hsum4(c2), acc); put(y2 + 12, hsum4(c3), acc);
}

/** One W row against one x (row-range tails). */
function dot1(r: usize, x: usize, k: i32, dt: i32): f32 {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
  let p = 0;
  if (dt == DT_F32) {
    for (; p + 8 <= k; p += 8) {
      const o = <usize>p << 2;
      s0 = fma4(v128.load(r + o), v128.load(x + o), s0);
      s1 = fma4(v128.load(r + o, 16), v128.load(x + o, 16), s1);
    }
  } else {
    for (; p + 8 <= k; p += 8) {
      const o = <usize>p << 1;
      const w = v128.load(r + o);
      s0 = fma4(widenLo(w, dt), v128.load(x + (o << 1)), s0);
      s1 = fma4(widenHi(w, dt), v128.load(x + (o << 1), 16), s1);
    }
  }
  let s = hsum4(f32x4.add(s0, s1));
  const es: usize = dt == DT_F32 ? 4 : 2;
  for (; p < k; p++) s += w1(r + <usize>p * es, dt) * load<f32>(x + (<usize>p << 2));
  return s;
}

/**
 * y[i, j] (+)= Σ_p x[i, p] · w[j, p] for i < m, j in [start, end). x: m x k f32, w: n x k of dtype
 * dt, y: m x n f32. flags: bit2 accumulate, bits 3-4 dtype (same encoding as gemm).
 */
export function matvec(x: usize, w: usize, y: usize, m: i32, n: i32, k: i32, flags: i32, start: i32, end: i32, scratch: usize): void {
  const acc = (flags & 4) != 0;
  const dt = (flags >> 3) & 3;
  const es: usize = dt == DT_F32 ? 4 : 2;
  const rs = <usize>k * es;
  // bf16 fast path: deinterleave x into this participant's scratch once per call.
  const deint = dt == DT_BF16 && (k & 7) == 0 && <i64>m * <i64>k * 4 <= <i64>gemm_scratch_bytes();
  if (deint) {
    for (let i = 0; i < m; i++) {
      const src = x + ((<usize>i * <usize>k) << 2);
      const dst = scratch + ((<usize>i * <usize>k) << 2);
      for (let p = 0; p < k; p += 8) {
        const u = v128.load(src + (<usize>p << 2)), v = v128.load(src + (<usize>p << 2), 16);
        v128.store(dst + (<usize>p << 2), v128.shuffle<f32>(u, v, 0, 2, 4, 6));
        v128.store(dst + (<usize>p << 2), v128.shuffle<f32>(u, v, 1, 3, 5, 7), 16);
      }
    }
  }
  let j = start;
  if (deint && m >= 2) {
    // Several x rows: widen each weight once per pair of x rows (see dot4bf16x2).
    const ldy = <usize>n << 2;
    for (; j + 4 <= end; j += 4) {
      const r0 = w + <usize>j * rs;
      if (m == 3) {
        dot4bf16x3(r0, rs, scratch, k, y + (<usize>j << 2), ldy, acc);
        continue;
      }
      for (let i = 0; i < m; i += 2) {
        const xd = scratch + ((<usize>i * <usize>k) << 2);
        const yi = y + ((<usize>i * <usize>n + <usize>j) << 2);
        if (i + 1 < m) dot4bf16x2(r0, rs, xd, k, yi, ldy, acc);
        else dot4bf16(r0, rs, xd, k, yi, acc);
      }
    }
  }
  for (; j + 4 <= end; j += 4) {
    const r0 = w + <usize>j * rs;
    for (let i = 0; i < m; i++) {
      const xi = x + ((<usize>i * <usize>k) << 2);
      const yi = y + ((<usize>i * <usize>n + <usize>j) << 2);
      if (dt == DT_F32) dot4f32(r0, rs, xi, k, yi, acc);
      else if (deint) dot4bf16(r0, rs, scratch + ((<usize>i * <usize>k) << 2), k, yi, acc);
      else dot4h(r0, rs, xi, k, yi, acc, dt);
    }
  }
  for (; j < end; j++) {
    for (let i = 0; i < m; i++) {
      const yi = y + ((<usize>i * <usize>n + <usize>j) << 2);
      put(yi, dot1(w + <usize>j * rs, x + ((<usize>i * <usize>k) << 2), k, dt), acc);
    }
  }
}

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
