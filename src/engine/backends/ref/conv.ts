// Reference 2-D convolution (NCHW, OIHW weights, zero padding with independent top/left/bottom/right
// pads, square stride, no dilation or groups) with its backward, and integer-factor nearest-neighbour
// upsampling. Direct loops over kernel taps with a float64 output-plane accumulator; no im2col.

import type { Conv2dParams, F32, FamilyKernels } from '../../kernels.js';

/**
 * For each tap kk < taps: the output indices o whose input index o·stride − pad + kk lies in [0, size),
 * as the half-open range [lo[kk], hi[kk]). Used once per axis so the tap loops do no bounds checks.
 */
function validRanges(taps: number, stride: number, pad: number, size: number, outSize: number): { lo: Int32Array; hi: Int32Array } {
  const lo = new Int32Array(taps);
  const hi = new Int32Array(taps);
  for (let kk = 0; kk < taps; kk++) {
    // i = o·stride − pad + kk ≥ 0  ⇔  o ≥ (pad − kk) / stride;  i ≤ size − 1  ⇔  o ≤ (size − 1 + pad − kk) / stride.
    const l = Math.max(0, Math.ceil((pad - kk) / stride));
    const h = Math.min(outSize, Math.floor((size - 1 + pad - kk) / stride) + 1);
    lo[kk] = l;
    hi[kk] = Math.max(l, h);
  }
  return { lo, hi };
}

/**
 * out[n, co, oy, ox] = b[co] + Σ_{ci, ky, kx} w[co, ci, ky, kx] · x[n, ci, oy·stride − padT + ky,
 * ox·stride − padL + kx], taps outside the input read 0. padB/padR only shape outH/outW.
 */
function conv2d(x: F32, w: F32, b: F32 | null, out: F32, p: Conv2dParams): void {
  const { n, cin, h, w: wid, cout, kh, kw, stride, padT, padL, outH, outW } = p;
  const ry = validRanges(kh, stride, padT, h, outH);
  const rx = validRanges(kw, stride, padL, wid, outW);
  const plane = outH * outW;
  const acc = new Float64Array(plane);
  const xPlane = h * wid;
  for (let s = 0; s < n; s++) {
    for (let co = 0; co < cout; co++) {
      acc.fill(b !== null ? b[co] : 0);
      for (let ci = 0; ci < cin; ci++) {
        const xo = (s * cin + ci) * xPlane;
        for (let ky = 0; ky < kh; ky++) {
          const oy0 = ry.lo[ky];
          const oy1 = ry.hi[ky];
          for (let kx = 0; kx < kw; kx++) {
            const wv = w[((co * cin + ci) * kh + ky) * kw + kx];
            const ox0 = rx.lo[kx];
            const ox1 = rx.hi[kx];
            for (let oy = oy0; oy < oy1; oy++) {
              const xr = xo + (oy * stride - padT + ky) * wid - padL + kx;
              const ar = oy * outW;
              for (let ox = ox0; ox < ox1; ox++) acc[ar + ox] += wv * x[xr + ox * stride];
            }
          }
        }
      }
      const oo = (s * cout + co) * plane;
      for (let i = 0; i < plane; i++) out[oo + i] = acc[i];
    }
  }
}

/**
 * Gradients of conv2d. gb[co] = Σ gy[·, co]; gw[co, ci, ky, kx] = Σ gy[n, co, oy, ox] · x[n, ci, iy, ix];
 * gx[n, ci, iy, ix] = Σ w[co, ci, ky, kx] · gy[n, co, oy, ox] over the taps that read (iy, ix).
 * Each non-null output is written (not accumulated).
 */
function conv2dBackward(x: F32, w: F32, gy: F32, gx: F32 | null, gw: F32 | null, gb: F32 | null, p: Conv2dParams): void {
  const { n, cin, h, w: wid, cout, kh, kw, stride, padT, padL, outH, outW } = p;
  const ry = validRanges(kh, stride, padT, h, outH);
  const rx = validRanges(kw, stride, padL, wid, outW);
  const plane = outH * outW;
  const xPlane = h * wid;

  if (gb !== null) {
    for (let co = 0; co < cout; co++) {
      let s = 0;
      for (let sn = 0; sn < n; sn++) {
        const go = (sn * cout + co) * plane;
        for (let i = 0; i < plane; i++) s += gy[go + i];
      }
      gb[co] = s;
    }
  }

  if (gw !== null) {
    for (let co = 0; co < cout; co++) {
      for (let ci = 0; ci < cin; ci++) {
        for (let ky = 0; ky < kh; ky++) {
          const oy0 = ry.lo[ky];
          const oy1 = ry.hi[ky];
          for (let kx = 0; kx < kw; kx++) {
            const ox0 = rx.lo[kx];
            const ox1 = rx.hi[kx];
            let s = 0;
            for (let sn = 0; sn < n; sn++) {
              const xo = (sn * cin + ci) * xPlane;
              const go = (sn * cout + co) * plane;
              for (let oy = oy0; oy < oy1; oy++) {
                const xr = xo + (oy * stride - padT + ky) * wid - padL + kx;
                const gr = go + oy * outW;
                for (let ox = ox0; ox < ox1; ox++) s += gy[gr + ox] * x[xr + ox * stride];
              }
            }
            gw[((co * cin + ci) * kh + ky) * kw + kx] = s;
          }
        }
      }
    }
  }

  if (gx !== null) {
    const acc = new Float64Array(xPlane);
    for (let sn = 0; sn < n; sn++) {
      for (let ci = 0; ci < cin; ci++) {
        acc.fill(0);
        for (let co = 0; co < cout; co++) {
          const go = (sn * cout + co) * plane;
          for (let ky = 0; ky < kh; ky++) {
            const oy0 = ry.lo[ky];
            const oy1 = ry.hi[ky];
            for (let kx = 0; kx < kw; kx++) {
              const wv = w[((co * cin + ci) * kh + ky) * kw + kx];
              const ox0 = rx.lo[kx];
              const ox1 = rx.hi[kx];
              for (let oy = oy0; oy < oy1; oy++) {
                const ar = (oy * stride - padT + ky) * wid - padL + kx;
                const gr = go + oy * outW;
                for (let ox = ox0; ox < ox1; ox++) acc[ar + ox * stride] += wv * gy[gr + ox];
              }
            }
          }
        }
        const xo = (sn * cin + ci) * xPlane;
        for (let i = 0; i < xPlane; i++) gx[xo + i] = acc[i];
      }
    }
  }
}

/** out[p, oy, ox] = x[p, floor(oy / factor), floor(ox / factor)]; out is [planes, h·factor, w·factor]. */
function upsampleNearest(x: F32, out: F32, planes: number, h: number, w: number, factor: number): void {
  const ow = w * factor;
  for (let pl = 0; pl < planes; pl++) {
    const xo = pl * h * w;
    const oo = pl * h * factor * ow;
    for (let y = 0; y < h; y++) {
      const firstRow = oo + y * factor * ow;
      for (let xx = 0; xx < w; xx++) {
        const v = x[xo + y * w + xx];
        const c = firstRow + xx * factor;
        for (let f = 0; f < factor; f++) out[c + f] = v;
      }
      for (let r = 1; r < factor; r++) out.copyWithin(firstRow + r * ow, firstRow, firstRow + ow);
    }
  }
}

/** gx[p, y, x] = Σ of gy over its factor×factor block (written). */
function upsampleNearestBackward(gy: F32, gx: F32, planes: number, h: number, w: number, factor: number): void {
  const ow = w * factor;
  for (let pl = 0; pl < planes; pl++) {
    const go = pl * h * factor * ow;
    const xo = pl * h * w;
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        let s = 0;
        for (let r = 0; r < factor; r++) {
          const row = go + (y * factor + r) * ow + xx * factor;
          for (let f = 0; f < factor; f++) s += gy[row + f];
        }
        gx[xo + y * w + xx] = s;
      }
    }
  }
}

/** The conv family of the ref kernel table. */
export const convKernels: FamilyKernels<'conv'> = { conv2d, conv2dBackward, upsampleNearest, upsampleNearestBackward };
