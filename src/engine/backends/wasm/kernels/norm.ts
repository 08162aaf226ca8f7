// Native (wasm) normalisation: RMSNorm and LayerNorm forward and backward (row passes split rows
// across threads; backward's row pass also leaves per-participant f64 partials of the weight/bias
// gradients in scratch, added up here; when they do not fit, a column pass splits columns, so no two
// threads write one element) and GroupNorm forward. GroupNorm backward stays ref.

import type { F32 } from '../../../kernels.js';
import { requireHeap, par, ptr, type NativeContext } from './context.js';

export function rmsnorm(ctx: NativeContext, x: F32, w: F32, out: F32, rstd: F32 | null, rows: number, dim: number, eps: number): void {
  requireHeap(ctx, 'rmsnorm', x, w, out, rstd);
  ctx.pool.run('rmsnorm', 'rmsnorm', [x.byteOffset, w.byteOffset, out.byteOffset, ptr(rstd), dim, eps], rows, 1, par(rows, dim));
}

/**
 * Adds the row pass's f64 partials (count floats per participant at its scratch, starting byteOffset
 * bytes in) into acc: acc[c] = f32(acc[c] + Σ_p partial_p[c]), participants in order.
 */
function addPartials(ctx: NativeContext, acc: F32, parts: number, byteOffset: number, count: number): void {
  const views: Float64Array[] = [];
  for (let p = 0; p < parts; p++) views.push(new Float64Array(acc.buffer, ctx.pool.scratch(p) + byteOffset, count));
  for (let c = 0; c < count; c++) {
    let s = 0;
    for (const v of views) s += v[c];
    acc[c] = acc[c] + s;
  }
}

export function rmsnormBackward(ctx: NativeContext, x: F32, w: F32, rstd: F32, gy: F32, gx: F32, gw: F32, rows: number, dim: number): void {
  requireHeap(ctx, 'rmsnormBackward', x, w, rstd, gy, gx, gw);
  const p = par(rows, dim);
  const args = [x.byteOffset, w.byteOffset, rstd.byteOffset, gy.byteOffset, gx.byteOffset, dim];
  if (dim * 8 <= ctx.pool.scratchBytes) {
    // One pass: gx rows and per-participant f64 partials of gw (static row split), added up here.
    const parts = ctx.pool.run('rmsnormBackward', 'rmsnorm_backward', [...args, 1], rows, 1, p);
    addPartials(ctx, gw, parts, 0, dim);
    return;
  }
  ctx.pool.run('rmsnormBackward', 'rmsnorm_backward', [...args, 0], rows, 1, p);
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
  const args = [x.byteOffset, ptr(w), mean.byteOffset, rstd.byteOffset, gy.byteOffset, gx.byteOffset, dim, ar];
  const n = ar * dim;
  if ((gw !== null || gb !== null) && 2 * n * 8 <= ctx.pool.scratchBytes) {
    // One pass: gx rows and per-participant f64 partials of gw [ar, dim] then gb (static row split).
    const parts = ctx.pool.run('layernormBackward', 'layernorm_backward', [...args, gw !== null ? 1 : 0, gb !== null ? 1 : 0], rows, 1, p);
    if (gw !== null) addPartials(ctx, gw, parts, 0, n);
    if (gb !== null) addPartials(ctx, gb, parts, n * 8, n);
    return;
  }
  ctx.pool.run('layernormBackward', 'layernorm_backward', [...args, 0, 0], rows, 1, p);
  if (gw !== null || gb !== null) {
    ctx.pool.run('layernormBackward', 'norm_backward_gw', [x.byteOffset, mean.byteOffset, rstd.byteOffset, gy.byteOffset, ptr(gw), ptr(gb), rows, dim, ar], dim, 4, p);
  }
}

export function groupnorm(ctx: NativeContext, x: F32, w: F32, b: F32, out: F32, mean: F32 | null, rstd: F32 | null, n: number, c: number, hw: number, groups: number, eps: number): void {
  requireHeap(ctx, 'groupnorm', x, w, b, out, mean, rstd);
  const items = n * groups;
  ctx.pool.run('groupnorm', 'groupnorm', [x.byteOffset, w.byteOffset, b.byteOffset, out.byteOffset, ptr(mean), ptr(rstd), c, hw, groups, eps], items, 1, par(items, (c / groups) * hw));
}
