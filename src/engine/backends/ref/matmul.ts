// Reference gemm: batched C (+)= op(A)·op(B) with float64 accumulation and f32 stores, B stored as f32
// or as bf16/f16 bits widened in the kernel. op(A) is staged as float64 rows and op(B) two columns at a
// time, then a 2×2 register-blocked dot-product loop runs; no cache tiling, no SIMD, no threads.

import type { AnyArray } from '../../dtype.js';
import type { F32, FamilyKernels, GemmParams } from '../../kernels.js';
import { bf16Table, f16Table } from './util.js';

/** Stages op(A[batch]) as a row-major m×k float64 matrix (exact for f32 and for Float64Array storage). */
function stageA(a: F32, off: number, p: GemmParams, dst: Float64Array): void {
  const { m, k } = p;
  if (p.transA) {
    // A is stored k×m.
    for (let l = 0; l < k; l++) {
      const src = off + l * m;
      for (let i = 0; i < m; i++) dst[i * k + l] = a[src + i];
    }
  } else {
    for (let i = 0; i < m * k; i++) dst[i] = a[off + i];
  }
}

/**
 * Stages columns j and j + 1 of op(B[batch]) (j + 1 < n or not: the second column is then a copy of the
 * first) as dst[0..k) and dst[k..2k), widening bf16/f16 bits through a lookup table.
 */
function stageBColumns(b: AnyArray, off: number, j: number, p: GemmParams, table: Float32Array | null, dst: Float64Array): void {
  const { n, k, transB } = p;
  const j1 = j + 1 < n ? j + 1 : j;
  // Element (l, col) of op(B) sits at off + col·colStep + l·rowStep.
  const colStep = transB ? k : 1;
  const rowStep = transB ? 1 : n;
  const o0 = off + j * colStep;
  const o1 = off + j1 * colStep;
  if (table === null) {
    for (let l = 0; l < k; l++) {
      dst[l] = b[o0 + l * rowStep];
      dst[k + l] = b[o1 + l * rowStep];
    }
  } else {
    for (let l = 0; l < k; l++) {
      dst[l] = table[b[o0 + l * rowStep]];
      dst[k + l] = table[b[o1 + l * rowStep]];
    }
  }
}

/**
 * C[bt] (+)= op(A[bt]) · op(B[bt]) for bt < batch; see GemmParams. Every C entry is one float64 dot
 * product over l in order 0..k-1; entries are computed 2 rows × 2 columns at a time so each loaded
 * operand is used twice. Batch strides of 0 reuse the staged operand.
 */
function gemm(a: F32, b: AnyArray, c: F32, p: GemmParams): void {
  const { batch, m, n, k, aStride, bStride, cStride, accumulate } = p;
  if (m === 0 || n === 0) return;
  const table = p.bDtype === 'bf16' ? bf16Table() : p.bDtype === 'f16' ? f16Table() : null;
  const aRows = new Float64Array(m * k);
  const bCols = new Float64Array(2 * k);

  for (let bt = 0; bt < batch; bt++) {
    if (bt === 0 || aStride !== 0) stageA(a, bt * aStride, p, aRows);
    const bOff = bt * bStride;
    const cOff = bt * cStride;
    for (let j = 0; j < n; j += 2) {
      const twoCols = j + 1 < n;
      stageBColumns(b, bOff, j, p, table, bCols);
      let i = 0;
      for (; i + 1 < m; i += 2) {
        const a0 = i * k;
        const a1 = a0 + k;
        let s00 = 0;
        let s01 = 0;
        let s10 = 0;
        let s11 = 0;
        for (let l = 0; l < k; l++) {
          const x0 = aRows[a0 + l];
          const x1 = aRows[a1 + l];
          const y0 = bCols[l];
          const y1 = bCols[k + l];
          s00 += x0 * y0;
          s01 += x0 * y1;
          s10 += x1 * y0;
          s11 += x1 * y1;
        }
        const c0 = cOff + i * n + j;
        const c1 = c0 + n;
        if (accumulate) {
          c[c0] += s00;
          c[c1] += s10;
          if (twoCols) {
            c[c0 + 1] += s01;
            c[c1 + 1] += s11;
          }
        } else {
          c[c0] = s00;
          c[c1] = s10;
          if (twoCols) {
            c[c0 + 1] = s01;
            c[c1 + 1] = s11;
          }
        }
      }
      if (i < m) {
        // Odd last row (and the m = 1 decode case): 1×2 block.
        const a0 = i * k;
        let s0 = 0;
        let s1 = 0;
        for (let l = 0; l < k; l++) {
          const x0 = aRows[a0 + l];
          s0 += x0 * bCols[l];
          s1 += x0 * bCols[k + l];
        }
        const c0 = cOff + i * n + j;
        if (accumulate) {
          c[c0] += s0;
          if (twoCols) c[c0 + 1] += s1;
        } else {
          c[c0] = s0;
          if (twoCols) c[c0 + 1] = s1;
        }
      }
    }
  }
}

/** The matmul family of the ref kernel table. */
export const matmulKernels: FamilyKernels<'matmul'> = { gemm };
