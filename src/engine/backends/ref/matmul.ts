// Reference gemm: batched C (+)= op(A)·op(B) with float64 accumulation and f32 stores, B stored as f32
// or as bf16/f16 bits widened to f32 one row at a time. Cache-aware loop orders only (row accumulators,
// transposes hoisted out of the inner loops); no tiling for registers, no SIMD, no threads.

import type { AnyArray } from '../../dtype.js';
import type { F32, GemmParams } from '../../kernels.js';
import { f16Table } from './util.js';

/** Rows of op(A) handled together when B is k×n, so each widened B row is reused this many times. */
const ROW_BLOCK = 16;

/** Writes (or adds) a float64 result into c[idx] as f32. */
function store(c: F32, idx: number, v: number, accumulate: boolean): void {
  c[idx] = accumulate ? c[idx] + v : v;
}

/** Copies `len` elements of B starting at `off` into the f32 row `dst`, widening bf16/f16 bits. */
function widenRow(b: AnyArray, off: number, len: number, dtype: 'bf16' | 'f16', dst: F32, dstU32: Uint32Array): void {
  if (dtype === 'bf16') {
    for (let j = 0; j < len; j++) dstU32[j] = b[off + j] << 16;
  } else {
    const t = f16Table();
    for (let j = 0; j < len; j++) dst[j] = t[b[off + j]];
  }
}

/**
 * C[bt] (+)= op(A[bt]) · op(B[bt]) for bt < batch; see GemmParams. op(A) is made row-major (m×k) first
 * when transA. With transB (B is n×k, the nn.Linear layout) every C entry is a contiguous dot product;
 * otherwise rows of op(A) are processed ROW_BLOCK at a time against each row of B (i-k-j order).
 */
export function gemm(a: F32, b: AnyArray, c: F32, p: GemmParams): void {
  const { batch, m, n, k, transA, transB, aStride, bStride, cStride, bDtype, accumulate } = p;
  if (m === 0 || n === 0) return;
  const half = bDtype !== 'f32';
  const bRowLen = transB ? k : n;
  const bRow = new Float32Array(bRowLen);
  const bRowU32 = new Uint32Array(bRow.buffer);
  // Float64 so that Float64Array storage (the gradient oracle) keeps its precision through the transpose.
  const aT = transA ? new Float64Array(m * k) : null;
  const acc = transB ? null : new Float64Array(ROW_BLOCK * n);
  const bf = b as F32;

  for (let bt = 0; bt < batch; bt++) {
    const aOff0 = bt * aStride;
    const bOff0 = bt * bStride;
    const cOff = bt * cStride;

    // op(A) as a row-major m×k matrix `ar` starting at `arOff`.
    let ar: F32 | Float64Array = a;
    let arOff = aOff0;
    if (aT !== null) {
      // A is stored k×m; transpose it once per batch (reused when aStride is 0 and bt > 0).
      if (bt === 0 || aStride !== 0) {
        for (let l = 0; l < k; l++) {
          const src = aOff0 + l * m;
          for (let i = 0; i < m; i++) aT[i * k + l] = a[src + i];
        }
      }
      ar = aT;
      arOff = 0;
    }

    if (transB) {
      // B stored n×k: C[i, j] = Σ_l op(A)[i, l] · B[j, l]; both operands contiguous.
      for (let j = 0; j < n; j++) {
        let brow: F32 = bf;
        let bOff = bOff0 + j * k;
        if (half) {
          widenRow(b, bOff, k, bDtype, bRow, bRowU32);
          brow = bRow;
          bOff = 0;
        }
        for (let i = 0; i < m; i++) {
          const aOff = arOff + i * k;
          let s = 0;
          for (let l = 0; l < k; l++) s += ar[aOff + l] * brow[bOff + l];
          store(c, cOff + i * n + j, s, accumulate);
        }
      }
    } else {
      // B stored k×n: for a block of rows i, acc[i, :] += op(A)[i, l] · B[l, :] over l.
      const accum = acc!;
      for (let i0 = 0; i0 < m; i0 += ROW_BLOCK) {
        const rows = Math.min(ROW_BLOCK, m - i0);
        accum.fill(0, 0, rows * n);
        for (let l = 0; l < k; l++) {
          let brow: F32 = bf;
          let bOff = bOff0 + l * n;
          if (half) {
            widenRow(b, bOff, n, bDtype, bRow, bRowU32);
            brow = bRow;
            bOff = 0;
          }
          for (let r = 0; r < rows; r++) {
            const av = ar[arOff + (i0 + r) * k + l];
            const accOff = r * n;
            for (let j = 0; j < n; j++) accum[accOff + j] += av * brow[bOff + j];
          }
        }
        for (let r = 0; r < rows; r++) {
          const cRow = cOff + (i0 + r) * n;
          const accOff = r * n;
          if (accumulate) for (let j = 0; j < n; j++) c[cRow + j] += accum[accOff + j];
          else for (let j = 0; j < n; j++) c[cRow + j] = accum[accOff + j];
        }
      }
    }
  }
}
