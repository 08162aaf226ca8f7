// Native (wasm) implementations of the matmul and elementwise kernels: argument checks that decide
// native vs ref fallback (every array must live in the backend's memory), the gemm/matvec choice and
// split axis, operand-mode detection for binary, and dtype routing for cast. Math is in kernels/.

import type { AnyArray, DType } from '../../../dtype.js';
import type { AdamWParams, BinaryOp, F32, GemmParams, Kernels, UnaryOp } from '../../../kernels.js';
import {
  BINARY_CODE,
  DTYPE_CODE,
  GEMM_ACCUMULATE,
  GEMM_TRANS_A,
  GEMM_TRANS_B,
  MODE_DENSE,
  MODE_ROW,
  MODE_SCALAR,
  SPLIT_BATCH,
  SPLIT_COLS,
  SPLIT_ROWS,
  UNARY_CODE,
} from '../abi.js';
import type { SharedHeap } from '../memory.js';
import type { ThreadPool } from '../pool.js';
import { dropoutKey } from '../../ref/loss.js';

/** What native kernels need: the pool that runs exports, the heap that owns arrays, the fallback. */
export interface NativeContext {
  readonly pool: ThreadPool;
  readonly heap: SharedHeap;
  readonly ref: Kernels;
}

/**
 * Dynamic scheduling (chunks per thread) for kernels whose ranges are independent: the two vCPUs of
 * this machine often run at different speeds when both are busy (measured: one core ~40% slower),
 * so fixed halves leave the fast core idle. GEMM chunks re-pack their panels, so it uses fewer.
 */
const DYNAMIC_GEMM = 4;
const DYNAMIC_STREAM = 8;

/** GEMM chunks per thread: up to DYNAMIC_GEMM, but each chunk keeps ≥ 128 rows/cols (it re-packs panels). */
function gemmChunks(items: number, threads: number): number {
  return Math.max(1, Math.min(DYNAMIC_GEMM, Math.floor(items / (threads * 128))));
}

/** Elementwise jobs smaller than this run on the main thread only (wake-up would dominate). */
export const PAR_ELEMS = 32768;
/** GEMM jobs below this many flops run on the main thread only. */
const PAR_FLOPS = 1 << 18;
/** Matvec weights below this many bytes run on the main thread only (measured: 256 KiB beats 1 MiB and 64 KiB for small-model decode). */
const MATVEC_PAR_BYTES = 1 << 18;

/** True when every non-null array is a view inside the backend's memory. */
export function inHeap(heap: SharedHeap, ...arrays: (AnyArray | null)[]): boolean {
  for (const a of arrays) if (a !== null && !heap.owns(a.buffer)) return false;
  return true;
}

export function gemm(ctx: NativeContext, a: F32, b: AnyArray, c: F32, p: GemmParams): void {
  if (!inHeap(ctx.heap, a, b, c)) return ctx.ref.gemm(a, b, c, p);
  const { batch, m, n, k } = p;
  if (batch <= 0 || m <= 0 || n <= 0) return;
  const flags = (p.transA ? GEMM_TRANS_A : 0) | (p.transB ? GEMM_TRANS_B : 0) | (p.accumulate ? GEMM_ACCUMULATE : 0) | (DTYPE_CODE[p.bDtype] << 3);
  const flops = 2 * batch * m * n * k;
  const par = flops >= PAR_FLOPS;
  if (batch === 1 && m <= 4 && p.transB && !p.transA && k > 0) {
    // Decode: W (n x k) streams once; rows of W split across threads.
    // Weights under MATVEC_PAR_BYTES stream faster on one core than the hand-off costs; big ones are
    // chunked dynamically. Ranges are whole blocks of the kernel's W rows (4, or 3 for three x rows
    // with bf16 weights: 12 serves both).
    const wBytes = n * k * (p.bDtype === 'f32' ? 4 : 2);
    const align = m === 3 ? 12 : 4;
    ctx.pool.run('gemm', 'matvec', [a.byteOffset, b.byteOffset, c.byteOffset, m, n, k, flags], n, align, wBytes >= MATVEC_PAR_BYTES, wBytes >= 8 * MATVEC_PAR_BYTES ? DYNAMIC_STREAM : 0);
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

/** Operand mode for binary: dense, row vector over the last axis, scalar, or -1 (unsupported). */
function operandMode(shape: readonly number[], strides: readonly number[]): number {
  const rank = shape.length;
  let dense = true;
  let scalar = true;
  let row = true;
  let expect = 1;
  for (let d = rank - 1; d >= 0; d--) {
    if (shape[d] === 1) continue;
    const s = strides[d];
    if (s !== expect) dense = false;
    if (s !== 0) scalar = false;
    if (d === rank - 1 ? s !== 1 : s !== 0) row = false;
    expect *= shape[d];
  }
  return dense ? MODE_DENSE : scalar ? MODE_SCALAR : row ? MODE_ROW : -1;
}

export function binary(ctx: NativeContext, op: BinaryOp, a: F32, b: F32, out: F32, outShape: readonly number[], aStrides: readonly number[], bStrides: readonly number[]): void {
  const am = operandMode(outShape, aStrides);
  const bm = operandMode(outShape, bStrides);
  if (am < 0 || bm < 0 || !inHeap(ctx.heap, a, b, out)) return ctx.ref.binary(op, a, b, out, outShape, aStrides, bStrides);
  let total = 1;
  for (const s of outShape) total *= s;
  const d = outShape.length > 0 ? Math.max(1, outShape[outShape.length - 1]) : 1;
  ctx.pool.run('binary', 'binary', [BINARY_CODE[op], a.byteOffset, b.byteOffset, out.byteOffset, d, am, bm], total, 16, total >= PAR_ELEMS, DYNAMIC_STREAM);
}

export function unary(ctx: NativeContext, op: UnaryOp, x: F32, out: F32): void {
  if (!inHeap(ctx.heap, x, out)) return ctx.ref.unary(op, x, out);
  const n = x.length;
  ctx.pool.run('unary', 'unary', [UNARY_CODE[op], x.byteOffset, out.byteOffset], n, 16, n >= PAR_ELEMS / 4, DYNAMIC_STREAM);
}

export function unaryBackward(ctx: NativeContext, op: UnaryOp, x: F32, y: F32, gy: F32, gx: F32): void {
  if (!inHeap(ctx.heap, x, y, gy, gx)) return ctx.ref.unaryBackward(op, x, y, gy, gx);
  const n = gy.length;
  ctx.pool.run('unaryBackward', 'unary_backward', [UNARY_CODE[op], x.byteOffset, y.byteOffset, gy.byteOffset, gx.byteOffset], n, 16, n >= PAR_ELEMS / 4, DYNAMIC_STREAM);
}

export function affine(ctx: NativeContext, x: F32, out: F32, mul: number, add: number): void {
  if (!inHeap(ctx.heap, x, out)) return ctx.ref.affine(x, out, mul, add);
  const n = x.length;
  ctx.pool.run('affine', 'affine', [x.byteOffset, out.byteOffset, mul, add], n, 16, n >= PAR_ELEMS, DYNAMIC_STREAM);
}

export function dropout(ctx: NativeContext, x: F32, out: F32, p: number, seed: number): void {
  if (!inHeap(ctx.heap, x, out) || p >= 1 || p <= 0) return ctx.ref.dropout(x, out, p, seed);
  const n = x.length;
  // u = (h >>> 8) / 2^24 >= p  <=>  (h >>> 8) >= ceil(p · 2^24): the same decisions as the ref kernel.
  const threshold = Math.ceil(p * 16777216);
  ctx.pool.run('dropout', 'dropout', [x.byteOffset, out.byteOffset, 1 / (1 - p), threshold, dropoutKey(seed)], n, 16, n >= PAR_ELEMS, DYNAMIC_STREAM);
}

export function fill(ctx: NativeContext, out: AnyArray, value: number): void {
  if (!(out instanceof Float32Array) || !inHeap(ctx.heap, out)) return ctx.ref.fill(out, value);
  const n = out.length;
  ctx.pool.run('fill', 'fill_f32', [out.byteOffset, value], n, 16, n >= PAR_ELEMS);
}

export function cast(ctx: NativeContext, x: AnyArray, xDtype: DType, out: AnyArray, outDtype: DType): void {
  if (!inHeap(ctx.heap, x, out)) return ctx.ref.cast(x, xDtype, out, outDtype);
  const n = x.length;
  const par = n >= PAR_ELEMS;
  const args = [x.byteOffset, out.byteOffset];
  if (xDtype === outDtype) ctx.pool.run('cast', 'copy_elems', [...args, xDtype === 'f32' || xDtype === 'i32' ? 4 : 2], n, 16, par);
  else if (xDtype === 'f32' && outDtype === 'bf16') ctx.pool.run('cast', 'cast_f32_bf16', args, n, 16, par);
  else if (xDtype === 'f32' && outDtype === 'f16') ctx.pool.run('cast', 'cast_f32_f16', args, n, 16, par);
  else if ((xDtype === 'bf16' || xDtype === 'f16') && outDtype === 'f32') ctx.pool.run('cast', 'cast_h_f32', [...args, DTYPE_CODE[xDtype]], n, 16, par);
  else if (xDtype === 'i32' && outDtype === 'f32') ctx.pool.run('cast', 'cast_i32_f32', args, n, 16, par);
  else if (xDtype === 'f32' && outDtype === 'i32') ctx.pool.run('cast', 'cast_f32_i32', args, n, 16, par);
  else ctx.ref.cast(x, xDtype, out, outDtype);
}

export function swiglu(ctx: NativeContext, g: F32, u: F32, out: F32): void {
  if (!inHeap(ctx.heap, g, u, out)) return ctx.ref.swiglu(g, u, out);
  const n = g.length;
  ctx.pool.run('swiglu', 'swiglu', [g.byteOffset, u.byteOffset, out.byteOffset], n, 16, n >= PAR_ELEMS / 4, DYNAMIC_STREAM);
}

export function swigluBackward(ctx: NativeContext, g: F32, u: F32, gy: F32, gg: F32, gu: F32): void {
  if (!inHeap(ctx.heap, g, u, gy, gg, gu)) return ctx.ref.swigluBackward(g, u, gy, gg, gu);
  const n = g.length;
  ctx.pool.run('swigluBackward', 'swiglu_backward', [g.byteOffset, u.byteOffset, gy.byteOffset, gg.byteOffset, gu.byteOffset], n, 16, n >= PAR_ELEMS / 4, DYNAMIC_STREAM);
}

export function adamw(ctx: NativeContext, param: F32, grad: F32, m: F32, v: F32, p: AdamWParams): void {
  if (!inHeap(ctx.heap, param, grad, m, v)) return ctx.ref.adamw(param, grad, m, v, p);
  const n = param.length;
  const { lr, beta1, beta2, eps, weightDecay, step } = p;
  const args = [param.byteOffset, grad.byteOffset, m.byteOffset, v.byteOffset, lr, beta1, beta2, eps, 1 - lr * weightDecay, 1 - beta1 ** step, 1 - beta2 ** step];
  ctx.pool.run('adamw', 'adamw', args, n, 16, n >= PAR_ELEMS, DYNAMIC_STREAM);
}

export function sumSquares(ctx: NativeContext, x: F32): number {
  if (!inHeap(ctx.heap, x)) return ctx.ref.sumSquares(x);
  const n = x.length;
  if (n === 0) return 0;
  const par = n >= PAR_ELEMS && ctx.pool.threads > 1;
  ctx.pool.run('sumSquares', 'sum_squares', [x.byteOffset], n, 16, par);
  const parts = par && n > 16 ? ctx.pool.threads : 1;
  let s = 0;
  const buf = ctx.heap.buffer;
  for (let p = 0; p < parts; p++) s += new Float64Array(buf, ctx.pool.scratch(p), 1)[0];
  return s;
}
