// Native (wasm) loss and regularisation: cross entropy forward, backward and both fused (rows split
// across threads) and dropout (the ref's counter hash, so the mask is the same bit for bit; p outside (0, 1)
// goes to ref). Falls back to ref for arrays outside wasm memory.

import type { F32, I32 } from '../../../kernels.js';
import { dropoutKey } from '../../ref/loss.js';
import { DYNAMIC_STREAM, requireHeap, PAR_ELEMS, par, type NativeContext } from './context.js';

export function crossEntropy(ctx: NativeContext, logits: F32, targets: I32, losses: F32, lse: F32, rows: number, vocab: number, ignoreIndex: number): void {
  requireHeap(ctx, 'crossEntropy', logits, targets, losses, lse);
  ctx.pool.run('crossEntropy', 'cross_entropy', [logits.byteOffset, targets.byteOffset, losses.byteOffset, lse.byteOffset, vocab, ignoreIndex], rows, 1, par(rows, vocab));
}

export function crossEntropyBackward(ctx: NativeContext, logits: F32, targets: I32, lse: F32, gLogits: F32, rows: number, vocab: number, ignoreIndex: number, ceScale: number, zScale: number): void {
  requireHeap(ctx, 'crossEntropyBackward', logits, targets, lse, gLogits);
  const args = [logits.byteOffset, targets.byteOffset, lse.byteOffset, gLogits.byteOffset, vocab, ignoreIndex, ceScale, zScale];
  ctx.pool.run('crossEntropyBackward', 'cross_entropy_backward', args, rows, 1, par(rows, vocab));
}

export function crossEntropyWithGrad(ctx: NativeContext, logits: F32, targets: I32, losses: F32, lse: F32, gLogits: F32, rows: number, vocab: number, ignoreIndex: number, ceScale: number, zScale: number): void {
  requireHeap(ctx, 'crossEntropyWithGrad', logits, targets, losses, lse, gLogits);
  const args = [logits.byteOffset, targets.byteOffset, losses.byteOffset, lse.byteOffset, gLogits.byteOffset, vocab, ignoreIndex, ceScale, zScale];
  ctx.pool.run('crossEntropyWithGrad', 'cross_entropy_grad', args, rows, 1, par(rows, vocab));
}

export function dropout(ctx: NativeContext, x: F32, out: F32, p: number, seed: number): void {
  requireHeap(ctx, 'dropout', x, out);
  if (p >= 1 || p <= 0) return ctx.ref.dropout(x, out, p, seed);
  const n = x.length;
  // u = (h >>> 8) / 2^24 >= p  <=>  (h >>> 8) >= ceil(p · 2^24): the same decisions as the ref kernel.
  const threshold = Math.ceil(p * 16777216);
  ctx.pool.run('dropout', 'dropout', [x.byteOffset, out.byteOffset, 1 / (1 - p), threshold, dropoutKey(seed)], n, 16, n >= PAR_ELEMS, DYNAMIC_STREAM);
}
