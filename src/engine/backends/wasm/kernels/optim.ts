// Native (wasm) optimiser kernels: AdamW (bias corrections and decay factor computed here, once per
// call) and Σx² (one f64 partial per thread in its scratch, added here in thread order). Falls back
// to ref for arrays outside wasm memory.

import type { AdamWParams, F32 } from '../../../kernels.js';
import { DYNAMIC_STREAM, requireHeap, PAR_ELEMS, type NativeContext } from './context.js';

export function adamw(ctx: NativeContext, param: F32, grad: F32, m: F32, v: F32, p: AdamWParams): void {
  requireHeap(ctx, 'adamw', param, grad, m, v);
  const n = param.length;
  const { lr, beta1, beta2, eps, weightDecay, step } = p;
  const args = [param.byteOffset, grad.byteOffset, m.byteOffset, v.byteOffset, lr, beta1, beta2, eps, 1 - lr * weightDecay, 1 - beta1 ** step, 1 - beta2 ** step];
  ctx.pool.run('adamw', 'adamw', args, n, 16, n >= PAR_ELEMS, DYNAMIC_STREAM);
}

export function sumSquares(ctx: NativeContext, x: F32): number {
  requireHeap(ctx, 'sumSquares', x);
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
