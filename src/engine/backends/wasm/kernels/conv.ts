// Native (wasm) convolution: conv2d is im2col + the native GEMM per image (backward: GEMMs for gw
// and the column gradient, then col2im; gb summed here). upsampleNearest stays ref. Falls back to
// ref when an array is outside wasm memory.

import type { Conv2dParams, F32, GemmParams } from '../../../kernels.js';
import { requireHeap, type NativeContext } from './context.js';
import { gemm } from './matmul.js';

/** Unfolds image s of x into cols [cin·kh·kw, outH·outW] (a region the caller owns). */
function unfold(ctx: NativeContext, x: F32, s: number, cols: F32, p: Conv2dParams, label: string): void {
  const K = p.cin * p.kh * p.kw;
  const args = [x.byteOffset + s * p.cin * p.h * p.w * 4, cols.byteOffset, p.h, p.w, p.kh, p.kw, p.stride, p.padT, p.padL, p.outH, p.outW];
  ctx.pool.run(label, 'im2col', args, K, 1, K * p.outH * p.outW >= 32768);
}

function withCols(ctx: NativeContext, p: Conv2dParams, body: (cols: F32) => void): void {
  const len = p.cin * p.kh * p.kw * p.outH * p.outW;
  const region = ctx.heap.reserve(len * 4, false); // im2col / the gemm overwrite every element
  try {
    body(new Float32Array(region.buffer, region.byteOffset, len));
  } finally {
    ctx.heap.unreserve(region);
  }
}

const plain = (m: number, n: number, k: number, transA: boolean, transB: boolean, accumulate: boolean): GemmParams => ({
  batch: 1, m, n, k, transA, transB, aStride: 0, bStride: 0, cStride: 0, bDtype: 'f32', accumulate,
});

export function conv2d(ctx: NativeContext, x: F32, w: F32, b: F32 | null, out: F32, p: Conv2dParams): void {
  requireHeap(ctx, 'conv2d', x, w, b, out);
  const K = p.cin * p.kh * p.kw;
  const L = p.outH * p.outW;
  withCols(ctx, p, (cols) => {
    for (let s = 0; s < p.n; s++) {
      const o = out.subarray(s * p.cout * L, (s + 1) * p.cout * L);
      if (b !== null) for (let co = 0; co < p.cout; co++) o.fill(b[co], co * L, (co + 1) * L);
      unfold(ctx, x, s, cols, p, 'conv2d');
      gemm(ctx, w, cols, o, plain(p.cout, L, K, false, false, b !== null));
    }
  });
}

export function conv2dBackward(ctx: NativeContext, x: F32, w: F32, gy: F32, gx: F32 | null, gw: F32 | null, gb: F32 | null, p: Conv2dParams): void {
  requireHeap(ctx, 'conv2dBackward', x, w, gy, gx, gw, gb);
  const K = p.cin * p.kh * p.kw;
  const L = p.outH * p.outW;
  if (gb !== null) {
    gb.fill(0);
    for (let s = 0; s < p.n; s++) {
      for (let co = 0; co < p.cout; co++) {
        let acc = 0;
        const o = (s * p.cout + co) * L;
        for (let i = 0; i < L; i++) acc += gy[o + i];
        gb[co] += acc;
      }
    }
  }
  if (gw === null && gx === null) return;
  withCols(ctx, p, (cols) => {
    for (let s = 0; s < p.n; s++) {
      const g = gy.subarray(s * p.cout * L, (s + 1) * p.cout * L);
      if (gw !== null) {
        unfold(ctx, x, s, cols, p, 'conv2dBackward');
        // gw [cout, K] (+)= gy[s] [cout, L] · colsᵀ (cols stored K x L).
        gemm(ctx, g, cols, gw, plain(p.cout, K, L, false, true, s > 0));
      }
      if (gx !== null) {
        // cols = wᵀ [K, cout] · gy[s] [cout, L], then fold back into gx[s].
        gemm(ctx, w, g, cols, plain(K, L, p.cout, true, false, false));
        const args = [cols.byteOffset, gx.byteOffset + s * p.cin * p.h * p.w * 4, p.h, p.w, p.kh, p.kw, p.stride, p.padT, p.padL, p.outH, p.outW];
        ctx.pool.run('conv2dBackward', 'col2im', args, p.cin, 1, K * L >= 32768);
      }
    }
  });
}
