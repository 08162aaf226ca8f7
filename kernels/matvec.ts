// Decode-shaped products: Y[i, j] (+)= Σ_p X[i, p] · W[j, p] for a few rows of X (m ≤ 8) and W
// stored n x k (nn.Linear layout) as f32, bf16 or f16, widened in registers. Four W rows (three for
// three bf16 x rows) share each load of X, read as long streams from equal parts of the row range;
// W streams once per call, so one x row runs at memory bandwidth. Threading: the caller gives the
// W row range. The bandwidth probe used as roofline is in probes.ts.

import { fma4, hsum4, bf16ToF32, f16ToF32, f16x4, DT_F32, DT_BF16 } from './simd';
import { gemm_scratch_bytes } from './matmul';

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
function dot4f32(r0: usize, rs: usize, x: usize, k: i32, y: usize, ys: usize, acc: bool): void {
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
  put(y, s0, acc); put(y + ys, s1, acc); put(y + 2 * ys, s2, acc); put(y + 3 * ys, s3, acc);
}

/** Four W rows of 16-bit weights (bf16 or f16) against one x of length k. */
function dot4h(r0: usize, rs: usize, x: usize, k: i32, y: usize, ys: usize, acc: bool, dt: i32): void {
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
  put(y, s0, acc); put(y + ys, s1, acc); put(y + 2 * ys, s2, acc); put(y + 3 * ys, s3, acc);
}

/**
 * Four bf16 W rows against x deinterleaved per block of 8 as [x0 x2 x4 x6 x1 x3 x5 x7]: the even
 * weights of a u32 lane are `lane << 16`, the odd ones `lane & 0xffff0000`, one op per 4 weights.
 * Requires k % 8 == 0.
 */
function dot4bf16(r0: usize, rs: usize, xd: usize, k: i32, y: usize, ys: usize, acc: bool): void {
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
  put(y, hsum4(f32x4.add(a0, b0)), acc); put(y + ys, hsum4(f32x4.add(a1, b1)), acc);
  put(y + 2 * ys, hsum4(f32x4.add(a2, b2)), acc); put(y + 3 * ys, hsum4(f32x4.add(a3, b3)), acc);
}

// Several x rows (guidance decodes 2 or 3 rows per step) make the product compute-bound, so these
// kernels are built for V8's code generator: TurboFan hoists all of a loop body's loads to its top,
// so a body holding more than ~15 vectors spills accumulators to the stack (an earlier 4-row x 3
// kernel ran at a third of the FMA peak for that reason). Four weights per step are loaded already
// widened (load16x4_u, then << 16: no mask register, no x deinterleaving), x comes packed so that
// one pointer serves every row ([k/4][m][4] in scratch), and pointers are bumped instead of
// recomputed, which halves the scalar instructions per step.

/** Packs m rows of x (m x k) as [k/4][m][4] at dst. Requires k % 4 == 0. */
function packRows(x: usize, m: i32, k: i32, dst: usize): void {
  const xs = <usize>k << 2;
  let d = dst;
  for (let p = 0; p < k; p += 4) {
    let s = x + (<usize>p << 2);
    for (let i = 0; i < m; i++) {
      v128.store(d, v128.load(s));
      s += xs;
      d += 16;
    }
  }
}

/**
 * Four bf16 W rows against two x rows packed by packRows: 8 accumulators + 2 x + 4 w = 14 vectors.
 * y row i gets outputs j..j+3 at y + i·ldy. Requires k % 4 == 0.
 */
function dot4bf16x2(r0: usize, rs: usize, xq: usize, k: i32, y: usize, ys: usize, ldy: usize, acc: bool): void {
  let p0 = r0, p1 = r0 + rs, p2 = r0 + 2 * rs, p3 = r0 + 3 * rs;
  const end = r0 + (<usize>k << 1);
  let xp = xq;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
  while (p0 < end) {
    const x0 = v128.load(xp), x1 = v128.load(xp, 16);
    let w = i32x4.shl(v128.load16x4_u(p0), 16);
    a0 = fma4(w, x0, a0); b0 = fma4(w, x1, b0);
    w = i32x4.shl(v128.load16x4_u(p1), 16);
    a1 = fma4(w, x0, a1); b1 = fma4(w, x1, b1);
    w = i32x4.shl(v128.load16x4_u(p2), 16);
    a2 = fma4(w, x0, a2); b2 = fma4(w, x1, b2);
    w = i32x4.shl(v128.load16x4_u(p3), 16);
    a3 = fma4(w, x0, a3); b3 = fma4(w, x1, b3);
    p0 += 8; p1 += 8; p2 += 8; p3 += 8; xp += 32;
  }
  put(y, hsum4(a0), acc); put(y + ys, hsum4(a1), acc); put(y + 2 * ys, hsum4(a2), acc); put(y + 3 * ys, hsum4(a3), acc);
  const y1 = y + ldy;
  put(y1, hsum4(b0), acc); put(y1 + ys, hsum4(b1), acc); put(y1 + 2 * ys, hsum4(b2), acc); put(y1 + 3 * ys, hsum4(b3), acc);
}

/**
 * Three bf16 W rows against three x rows packed by packRows (3-way CFG): 9 accumulators + 3 x + 3 w
 * = 15 vectors, the most that stays in registers; three W rows keep three DRAM streams per thread in
 * flight. Requires k % 4 == 0.
 */
function dot3bf16x3(r0: usize, rs: usize, xq: usize, k: i32, y: usize, ys: usize, ldy: usize, acc: bool): void {
  let p0 = r0, p1 = r0 + rs, p2 = r0 + 2 * rs;
  const end = r0 + (<usize>k << 1);
  let xp = xq;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0);
  let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0);
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0);
  while (p0 < end) {
    const x0 = v128.load(xp), x1 = v128.load(xp, 16), x2 = v128.load(xp, 32);
    let w = i32x4.shl(v128.load16x4_u(p0), 16);
    a0 = fma4(w, x0, a0); b0 = fma4(w, x1, b0); c0 = fma4(w, x2, c0);
    w = i32x4.shl(v128.load16x4_u(p1), 16);
    a1 = fma4(w, x0, a1); b1 = fma4(w, x1, b1); c1 = fma4(w, x2, c1);
    w = i32x4.shl(v128.load16x4_u(p2), 16);
    a2 = fma4(w, x0, a2); b2 = fma4(w, x1, b2); c2 = fma4(w, x2, c2);
    p0 += 8; p1 += 8; p2 += 8; xp += 48;
  }
  put(y, hsum4(a0), acc); put(y + ys, hsum4(a1), acc); put(y + 2 * ys, hsum4(a2), acc);
  const y1 = y + ldy;
  put(y1, hsum4(b0), acc); put(y1 + ys, hsum4(b1), acc); put(y1 + 2 * ys, hsum4(b2), acc);
  const y2 = y + 2 * ldy;
  put(y2, hsum4(c0), acc); put(y2 + ys, hsum4(c1), acc); put(y2 + 2 * ys, hsum4(c2), acc);
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
  // bf16 fast path: x goes into this participant's scratch once per call, packed for the 2- and
  // 3-row kernels (packRows, pairs of rows for m >= 4) and deinterleaved for the 1-row kernel.
  const fast = dt == DT_BF16 && (k & 7) == 0 && <i64>m * <i64>k * 4 <= <i64>gemm_scratch_bytes();
  if (fast && m == 3) packRows(x, 3, k, scratch);
  else if (fast && m >= 2) {
    // Pairs of rows packed at scratch + i·k·4 (i even); an odd last row stays deinterleaved there.
    for (let i = 0; i + 1 < m; i += 2) packRows(x + ((<usize>i * <usize>k) << 2), 2, k, scratch + ((<usize>i * <usize>k) << 2));
  }
  if (fast && (m == 1 || (m > 3 && (m & 1) == 1))) {
    const first = m == 1 ? 0 : m - 1;
    for (let i = first; i < m; i++) {
      const src = x + ((<usize>i * <usize>k) << 2);
      const dst = scratch + ((<usize>i * <usize>k) << 2);
      for (let p = 0; p < k; p += 8) {
        const u = v128.load(src + (<usize>p << 2)), v = v128.load(src + (<usize>p << 2), 16);
        v128.store(dst + (<usize>p << 2), v128.shuffle<f32>(u, v, 0, 2, 4, 6));
        v128.store(dst + (<usize>p << 2), v128.shuffle<f32>(u, v, 1, 3, 5, 7), 16);
      }
    }
  }
  // The W rows a kernel call reads together are the same offset into equal parts of this range
  // (quarters, or thirds for three bf16 x rows), so each is one long sequential stream; adjacent
  // rows would be separate short streams that restart the prefetchers every block (a 4 KiB row is
  // one page). Measured on one 1B decode step: 67-76 % -> 79-85 % of the read bandwidth.
  const ldy = <usize>n << 2;
  const parts = fast && m == 3 ? 3 : 4;
  const q = (end - start) / parts;
  const rsq = <usize>q * rs;
  const ys = <usize>q << 2;
  for (let i = 0; i < q; i++) {
    const r0 = w + <usize>(start + i) * rs;
    const yj = y + (<usize>(start + i) << 2);
    if (fast && m == 1) dot4bf16(r0, rsq, scratch, k, yj, ys, acc);
    else if (fast && m == 3) dot3bf16x3(r0, rsq, scratch, k, yj, ys, ldy, acc);
    else if (fast) {
      // Pairs of x rows widen each weight once; an odd last row takes a second (cached) pass.
      for (let r = 0; r < m; r += 2) {
        const xr = scratch + ((<usize>r * <usize>k) << 2);
        const yr = yj + <usize>r * ldy;
        if (r + 1 < m) dot4bf16x2(r0, rsq, xr, k, yr, ys, ldy, acc);
        else dot4bf16(r0, rsq, xr, k, yr, ys, acc);
      }
    } else {
      for (let r = 0; r < m; r++) {
        const xr = x + ((<usize>r * <usize>k) << 2);
        const yr = yj + <usize>r * ldy;
        if (dt == DT_F32) dot4f32(r0, rsq, xr, k, yr, ys, acc);
        else dot4h(r0, rsq, xr, k, yr, ys, acc, dt);
      }
    }
  }
  let j = start + parts * q;
  for (; j < end; j++) {
    for (let i = 0; i < m; i++) {
      const yi = y + ((<usize>i * <usize>n + <usize>j) << 2);
      put(yi, dot1(w + <usize>j * rs, x + ((<usize>i * <usize>k) << 2), k, dt), acc);
    }
  }
}
