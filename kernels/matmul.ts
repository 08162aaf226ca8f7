// Blocked f32 GEMM: C[b] (+)= op(A[b])·op(B[b]) with B stored as f32, bf16 or f16 (widened while
// packing). GotoBLAS-style loops (NC x KC panels of B, MC x KC blocks of A) around a 4x8 register
// micro-kernel; packing pads edge panels with zeros so any m, n, k works. Each call computes one
// participant's share (a range of batches, rows or columns); threading and scratch are the caller's.
// The small-m decode path (matrix-vector with nn.Linear weights) lives in matvec.ts.

import { fma4, loadW4, loadW1, dtSize, tr0, tr1, tr2, tr3 } from './simd';

const MR: i32 = 4;
const NR: i32 = 8;
const KC: i32 = 256;
const MC: i32 = 32;
const NC: i32 = 1024;

const A_PACK_BYTES: usize = <usize>(MC * KC * 4);
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
      for (let jr = 0; jr < nc; jr += NR) packB(b, n, k, transB, dt, jc + jr, jc + nc, pc, kc, bpack + <usize>(jr * kc) * 4);
      for (let ic = i0; ic < i1; ic += MC) {
        const mc = min(MC, i1 - ic);
        for (let ir = 0; ir < mc; ir += MR) packA(a, m, k, transA, ic + ir, ic + mc, pc, kc, apack + <usize>(ir * kc) * 4);
        for (let jr = 0; jr < nc; jr += NR) {
          const cols = min(NR, nc - jr);
          const bp = bpack + <usize>(jr * kc) * 4;
          for (let ir = 0; ir < mc; ir += MR) {
            const rows = min(MR, mc - ir);
            const cp = c + <usize>(ic + ir) * ldc + (<usize>(jc + jr) << 2);
            micro(apack + <usize>(ir * kc) * 4, bp, kc, cp, ldc, beta, rows, cols, tile);
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
