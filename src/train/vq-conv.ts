// Fast conv2d for VQGAN training/inference on backends without a native conv kernel: im2col (or the
// input itself for 1×1 convs) + the backend's gemm (SIMD, multi-threaded on wasm), forward and
// backward, installed per Engine by giving it a kernel table that overrides conv2d/conv2dBackward.
// Stopgap: this belongs in the wasm backend as a native kernel; remove once backend.native has conv2d.

import type { Engine } from '../engine/index.js';
import type { Conv2dParams, F32, Kernels } from '../engine/kernels.js';

/** Scratch floats one im2col buffer may take (chunks of whole images or output rows beyond that). */
const MAX_COLS = 1 << 24;

/** Output index ranges [lo, hi) per tap whose input index o·stride − pad + t lies in [0, size). */
function ranges(taps: number, stride: number, pad: number, size: number, outSize: number): { lo: Int32Array; hi: Int32Array } {
  const lo = new Int32Array(taps);
  const hi = new Int32Array(taps);
  for (let t = 0; t < taps; t++) {
    const l = Math.max(0, Math.ceil((pad - t) / stride));
    const h = Math.min(outSize, Math.floor((size - 1 + pad - t) / stride) + 1);
    lo[t] = l;
    hi[t] = Math.max(l, h);
  }
  return { lo, hi };
}

function isPointwise(p: Conv2dParams): boolean {
  return p.kh === 1 && p.kw === 1 && p.stride === 1 && p.padT === 0 && p.padL === 0 && p.outH === p.h && p.outW === p.w;
}

/**
 * cols[(ci·kh + ky)·kw + kx, (oy − oy0)·outW + ox] = x[ci, oy·s − padT + ky, ox·s − padL + kx] (0 outside)
 * for output rows oy0 ≤ oy < oy1 of one image (x points at that image).
 */
function im2col(x: F32, xOff: number, cols: F32, p: Conv2dParams, oy0: number, oy1: number): void {
  const { cin, h, w, kh, kw, stride, padT, padL, outW } = p;
  const ry = ranges(kh, stride, padT, h, p.outH);
  const rx = ranges(kw, stride, padL, w, outW);
  const cols_ = (oy1 - oy0) * outW;
  for (let ci = 0; ci < cin; ci++) {
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const row = ((ci * kh + ky) * kw + kx) * cols_;
        const ox0 = rx.lo[kx];
        const ox1 = rx.hi[kx];
        for (let oy = oy0; oy < oy1; oy++) {
          const o = row + (oy - oy0) * outW;
          if (oy < ry.lo[ky] || oy >= ry.hi[ky]) {
            cols.fill(0, o, o + outW);
            continue;
          }
          const xr = xOff + (ci * h + oy * stride - padT + ky) * w - padL + kx;
          if (ox0 > 0) cols.fill(0, o, o + ox0);
          if (stride === 1) cols.set(x.subarray(xr + ox0, xr + ox1), o + ox0);
          else for (let ox = ox0; ox < ox1; ox++) cols[o + ox] = x[xr + ox * stride];
          if (ox1 < outW) cols.fill(0, o + ox1, o + outW);
        }
      }
    }
  }
}

/** gx[image] += col2im(cols) (the adjoint of im2col over all output rows). */
function col2im(cols: F32, gx: F32, gxOff: number, p: Conv2dParams): void {
  const { cin, h, w, kh, kw, stride, padT, padL, outH, outW } = p;
  const ry = ranges(kh, stride, padT, h, outH);
  const rx = ranges(kw, stride, padL, w, outW);
  const plane = outH * outW;
  for (let ci = 0; ci < cin; ci++) {
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const row = ((ci * kh + ky) * kw + kx) * plane;
        const ox0 = rx.lo[kx];
        const ox1 = rx.hi[kx];
        for (let oy = ry.lo[ky]; oy < ry.hi[ky]; oy++) {
          const o = row + oy * outW;
          const xr = gxOff + (ci * h + oy * stride - padT + ky) * w - padL + kx;
          for (let ox = ox0; ox < ox1; ox++) gx[xr + ox * stride] += cols[o + ox];
        }
      }
    }
  }
}

function gemmParams(m: number, n: number, k: number, transA: boolean, transB: boolean, accumulate: boolean): Parameters<Kernels['gemm']>[3] {
  return { batch: 1, m, n, k, transA, transB, aStride: 0, bStride: 0, cStride: 0, bDtype: 'f32', accumulate };
}

/** conv2d via im2col + gemm; same contract as Kernels.conv2d. */
export function conv2dGemm(engine: Engine, k: Kernels, x: F32, wt: F32, b: F32 | null, out: F32, p: Conv2dParams): void {
  const { n, cin, cout, kh, kw, outH, outW } = p;
  const kk = cin * kh * kw;
  const plane = outH * outW;
  const xPlane = cin * p.h * p.w;
  if (isPointwise(p)) {
    // out[s] = W [cout, cin] · x[s] [cin, plane], all images in one batched gemm.
    k.gemm(wt, x, out, { ...gemmParams(cout, plane, cin, false, false, false), batch: n, aStride: 0, bStride: xPlane, cStride: cout * plane });
  } else {
    engine.scope(() => {
      const rowsPerChunk = Math.max(1, Math.min(outH, Math.floor(MAX_COLS / (kk * outW))));
      const cols = engine.empty([kk * rowsPerChunk * outW], 'f32', { zero: false }).f32();
      const tmp = rowsPerChunk < outH ? engine.empty([cout * rowsPerChunk * outW], 'f32', { zero: false }).f32() : null;
      for (let s = 0; s < n; s++) {
        for (let oy0 = 0; oy0 < outH; oy0 += rowsPerChunk) {
          const oy1 = Math.min(outH, oy0 + rowsPerChunk);
          const pc = (oy1 - oy0) * outW;
          im2col(x, s * xPlane, cols, p, oy0, oy1);
          if (!tmp) {
            k.gemm(wt, cols, out.subarray(s * cout * plane, (s + 1) * cout * plane), gemmParams(cout, pc, kk, false, false, false));
          } else {
            k.gemm(wt, cols, tmp, gemmParams(cout, pc, kk, false, false, false));
            for (let co = 0; co < cout; co++) out.set(tmp.subarray(co * pc, (co + 1) * pc), (s * cout + co) * plane + oy0 * outW);
          }
        }
      }
    });
  }
  if (b) {
    for (let s = 0; s < n; s++) {
      for (let co = 0; co < cout; co++) {
        const o = (s * cout + co) * plane;
        const bv = b[co];
        for (let i = 0; i < plane; i++) out[o + i] += bv;
      }
    }
  }
}

/** Gradients of conv2d via gemm (+ col2im); same contract as Kernels.conv2dBackward (written, not accumulated). */
export function conv2dBackwardGemm(engine: Engine, k: Kernels, x: F32, wt: F32, gy: F32, gx: F32 | null, gw: F32 | null, gb: F32 | null, p: Conv2dParams): void {
  const { n, cin, cout, kh, kw, outH, outW } = p;
  const kk = cin * kh * kw;
  const plane = outH * outW;
  const xPlane = cin * p.h * p.w;
  if (gb) {
    gb.fill(0);
    for (let s = 0; s < n; s++) {
      for (let co = 0; co < cout; co++) {
        const o = (s * cout + co) * plane;
        let acc = 0;
        for (let i = 0; i < plane; i++) acc += gy[o + i];
        gb[co] += acc;
      }
    }
  }
  if (isPointwise(p)) {
    // gw = Σ_s gy[s] [cout, plane] · x[s]ᵀ; gx[s] = Wᵀ · gy[s].
    if (gw) for (let s = 0; s < n; s++) k.gemm(gy.subarray(s * cout * plane), x.subarray(s * xPlane), gw, gemmParams(cout, cin, plane, false, true, s > 0));
    if (gx) k.gemm(wt, gy, gx, { ...gemmParams(cin, plane, cout, true, false, false), batch: n, aStride: 0, bStride: cout * plane, cStride: xPlane });
    return;
  }
  engine.scope(() => {
    const cols = engine.empty([kk * plane], 'f32', { zero: false }).f32();
    if (gx) gx.fill(0);
    for (let s = 0; s < n; s++) {
      const gys = gy.subarray(s * cout * plane, (s + 1) * cout * plane);
      if (gw) {
        im2col(x, s * xPlane, cols, p, 0, outH);
        k.gemm(gys, cols, gw, gemmParams(cout, kk, plane, false, true, s > 0)); // [cout, plane] · [kk, plane]ᵀ
      }
      if (gx) {
        k.gemm(wt, gys, cols, gemmParams(kk, plane, cout, true, false, false)); // [cout, kk]ᵀ · [cout, plane]
        col2im(cols, gx, s * xPlane, p);
      }
    }
  });
}

/**
 * Gives `engine` a kernel table whose conv2d/conv2dBackward use im2col + gemm, unless the backend
 * has a native conv2d. Only this engine is affected. Returns whether it was installed.
 */
export function accelerateConv(engine: Engine): boolean {
  if (engine.backend.name !== 'wasm' || engine.backend.native.has('conv2d')) return false;
  const base = engine.k;
  if ((base as Partial<{ gemmConv: true }>).gemmConv) return false;
  const k = Object.create(base) as Kernels & { gemmConv: true };
  k.gemmConv = true;
  k.conv2d = (x, w, b, out, p) => conv2dGemm(engine, base, x, w, b, out, p);
  k.conv2dBackward = (x, w, gy, gx, gw, gb, p) => conv2dBackwardGemm(engine, base, x, w, gy, gx, gw, gb, p);
  (engine as unknown as { k: Kernels }).k = k;
  return true;
}
