// Native (wasm) row kernels: softmax, RMSNorm, LayerNorm, GroupNorm (forward), cross entropy, reduce, RoPE, gather and
// scatterAdd, plus the table of every native kernel (attention and conv live in native-attention.ts).
// Row passes split rows across threads; weight-gradient and scatter passes split columns, so no two
// threads write one element.

import type { AnyArray, DType } from '../../../dtype.js';
import type { F32, I32, KernelName, Kernels, ReduceOp } from '../../../kernels.js';
import { DTYPE_CODE } from '../abi.js';
import { attention, attentionBackward, conv2d, conv2dBackward } from './attention.js';
import * as math from './elementwise.js';
import { inHeap, PAR_ELEMS, type NativeContext } from './elementwise.js';

const ptr = (a: AnyArray | null): number => (a === null ? 0 : a.byteOffset);
const par = (rows: number, dim: number): boolean => rows > 1 && rows * dim >= PAR_ELEMS / 2;

function softmax(ctx: NativeContext, x: F32, out: F32, rows: number, dim: number): void {
  if (!inHeap(ctx.heap, x, out)) return ctx.ref.softmax(x, out, rows, dim);
  ctx.pool.run('softmax', 'softmax', [x.byteOffset, out.byteOffset, dim], rows, 1, par(rows, dim));
}

function softmaxBackward(ctx: NativeContext, y: F32, gy: F32, gx: F32, rows: number, dim: number): void {
  if (!inHeap(ctx.heap, y, gy, gx)) return ctx.ref.softmaxBackward(y, gy, gx, rows, dim);
  ctx.pool.run('softmaxBackward', 'softmax_backward', [y.byteOffset, gy.byteOffset, gx.byteOffset, dim], rows, 1, par(rows, dim));
}

function rmsnorm(ctx: NativeContext, x: F32, w: F32, out: F32, rstd: F32 | null, rows: number, dim: number, eps: number): void {
  if (!inHeap(ctx.heap, x, w, out, rstd)) return ctx.ref.rmsnorm(x, w, out, rstd, rows, dim, eps);
  ctx.pool.run('rmsnorm', 'rmsnorm', [x.byteOffset, w.byteOffset, out.byteOffset, ptr(rstd), dim, eps], rows, 1, par(rows, dim));
}

function rmsnormBackward(ctx: NativeContext, x: F32, w: F32, rstd: F32, gy: F32, gx: F32, gw: F32, rows: number, dim: number): void {
  if (!inHeap(ctx.heap, x, w, rstd, gy, gx, gw)) return ctx.ref.rmsnormBackward(x, w, rstd, gy, gx, gw, rows, dim);
  const p = par(rows, dim);
  ctx.pool.run('rmsnormBackward', 'rmsnorm_backward', [x.byteOffset, w.byteOffset, rstd.byteOffset, gy.byteOffset, gx.byteOffset, dim], rows, 1, p);
  ctx.pool.run('rmsnormBackward', 'norm_backward_gw', [x.byteOffset, 0, rstd.byteOffset, gy.byteOffset, gw.byteOffset, 0, rows, dim, 1], dim, 4, p);
}

function layernorm(ctx: NativeContext, x: F32, w: F32 | null, b: F32 | null, out: F32, mean: F32 | null, rstd: F32 | null, rows: number, dim: number, affineRows: number, eps: number): void {
  if (!inHeap(ctx.heap, x, w, b, out, mean, rstd)) return ctx.ref.layernorm(x, w, b, out, mean, rstd, rows, dim, affineRows, eps);
  const args = [x.byteOffset, ptr(w), ptr(b), out.byteOffset, ptr(mean), ptr(rstd), dim, Math.max(1, affineRows), eps];
  ctx.pool.run('layernorm', 'layernorm', args, rows, 1, par(rows, dim));
}

function groupnorm(ctx: NativeContext, x: F32, w: F32, b: F32, out: F32, mean: F32 | null, rstd: F32 | null, n: number, c: number, hw: number, groups: number, eps: number): void {
  if (!inHeap(ctx.heap, x, w, b, out, mean, rstd)) return ctx.ref.groupnorm(x, w, b, out, mean, rstd, n, c, hw, groups, eps);
  const items = n * groups;
  ctx.pool.run('groupnorm', 'groupnorm', [x.byteOffset, w.byteOffset, b.byteOffset, out.byteOffset, ptr(mean), ptr(rstd), c, hw, groups, eps], items, 1, par(items, (c / groups) * hw));
}

function layernormBackward(ctx: NativeContext, x: F32, w: F32 | null, mean: F32, rstd: F32, gy: F32, gx: F32, gw: F32 | null, gb: F32 | null, rows: number, dim: number, affineRows: number): void {
  if (!inHeap(ctx.heap, x, w, mean, rstd, gy, gx, gw, gb)) return ctx.ref.layernormBackward(x, w, mean, rstd, gy, gx, gw, gb, rows, dim, affineRows);
  const ar = Math.max(1, affineRows);
  const p = par(rows, dim);
  ctx.pool.run('layernormBackward', 'layernorm_backward', [x.byteOffset, ptr(w), mean.byteOffset, rstd.byteOffset, gy.byteOffset, gx.byteOffset, dim, ar], rows, 1, p);
  if (gw !== null || gb !== null) {
    ctx.pool.run('layernormBackward', 'norm_backward_gw', [x.byteOffset, mean.byteOffset, rstd.byteOffset, gy.byteOffset, ptr(gw), ptr(gb), rows, dim, ar], dim, 4, p);
  }
}

function crossEntropy(ctx: NativeContext, logits: F32, targets: I32, losses: F32, lse: F32, rows: number, vocab: number, ignoreIndex: number): void {
  if (!inHeap(ctx.heap, logits, targets, losses, lse)) return ctx.ref.crossEntropy(logits, targets, losses, lse, rows, vocab, ignoreIndex);
  ctx.pool.run('crossEntropy', 'cross_entropy', [logits.byteOffset, targets.byteOffset, losses.byteOffset, lse.byteOffset, vocab, ignoreIndex], rows, 1, par(rows, vocab));
}

function crossEntropyBackward(ctx: NativeContext, logits: F32, targets: I32, lse: F32, gLogits: F32, rows: number, vocab: number, ignoreIndex: number, ceScale: number, zScale: number): void {
  if (!inHeap(ctx.heap, logits, targets, lse, gLogits)) return ctx.ref.crossEntropyBackward(logits, targets, lse, gLogits, rows, vocab, ignoreIndex, ceScale, zScale);
  const args = [logits.byteOffset, targets.byteOffset, lse.byteOffset, gLogits.byteOffset, vocab, ignoreIndex, ceScale, zScale];
  ctx.pool.run('crossEntropyBackward', 'cross_entropy_backward', args, rows, 1, par(rows, vocab));
}

function reduce(ctx: NativeContext, op: ReduceOp, x: F32, out: F32, outer: number, len: number, inner: number): void {
  if (!inHeap(ctx.heap, x, out)) return ctx.ref.reduce(op, x, out, outer, len, inner);
  const p = outer * len * inner >= PAR_ELEMS;
  const args = [op === 'sum' ? 0 : 1, x.byteOffset, out.byteOffset, outer, len, inner];
  if (outer >= ctx.pool.threads || inner === 1) ctx.pool.run('reduce', 'reduce', [...args, 0], outer, 1, p);
  else ctx.pool.run('reduce', 'reduce', [...args, 1], inner, 4, p);
}

function rope(ctx: NativeContext, x: F32, out: F32, positions: I32, batch: number, t: number, heads: number, dim: number, theta: number, inverse: boolean): void {
  const half = dim >> 1;
  if (!inHeap(ctx.heap, x, out, positions) || half * 8 > ctx.pool.scratchBytes) return ctx.ref.rope(x, out, positions, batch, t, heads, dim, theta, inverse);
  // invFreq exactly as the ref computes it (f32), in a temporary region.
  const region = ctx.heap.reserve(half * 4);
  try {
    const inv = new Float32Array(region.buffer, region.byteOffset, half);
    for (let i = 0; i < half; i++) inv[i] = 1 / Math.fround(theta ** Math.fround((2 * i) / dim));
    const args = [x.byteOffset, out.byteOffset, positions.byteOffset, heads, dim, region.byteOffset, inverse ? -1 : 1];
    ctx.pool.run('rope', 'rope', args, batch * t, 1, par(batch * t, heads * dim));
  } finally {
    ctx.heap.unreserve(region);
  }
}

function gather(ctx: NativeContext, table: AnyArray, tableDtype: DType, ids: I32, out: F32, dim: number): void {
  if (tableDtype === 'i32' || !inHeap(ctx.heap, table, ids, out)) return ctx.ref.gather(table, tableDtype, ids, out, dim);
  const n = ids.length;
  ctx.pool.run('gather', 'gather', [table.byteOffset, DTYPE_CODE[tableDtype], ids.byteOffset, out.byteOffset, dim], n, 1, par(n, dim));
}

function scatterAdd(ctx: NativeContext, g: F32, ids: I32, gTable: F32, dim: number): void {
  if (!inHeap(ctx.heap, g, ids, gTable)) return ctx.ref.scatterAdd(g, ids, gTable, dim);
  const n = ids.length;
  ctx.pool.run('scatterAdd', 'scatter_add', [g.byteOffset, ids.byteOffset, gTable.byteOffset, n, dim], dim, 4, n * dim >= PAR_ELEMS && dim >= 64);
}

/** The kernel table: native where implemented, the ref kernel (over views of wasm memory) elsewhere. */
export function buildKernels(ctx: NativeContext): { kernels: Kernels; native: ReadonlySet<KernelName> } {
  const native: Partial<Kernels> = {
    gemm: (a, b, c, p) => math.gemm(ctx, a, b, c, p),
    binary: (op, a, b, out, s, as, bs) => math.binary(ctx, op, a, b, out, s, as, bs),
    unary: (op, x, out) => math.unary(ctx, op, x, out),
    unaryBackward: (op, x, y, gy, gx) => math.unaryBackward(ctx, op, x, y, gy, gx),
    affine: (x, out, mul, add) => math.affine(ctx, x, out, mul, add),
    fill: (out, value) => math.fill(ctx, out, value),
    dropout: (x, out, p, seed) => math.dropout(ctx, x, out, p, seed),
    cast: (x, xd, out, od) => math.cast(ctx, x, xd, out, od),
    swiglu: (g, u, out) => math.swiglu(ctx, g, u, out),
    swigluBackward: (g, u, gy, gg, gu) => math.swigluBackward(ctx, g, u, gy, gg, gu),
    adamw: (param, grad, m, v, p) => math.adamw(ctx, param, grad, m, v, p),
    sumSquares: (x) => math.sumSquares(ctx, x),
    softmax: (x, out, rows, dim) => softmax(ctx, x, out, rows, dim),
    softmaxBackward: (y, gy, gx, rows, dim) => softmaxBackward(ctx, y, gy, gx, rows, dim),
    rmsnorm: (x, w, out, rstd, rows, dim, eps) => rmsnorm(ctx, x, w, out, rstd, rows, dim, eps),
    rmsnormBackward: (x, w, rstd, gy, gx, gw, rows, dim) => rmsnormBackward(ctx, x, w, rstd, gy, gx, gw, rows, dim),
    layernorm: (x, w, b, out, mean, rstd, rows, dim, ar, eps) => layernorm(ctx, x, w, b, out, mean, rstd, rows, dim, ar, eps),
    layernormBackward: (x, w, mean, rstd, gy, gx, gw, gb, rows, dim, ar) => layernormBackward(ctx, x, w, mean, rstd, gy, gx, gw, gb, rows, dim, ar),
    groupnorm: (x, w, b, out, mean, rstd, n, c, hw, groups, eps) => groupnorm(ctx, x, w, b, out, mean, rstd, n, c, hw, groups, eps),
    crossEntropy: (l, t, losses, lse, rows, vocab, ig) => crossEntropy(ctx, l, t, losses, lse, rows, vocab, ig),
    crossEntropyBackward: (l, t, lse, g, rows, vocab, ig, ce, z) => crossEntropyBackward(ctx, l, t, lse, g, rows, vocab, ig, ce, z),
    reduce: (op, x, out, outer, len, inner) => reduce(ctx, op, x, out, outer, len, inner),
    rope: (x, out, pos, b, t, h, d, theta, inv) => rope(ctx, x, out, pos, b, t, h, d, theta, inv),
    gather: (table, dt, ids, out, dim) => gather(ctx, table, dt, ids, out, dim),
    scatterAdd: (g, ids, gt, dim) => scatterAdd(ctx, g, ids, gt, dim),
    attention: (q, k, v, out, probs, p) => attention(ctx, q, k, v, out, probs, p),
    attentionBackward: (q, k, v, probs, gOut, gq, gk, gv, p) => attentionBackward(ctx, q, k, v, probs, gOut, gq, gk, gv, p),
    conv2d: (x, w, b, out, p) => conv2d(ctx, x, w, b, out, p),
    conv2dBackward: (x, w, gy, gx, gw, gb, p) => conv2dBackward(ctx, x, w, gy, gx, gw, gb, p),
  };
  const kernels: Kernels = { ...ctx.ref, ...native };
  return { kernels, native: new Set(Object.keys(native) as KernelName[]) };
}
