// Native (wasm) softmax, attention and RoPE. Softmax and RoPE split rows across threads; inference
// attention (no lse) splits (batch, query, head) rows with its fixed summation order; training
// attention splits (batch, head) for the forward (saving lse) and (batch, kv head) for the backward
// (recomputing probabilities; gk/gv rows have one writer), in per-thread scratch or a reserved heap
// region when the packed keys/values exceed it. Falls back to ref over this memory when the scores
// (inference) do not fit in scratch, or (training) dim % 8 != 0 (RoPE's cos/sin table is built
// here, once per distinct position, in a reserved region); arrays
// outside wasm memory are refused (KernelMemoryError).

import type { AttentionParams, F32, I32 } from '../../../kernels.js';
import { DYNAMIC_STREAM, requireHeap, par, ptr, type NativeContext } from './context.js';

export function softmax(ctx: NativeContext, x: F32, out: F32, rows: number, dim: number): void {
  requireHeap(ctx, 'softmax', x, out);
  ctx.pool.run('softmax', 'softmax', [x.byteOffset, out.byteOffset, dim], rows, 1, par(rows, dim));
}

export function softmaxBackward(ctx: NativeContext, y: F32, gy: F32, gx: F32, rows: number, dim: number): void {
  requireHeap(ctx, 'softmaxBackward', y, gy, gx);
  ctx.pool.run('softmaxBackward', 'softmax_backward', [y.byteOffset, gy.byteOffset, gx.byteOffset, dim], rows, 1, par(rows, dim));
}

/** Scratch bytes per thread of the training kernels (Kt [, Vt], score rows, a dummy row), tk rounded to 8. */
function trainScratchBytes(p: AttentionParams, backward: boolean): number {
  const sp = (p.tk + 7) & ~7;
  return 4 * ((backward ? 2 : 1) * p.dim * sp + (backward ? 8 : 4) * sp + p.dim + 4);
}

/** Whether the native training kernels take these parameters (else the ref kernel runs over this memory). */
function trainNative(p: AttentionParams): boolean {
  return p.dim % 8 === 0 && p.hq % p.hkv === 0 && p.tq > 0;
}

/**
 * Runs a training export with its work area: per-thread scratch when the packs fit, else a heap
 * region of threads × need bytes reserved for this call (long sequences, wide heads).
 */
function runTrain(ctx: NativeContext, label: string, name: 'attention_train' | 'attention_train_backward', args: number[], p: AttentionParams, backward: boolean, items: number): void {
  const need = Math.ceil(trainScratchBytes(p, backward) / 64) * 64;
  const parallel = items > 1 && p.tq * p.tk * p.dim * p.hq >= 16384;
  if (need <= ctx.pool.scratchBytes) {
    ctx.pool.run(label, name, [...args, 0, 0, ctx.pool.scratch(0), ctx.pool.scratchBytes], items, 1, parallel, DYNAMIC_STREAM);
    return;
  }
  const region = ctx.heap.reserve(need * ctx.pool.threads, false);
  try {
    ctx.pool.run(label, name, [...args, region.byteOffset, need, ctx.pool.scratch(0), ctx.pool.scratchBytes], items, 1, parallel, DYNAMIC_STREAM);
  } finally {
    ctx.heap.unreserve(region);
  }
}

export function attention(ctx: NativeContext, q: F32, k: F32 | Uint16Array, v: F32 | Uint16Array, out: F32, lse: F32 | null, p: AttentionParams): void {
  requireHeap(ctx, 'attention', q, k, v, out, lse, p.keyStart, p.segIds);
  if (lse !== null) return attentionTrain(ctx, q, k as F32, v as F32, out, lse, p);
  // Rows longer than the per-thread scratch (or uneven head groups) take the ref kernel over this memory.
  if ((p.tk + p.dim) * 4 > ctx.pool.scratchBytes || p.hq % p.hkv !== 0) {
    return ctx.ref.attention(q, k, v, out, null, p);
  }
  const items = p.batch * p.tq * p.hq;
  const args = [
    q.byteOffset,
    k.byteOffset,
    v.byteOffset,
    out.byteOffset,
    0, // probs: none (the training path saves lse instead)
    ptr(p.keyStart),
    ptr(p.segIds),
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
  // Items are independent (one writer per output row), so they are taken dynamically: a core slowed
  // by other work (the server's HTTP side, a noisy neighbour) simply takes fewer.
  ctx.pool.run('attention', 'attention', args, items, 1, items > 1 && items * p.tk * p.dim >= 16384, DYNAMIC_STREAM);
}

/** Training forward: one (batch, query head) per item, four query rows at a time; saves lse. */
function attentionTrain(ctx: NativeContext, q: F32, k: F32, v: F32, out: F32, lse: F32, p: AttentionParams): void {
  if (!trainNative(p)) return ctx.ref.attention(q, k, v, out, lse, p);
  const items = p.batch * p.hq;
  const args = [q.byteOffset, k.byteOffset, v.byteOffset, out.byteOffset, lse.byteOffset, ptr(p.keyStart), ptr(p.segIds), p.tq, p.tk, p.hq, p.hkv, p.dim, p.scale, p.causal ? 1 : 0, p.qOffset, p.kvBatchStride];
  runTrain(ctx, 'attention', 'attention_train', args, p, false, items);
}

export function attentionBackward(ctx: NativeContext, q: F32, k: F32, v: F32, out: F32, lse: F32, gOut: F32, gq: F32, gk: F32, gv: F32, p: AttentionParams): void {
  requireHeap(ctx, 'attentionBackward', q, k, v, out, lse, gOut, gq, gk, gv, p.keyStart, p.segIds);
  if (!trainNative(p)) return ctx.ref.attentionBackward(q, k, v, out, lse, gOut, gq, gk, gv, p);
  const items = p.batch * p.hkv;
  const args = [q.byteOffset, k.byteOffset, v.byteOffset, out.byteOffset, lse.byteOffset, gOut.byteOffset, gq.byteOffset, gk.byteOffset, gv.byteOffset, ptr(p.keyStart), ptr(p.segIds), p.tq, p.tk, p.hq, p.hkv, p.dim, p.scale, p.causal ? 1 : 0, p.qOffset, p.kvBatchStride];
  runTrain(ctx, 'attentionBackward', 'attention_train_backward', args, p, true, items);
}

export function rope(ctx: NativeContext, x: F32, out: F32, positions: I32, batch: number, t: number, heads: number, dim: number, theta: number, inverse: boolean): void {
  requireHeap(ctx, 'rope', x, out, positions);
  const half = dim >> 1;
  const rows = batch * t;
  if (rows === 0) return;
  // cos/sin once per distinct position (batch rows share them; the kernel only rotates), computed
  // exactly as the ref computes them: f32 angle from the f32 inverse frequency, f64 cos/sin rounded
  // to f32. Positions spanning more values than there are rows get one table row per x row.
  let lo = positions[0];
  let hi = positions[0];
  for (let r = 1; r < rows; r++) {
    const p = positions[r];
    if (p < lo) lo = p;
    if (p > hi) hi = p;
  }
  const byRow = hi - lo + 1 > rows;
  const count = byRow ? rows : hi - lo + 1;
  const region = ctx.heap.reserve(count * dim * 4, false);
  try {
    const table = new Float32Array(region.buffer, region.byteOffset, count * dim);
    const inv = new Float32Array(half);
    for (let i = 0; i < half; i++) inv[i] = 1 / Math.fround(theta ** Math.fround((2 * i) / dim));
    const sign = inverse ? -1 : 1;
    for (let c = 0; c < count; c++) {
      const pos = byRow ? positions[c] : lo + c;
      const o = c * dim;
      for (let i = 0; i < half; i++) {
        const angle = Math.fround(pos * inv[i]);
        table[o + i] = Math.cos(angle);
        table[o + half + i] = sign * Math.fround(Math.sin(angle));
      }
    }
    const args = [x.byteOffset, out.byteOffset, positions.byteOffset, heads, dim, region.byteOffset, lo, byRow ? 1 : 0];
    ctx.pool.run('rope', 'rope', args, rows, 1, par(rows, heads * dim));
  } finally {
    ctx.heap.unreserve(region);
  }
}
