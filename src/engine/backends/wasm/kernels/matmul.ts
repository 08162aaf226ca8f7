// Native (wasm) matmul: gemm chooses between the decode matvec (a few rows against nn.Linear
// weights, W rows split across threads) and the blocked GEMM with its split axis (batches, rows or
// columns) and chunking, then packs the flags. Falls back to ref for arrays outside wasm memory.

import type { AnyArray } from '../../../dtype.js';
import type { F32, GemmParams } from '../../../kernels.js';
import { DTYPE_CODE, GEMM_ACCUMULATE, GEMM_TRANS_A, GEMM_TRANS_B, SPLIT_BATCH, SPLIT_COLS, SPLIT_ROWS } from '../abi.js';
import { DYNAMIC_STREAM, requireHeap, type NativeContext } from './context.js';

/** GEMM chunks per thread at most (dynamic scheduling: see DYNAMIC_STREAM in context.ts). */
const DYNAMIC_GEMM = 4;

/** GEMM chunks per thread: up to DYNAMIC_GEMM, but each chunk keeps ≥ 128 rows/cols (it re-packs panels). */
function gemmChunks(items: number, threads: number): number {
  return Math.max(1, Math.min(DYNAMIC_GEMM, Math.floor(items / (threads * 128))));
}

/** GEMM jobs below this many flops run on the main thread only. */
const PAR_FLOPS = 1 << 18;

/** Matvec weights below this many bytes run on the main thread only (measured: 256 KiB beats 1 MiB and 64 KiB for small-model decode). */
const MATVEC_PAR_BYTES = 1 << 18;

/**
 * Most x rows the matvec path takes: the kernel walks pairs of rows over each cached block of W, so
 * it skips the GEMM's panel packing; measured back to back with bf16 weights (256 x 256): 8 rows
 * 25 us vs 41-43 us by GEMM, 16 rows a tie (30-47 us both), so batches of 5-8 decode rows gain.
 */
const MATVEC_MAX_ROWS = 8;

export function gemm(ctx: NativeContext, a: F32, b: AnyArray, c: F32, p: GemmParams): void {
  requireHeap(ctx, 'gemm', a, b, c);
  const { batch, m, n, k } = p;
  if (batch <= 0 || m <= 0 || n <= 0) return;
  const flags = (p.transA ? GEMM_TRANS_A : 0) | (p.transB ? GEMM_TRANS_B : 0) | (p.accumulate ? GEMM_ACCUMULATE : 0) | (DTYPE_CODE[p.bDtype] << 3);
  const flops = 2 * batch * m * n * k;
  const par = flops >= PAR_FLOPS;
  if (batch === 1 && m <= MATVEC_MAX_ROWS && p.transB && !p.transA && k > 0) {
    // Decode: W (n x k) streams once; rows of W split across threads.
    // Weights under MATVEC_PAR_BYTES stream faster on one core than the hand-off costs (5-8 x rows
    // count their weights once per row: that much more work per byte); big ones are chunked
    // dynamically. Ranges are whole blocks of the kernel's W rows (4, or 3 for three x rows with
    // bf16 weights: 12 serves both).
    const wBytes = n * k * (p.bDtype === 'f32' ? 4 : 2);
    const work = m > 4 ? wBytes * m : wBytes;
    const align = m === 3 ? 12 : 4;
    ctx.pool.run('gemm', 'matvec', [a.byteOffset, b.byteOffset, c.byteOffset, m, n, k, flags], n, align, work >= MATVEC_PAR_BYTES, work >= 8 * MATVEC_PAR_BYTES ? DYNAMIC_STREAM : 0);
    return;
  }
  const args = [a.byteOffset, b.byteOffset, c.byteOffset, m, n, k, flags, p.aStride, p.bStride, p.cStride, batch];
  const threads = ctx.pool.threads;
  if (batch >= 2 * threads || (batch >= threads && m * n < 4096)) {
    ctx.pool.run('gemm', 'gemm', [...args, SPLIT_BATCH], batch, 1, par, DYNAMIC_GEMM);
  } else if (m >= n) {
    ctx.pool.run('gemm', 'gemm', [...args, SPLIT_ROWS], m, 4, par, gemmChunks(m, threads));
  } else {
    ctx.pool.run('gemm', 'gemm', [...args, SPLIT_COLS], n, 8, par, gemmChunks(n, threads));
  }
}
