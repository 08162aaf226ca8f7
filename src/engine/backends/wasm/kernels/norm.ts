// Native (wasm) normalisation: RMSNorm and LayerNorm forward and backward (row passes split rows
// across threads; the weight/bias gradient pass splits columns, so no two threads write one element)
// and GroupNorm forward. GroupNorm backward stays ref.

import type { F32 } from '../../../kernels.js';
import { requireHeap, par, ptr, type NativeContext } from './context.js';

export function rmsnorm(ctx: NativeContext, x: F32, w: F32, out: F32, rstd: F32 | null, rows: number, dim: number, eps: number): void {
  requireHeap(ctx, 'rmsnorm', x, w, out, rstd);
  ctx.pool.run('rmsnorm', 'rmsnorm', [x.byteOffset, w.byteOffset, out.byteOffset, ptr(rstd), dim, eps], rows, 1, par(rows, dim));
}

export function rmsnormBackward(ctx: NativeContext, x: F32, w: F32, rstd: F32, gy: F32, gx: F32, gw: F32, rows: number, dim: number): void {
  requireHeap(ctx, 'rmsnormBackward', x, w, rstd, gy, gx, gw);
  const p = par(rows, dim);
  ctx.pool.run('rmsnormBackward', 'rmsnorm_backward', [x.byteOffset, w.byteOffset, rstd.byteOffset, gy.byteOffset, gx.byteOffset, dim], rows, 1, p);
  ctx.pool.run('rmsnormBackward', 'norm_backward_gw', [x.byteOffset, 0, rstd.byteOffset, gy.byteOffset, gw.byteOffset, 0, rows, dim, 1], dim, 4, p);
}

export function layernorm(ctx: NativeContext, x: F32, w: F32 | null, b: F32 | null, out: F32, mean: F32 | null, rstd: F32 | null, rows: number, dim: number, affineRows: number, eps: number): void {
  requireHeap(ctx, 'layernorm', x, w, b, out, mean, rstd);
  const args = [x.byteOffset, ptr(w), ptr(b), out.byteOffset, ptr(mean), ptr(rstd), dim, Math.max(1, affineRows), eps];
  ctx.pool.run('layernorm', 'layernorm', args, rows, 1, par(rows, dim));
}

export function layernormBackward(ctx: NativeContext, x: F32, w: F32 | null, mean: F32, rstd: F32, gy: F32, gx: F32, gw: F32 | null, gb: F32 | null, rows: number, dim: number, affineRows: number): void {
  requireHeap(ctx, 'layernormBackward', x, w, mean, rstd, gy, gx, gw, gb);
  const ar = Math.max(1, affineRows);
  const p = par(rows, dim);
  ctx.pool.run('layernormBackward', 'layernorm_backward', [x.byteOffset, ptr(w), mean.byteOffset, rstd.byteOffset, gy.byteOffset, gx.byteOffset, dim, ar], rows, 1, p);
  if (gw !== null || gb !== null) {
    ctx.pool.run('layernormBackward', 'norm_backward_gw', [x.byteOffset, mean.byteOffset, rstd.byteOffset, gy.byteOffset, ptr(gw), ptr(gb), rows, dim, ar], dim, 4, p);
  }
}

export function groupnorm(ctx: NativeContext, x: F32, w: F32, b: F32, out: F32, mean: F32 | null, rstd: F32 | null, n: number, c: number, hw: number, groups: number, eps: number): void {
  requireHeap(ctx, 'groupnorm', x, w, b, out, mean, rstd);
  const items = n * groups;
  ctx.pool.run('groupnorm', 'groupnorm', [x.byteOffset, w.byteOffset, b.byteOffset, out.byteOffset, ptr(mean), ptr(rstd), c, hw, groups, eps], items, 1, par(items, (c / groups) * hw));
}
