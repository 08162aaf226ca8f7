// Native (wasm) softmax, attention and RoPE. Softmax and RoPE split rows across threads; attention
// forward splits (batch, query, head) rows, backward splits (batch, kv head) pairs so gk/gv rows have
// one writer. Falls back to ref when an array is outside wasm memory or a row's scores (attention) or
// the cos/sin table (RoPE) do not fit in per-thread scratch.

import type { AttentionParams, F32, I32 } from '../../../kernels.js';
import { requireHeap, par, type NativeContext } from './context.js';

export function softmax(ctx: NativeContext, x: F32, out: F32, rows: number, dim: number): void {
  requireHeap(ctx, 'softmax', x, out);
  ctx.pool.run('softmax', 'softmax', [x.byteOffset, out.byteOffset, dim], rows, 1, par(rows, dim));
}

export function softmaxBackward(ctx: NativeContext, y: F32, gy: F32, gx: F32, rows: number, dim: number): void {
  requireHeap(ctx, 'softmaxBackward', y, gy, gx);
  ctx.pool.run('softmaxBackward', 'softmax_backward', [y.byteOffset, gy.byteOffset, gx.byteOffset, dim], rows, 1, par(rows, dim));
}

export function attention(ctx: NativeContext, q: F32, k: F32 | Uint16Array, v: F32 | Uint16Array, out: F32, probs: F32 | null, p: AttentionParams): void {
  requireHeap(ctx, 'attention', q, k, v, out, probs, p.keyStart, p.segIds);
  // Rows longer than the per-thread scratch (or uneven head groups) take the ref kernel over this memory.
  if ((p.tk + p.dim) * 4 > ctx.pool.scratchBytes || p.hq % p.hkv !== 0) {
    return ctx.ref.attention(q, k, v, out, probs, p);
  }
  const items = p.batch * p.tq * p.hq;
  const args = [
    q.byteOffset,
    k.byteOffset,
    v.byteOffset,
    out.byteOffset,
    probs === null ? 0 : probs.byteOffset,
    p.keyStart === null ? 0 : p.keyStart.byteOffset,
    p.segIds === null ? 0 : p.segIds.byteOffset,
    p.tq,
    p.tk,
    p.hq,
    p.hkv,
    p.dim,
    p.scale,
    p.causal ? 1 : 0,
    p.qOffset,
    p.kvBatchStride,
    p.kvDtype === 'bf16' ? 1 : 0,
  ];
  ctx.pool.run('attention', 'attention', args, items, 1, items > 1 && items * p.tk * p.dim >= 16384);
}

export function attentionBackward(ctx: NativeContext, q: F32, k: F32, v: F32, probs: F32, gOut: F32, gq: F32, gk: F32, gv: F32, p: AttentionParams): void {
  requireHeap(ctx, 'attentionBackward', q, k, v, probs, gOut, gq, gk, gv);
  if (p.tk * 4 > ctx.pool.scratchBytes || p.hq % p.hkv !== 0) {
    return ctx.ref.attentionBackward(q, k, v, probs, gOut, gq, gk, gv, p);
  }
  const items = p.batch * p.hkv;
  const args = [q.byteOffset, k.byteOffset, v.byteOffset, probs.byteOffset, gOut.byteOffset, gq.byteOffset, gk.byteOffset, gv.byteOffset, p.tq, p.tk, p.hq, p.hkv, p.dim, p.scale, p.kvBatchStride];
  ctx.pool.run('attentionBackward', 'attention_backward', args, items, 1, items > 1 && p.tq * p.tk * p.dim * p.hq >= 16384);
}

export function rope(ctx: NativeContext, x: F32, out: F32, positions: I32, batch: number, t: number, heads: number, dim: number, theta: number, inverse: boolean): void {
  const half = dim >> 1;
  requireHeap(ctx, 'rope', x, out, positions);
  if (half * 8 > ctx.pool.scratchBytes) return ctx.ref.rope(x, out, positions, batch, t, heads, dim, theta, inverse);
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
