// Matrix products C[b] (+)= op(A[b])·op(B[b]) with B stored as f32, bf16 or f16 (widened in the
// kernel). gemm: GotoBLAS-style loops (NC x KC panels of B, MC x KC blocks of A) around a 4x8
// register micro-kernel, edge panels zero-padded so any m, n, k works; operands whose rows lie far
// apart are packed reading whole row segments. matvec: the decode shape (a
// few rows of X against nn.Linear weights W [n, k]), W streamed once. Each call computes one
// participant's share (a range of batches, rows or columns); threading and scratch are the caller's.

import { fma4, hsum4, loadW4, loadW1, dtSize, bf16ToF32, f16ToF32, f16x4, DT_F32, DT_BF16, tr0, tr1, tr2, tr3 } from './simd';

const MR: i32 = 4;
const NR: i32 = 8;
const KC: i32 = 256;
const MC: i32 = 32;
const NC: i32 = 1024;

/** Rows of op(A) packed per pass when A is transposed (see packAtRows). */
const AT_ROWS: i32 = 256;

const A_PACK_BYTES: usize = <usize>(AT_ROWS * KC * 4);
const B_PACK_BYTES: usize = <usize>(KC * NC * 4);
const TILE_BYTES: usize = <usize>(MR * NR * 4);

/** Bytes of per-participant scratch gemm needs (packed A block, packed B panel, edge tile). */
export function gemm_scratch_bytes(): i32 {
  return <i32>(A_PACK_BYTES + B_PACK_BYTES + TILE_BYTES);
}

/** Packs rows [i, i+4) x cols [p0, p0+kc) of op(A) as kc groups of 4 (rows past iEnd are zero). */
@inline function packA(a: usize, m: i32, k: i32, transA: bool, i: i32, iEnd: i32, p0: i32, kc: i32, ap: usize): void {
  const full = i + MR <= iEnd;
  if (!transA) {
    if (full) {
      const r0 = a + ((<usize>i * <usize>k + <usize>p0) << 2);
      const rs = <usize>k << 2;
      let p = 0;
      for (; p + 4 <= kc; p += 4) {
        const o = <usize>p << 2;
        const v0 = v128.load(r0 + o);
        const v1 = v128.load(r0 + rs + o);
        const v2 = v128.load(r0 + 2 * rs + o);
        const v3 = v128.load(r0 + 3 * rs + o);
        const d = ap + (<usize>p << 4);
        v128.store(d, tr0(v0, v1, v2, v3));
        v128.store(d, tr1(v0, v1, v2, v3), 16);
        v128.store(d, tr2(v0, v1, v2, v3), 32);
        v128.store(d, tr3(v0, v1, v2, v3), 48);
      }
      for (; p < kc; p++) {
        const d = ap + (<usize>p << 4);
        const o = <usize>p << 2;
        store<f32>(d, load<f32>(r0 + o));
        store<f32>(d + 4, load<f32>(r0 + rs + o));
        store<f32>(d + 8, load<f32>(r0 + 2 * rs + o));
        store<f32>(d + 12, load<f32>(r0 + 3 * rs + o));
      }
    } else {
      for (let p = 0; p < kc; p++) {
        for (let r = 0; r < MR; r++) {
          const row = i + r;
          const v: f32 = row < iEnd ? load<f32>(a + ((<usize>row * <usize>k + <usize>(p0 + p)) << 2)) : 0;
          store<f32>(ap + (<usize>(p * MR + r) << 2), v);
        }
      }
    }
  } else {
    // A stored k x m: op(A)(i, p) = A[p*m + i]; four rows are contiguous.
    for (let p = 0; p < kc; p++) {
      const s = a + ((<usize>(p0 + p) * <usize>m + <usize>i) << 2);
      const d = ap + (<usize>p << 4);
      if (full) {
        v128.store(d, v128.load(s));
      } else {
        for (let r = 0; r < MR; r++) store<f32>(d + (<usize>r << 2), i + r < iEnd ? load<f32>(s + (<usize>r << 2)) : 0);
      }
    }
  }
}

/**
 * transA: packs rows [i0, i1) of op(A) (at most AT_ROWS) x cols [p0, p0+kc) as consecutive 4-row
 * micro-panels, reading each stored row p's i1 − i0 contiguous floats once. Packing 4 rows at a time
 * instead walks kc rows of A per micro-panel at a stride of m floats, which the hardware prefetcher
 * does not follow beyond 2 KiB (measured, m = 768: 43 vs 47 GFLOP/s for the untransposed product).
 */
function packAtRows(a: usize, m: i32, i0: i32, i1: i32, p0: i32, kc: i32, ap: usize): void {
  const panelB = <usize>kc << 4; // bytes of one 4-row micro-panel
  const rows = i1 - i0;
  const full = rows & ~(MR - 1);
  for (let p = 0; p < kc; p++) {
    const s = a + ((<usize>(p0 + p) * <usize>m + <usize>i0) << 2);
    const d = ap + (<usize>p << 4);
    let r = 0;
    for (; r < full; r += 4) v128.store(d + <usize>(r >> 2) * panelB, v128.load(s + (<usize>r << 2)));
    if (r < rows) {
      const t = d + <usize>(r >> 2) * panelB;
      for (let q = 0; q < MR; q++) store<f32>(t + (<usize>q << 2), r + q < rows ? load<f32>(s + (<usize>(r + q) << 2)) : 0);
    }
  }
}

/** Packs cols [j, j+8) x rows [p0, p0+kc) of op(B) as kc groups of 8 (cols past jEnd are zero). */
@inline function packB(b: usize, n: i32, k: i32, transB: bool, dt: i32, j: i32, jEnd: i32, p0: i32, kc: i32, bp: usize): void {
  const es = dtSize(dt);
  if (!transB) {
    // B stored k x n: a row of op(B) is contiguous.
    const full = j + NR <= jEnd;
    for (let p = 0; p < kc; p++) {
      const s = b + (<usize>(p0 + p) * <usize>n + <usize>j) * es;
      const d = bp + (<usize>p << 5);
      if (full) {
        v128.store(d, loadW4(s, dt));
        v128.store(d, loadW4(s + 4 * es, dt), 16);
      } else {
        for (let c = 0; c < NR; c++) store<f32>(d + (<usize>c << 2), j + c < jEnd ? loadW1(s + <usize>c * es, dt) : 0);
      }
    }
  } else {
    // B stored n x k (nn.Linear weight): column j of op(B) is row j of B; transpose 4x4 blocks.
    for (let g = 0; g < NR; g += 4) {
      const jj = j + g;
      if (jj + 4 <= jEnd) {
        const r0 = b + (<usize>jj * <usize>k + <usize>p0) * es;
        const rs = <usize>k * es;
        let p = 0;
        for (; p + 4 <= kc; p += 4) {
          const o = <usize>p * es;
          const v0 = loadW4(r0 + o, dt);
          const v1 = loadW4(r0 + rs + o, dt);
          const v2 = loadW4(r0 + 2 * rs + o, dt);
          const v3 = loadW4(r0 + 3 * rs + o, dt);
          const d = bp + (<usize>(p * NR + g) << 2);
          v128.store(d, tr0(v0, v1, v2, v3));
          v128.store(d, tr1(v0, v1, v2, v3), 32);
          v128.store(d, tr2(v0, v1, v2, v3), 64);
          v128.store(d, tr3(v0, v1, v2, v3), 96);
        }
        for (; p < kc; p++) {
          const d = bp + (<usize>(p * NR + g) << 2);
          const o = <usize>p * es;
          for (let c = 0; c < 4; c++) store<f32>(d + (<usize>c << 2), loadW1(r0 + <usize>c * rs + o, dt));
        }
      } else {
        for (let p = 0; p < kc; p++) {
          const d = bp + (<usize>(p * NR + g) << 2);
          for (let c = 0; c < 4; c++) {
            const col = jj + c;
            const v: f32 = col < jEnd ? loadW1(b + (<usize>col * <usize>k + <usize>(p0 + p)) * es, dt) : 0;
            store<f32>(d + (<usize>c << 2), v);
          }
        }
      }
    }
  }
}

/**
 * !transB: packs cols [j0, j1) x rows [p0, p0+kc) of B (stored k x n) as consecutive 8-column
 * micro-panels (the last zero-padded), reading each row's j1 − j0 contiguous elements once (per
 * micro-panel, packB walks kc rows n elements apart: no prefetch beyond a 2 KiB stride).
 */
function packBRows(b: usize, n: i32, dt: i32, j0: i32, j1: i32, p0: i32, kc: i32, bp: usize): void {
  const es = dtSize(dt);
  const panelB = <usize>kc << 5; // bytes of one 8-column micro-panel
  const cols = j1 - j0;
  const full = cols & ~(NR - 1);
  for (let p = 0; p < kc; p++) {
    const s = b + (<usize>(p0 + p) * <usize>n + <usize>j0) * es;
    const d = bp + (<usize>p << 5);
    let c = 0;
    for (; c < full; c += NR) {
      const t = d + <usize>(c >> 3) * panelB;
      v128.store(t, loadW4(s + <usize>c * es, dt));
      v128.store(t, loadW4(s + <usize>(c + 4) * es, dt), 16);
    }
    if (c < cols) {
      const t = d + <usize>(c >> 3) * panelB;
      for (let q = 0; q < NR; q++) store<f32>(t + (<usize>q << 2), c + q < cols ? loadW1(s + <usize>(c + q) * es, dt) : 0);
    }
  }
}

@inline function storeRow(c: usize, lo: v128, hi: v128, beta: bool): void {
  if (beta) {
    v128.store(c, f32x4.add(v128.load(c), lo));
    v128.store(c, f32x4.add(v128.load(c, 16), hi), 16);
  } else {
    v128.store(c, lo);
    v128.store(c, hi, 16);
  }
}

/** 4x8 register tile: C[0..rows, 0..cols] (+)= Apanel(4 x kc) · Bpanel(kc x 8). */
function micro(ap: usize, bp: usize, kc: i32, c: usize, ldc: usize, beta: bool, rows: i32, cols: i32, tile: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let p = 0;
  for (; p < kc; p++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = fma4(a, b0, c00); c01 = fma4(a, b1, c01);
    a = v128.load32_splat(ap, 4);
    c10 = fma4(a, b0, c10); c11 = fma4(a, b1, c11);
    a = v128.load32_splat(ap, 8);
    c20 = fma4(a, b0, c20); c21 = fma4(a, b1, c21);
    a = v128.load32_splat(ap, 12);
    c30 = fma4(a, b0, c30); c31 = fma4(a, b1, c31);
    ap += 16;
    bp += 32;
  }
  if (rows == MR && cols == NR) {
    storeRow(c, c00, c01, beta);
    storeRow(c + ldc, c10, c11, beta);
    storeRow(c + 2 * ldc, c20, c21, beta);
    storeRow(c + 3 * ldc, c30, c31, beta);
    return;
  }
  v128.store(tile, c00); v128.store(tile, c01, 16);
  v128.store(tile, c10, 32); v128.store(tile, c11, 48);
  v128.store(tile, c20, 64); v128.store(tile, c21, 80);
  v128.store(tile, c30, 96); v128.store(tile, c31, 112);
  for (let r = 0; r < rows; r++) {
    const cr = c + <usize>r * ldc;
    const tr = tile + (<usize>(r * NR) << 2);
    for (let q = 0; q < cols; q++) {
      const o = <usize>q << 2;
      const v = load<f32>(tr + o);
      store<f32>(cr + o, beta ? load<f32>(cr + o) + v : v);
    }
  }
}

/** C rows [i0, i1) x cols [j0, j1) of one matrix. */
function gemmBlock(a: usize, b: usize, c: usize, m: i32, n: i32, k: i32, transA: bool, transB: bool, acc: bool, dt: i32, i0: i32, i1: i32, j0: i32, j1: i32, scratch: usize): void {
  const ldc = <usize>n << 2;
  if (k == 0) {
    if (!acc) for (let i = i0; i < i1; i++) memory.fill(c + <usize>i * ldc + (<usize>j0 << 2), 0, <usize>(j1 - j0) << 2);
    return;
  }
  const apack = scratch;
  const bpack = scratch + A_PACK_BYTES;
  const tile = bpack + B_PACK_BYTES;
  for (let jc = j0; jc < j1; jc += NC) {
    const nc = min(NC, j1 - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      const beta = acc || pc > 0;
      if (transB) for (let jr = 0; jr < nc; jr += NR) packB(b, n, k, true, dt, jc + jr, jc + nc, pc, kc, bpack + <usize>(jr * kc) * 4);
      else packBRows(b, n, dt, jc, jc + nc, pc, kc, bpack);
      // transA with rows of A over 2 KiB apart: up to AT_ROWS rows of op(A) packed in one pass, then
      // used MC rows at a time (measured no better, and a little worse split by columns, below that).
      const rowPass = transA && m > 512;
      for (let ib = i0; ib < i1; ib += rowPass ? AT_ROWS : i1 - i0) {
        const ie = rowPass ? min(i1, ib + AT_ROWS) : i1;
        if (rowPass) packAtRows(a, m, ib, ie, pc, kc, apack);
        for (let ic = ib; ic < ie; ic += MC) {
          const mc = min(MC, ie - ic);
          const ablk = rowPass ? apack + <usize>((ic - ib) * kc) * 4 : apack;
          if (!rowPass) for (let ir = 0; ir < mc; ir += MR) packA(a, m, k, transA, ic + ir, ic + mc, pc, kc, apack + <usize>(ir * kc) * 4);
          for (let jr = 0; jr < nc; jr += NR) {
            const cols = min(NR, nc - jr);
            const bp = bpack + <usize>(jr * kc) * 4;
            for (let ir = 0; ir < mc; ir += MR) {
              const rows = min(MR, mc - ir);
              const cp = c + <usize>(ic + ir) * ldc + (<usize>(jc + jr) << 2);
              micro(ablk + <usize>(ir * kc) * 4, bp, kc, cp, ldc, beta, rows, cols, tile);
            }
          }
        }
      }
    }
  }
}

/**
 * flags: bit0 transA, bit1 transB, bit2 accumulate, bits 3-4 B dtype (0 f32, 1 bf16, 2 f16).
 * split: which range [start, end) this participant owns: 0 batches, 1 rows of C, 2 columns of C.
 * Strides are elements between batch matrices (0 broadcasts).
 */
export function gemm(a: usize, b: usize, c: usize, m: i32, n: i32, k: i32, flags: i32, aStride: i32, bStride: i32, cStride: i32, batch: i32, split: i32, start: i32, end: i32, scratch: usize): void {
  const transA = (flags & 1) != 0;
  const transB = (flags & 2) != 0;
  const acc = (flags & 4) != 0;
  const dt = (flags >> 3) & 3;
  const es = dtSize(dt);
  let b0 = 0, b1 = batch, i0 = 0, i1 = m, j0 = 0, j1 = n;
  if (split == 0) { b0 = start; b1 = end; } else if (split == 1) { i0 = start; i1 = end; } else { j0 = start; j1 = end; }
  if (i0 >= i1 || j0 >= j1) return;
  for (let bi = b0; bi < b1; bi++) {
    gemmBlock(
      a + ((<usize>bi * <usize>aStride) << 2),
      b + <usize>bi * <usize>bStride * es,
      c + ((<usize>bi * <usize>cStride) << 2),
      m, n, k, transA, transB, acc, dt, i0, i1, j0, j1, scratch,
    );
  }
}

// ---- decode-shaped products (matvec) --------------------------------------------------------
// Y[i, j] (+)= Σ_p X[i, p] · W[j, p] for a few rows of X (m ≤ 8), W [n, k] widened in registers.
// Four W rows (three for three bf16 x rows) share each load of X, read as long streams from equal
// parts of the row range, so one x row runs at memory bandwidth. The caller gives the W row range;
// the bandwidth probe used as roofline is in probes.ts.

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
