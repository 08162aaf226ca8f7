// im2col / col2im for 2-D convolution (NCHW, square stride, zero padding, no dilation or groups):
// the convolution itself is a GEMM over the unfolded columns, run by the caller. im2col splits the
// rows (ci, ky, kx) of cols; col2im splits input channels, so each gx plane has one writer.

/** Output columns [ox0, ox1) whose input column ox·stride − padL + kx lies inside [0, w). */
@inline function validLo(stride: i32, padL: i32, kx: i32): i32 {
  // smallest ox with ox·stride >= padL − kx
  const need = padL - kx;
  return need <= 0 ? 0 : (need + stride - 1) / stride;
}

@inline function validHi(w: i32, stride: i32, padL: i32, kx: i32, outW: i32): i32 {
  // one past the largest ox with ox·stride − padL + kx <= w − 1
  const lim = w - 1 + padL - kx;
  return lim < 0 ? 0 : min(outW, lim / stride + 1);
}

/**
 * cols[(ci·kh + ky)·kw + kx, oy·outW + ox] = x[ci, oy·stride − padT + ky, ox·stride − padL + kx] or 0,
 * rows [start, end). Each output row is zeros, then a run copied from one input row (contiguous
 * for stride 1), then zeros: no per-element bounds test.
 */
export function im2col(x: usize, cols: usize, h: i32, w: i32, kh: i32, kw: i32, stride: i32, padT: i32, padL: i32, outH: i32, outW: i32, start: i32, end: i32, _scratch: usize): void {
  const L = outH * outW;
  for (let r = start; r < end; r++) {
    const kx = r % kw;
    const ky = (r / kw) % kh;
    const ci = r / (kw * kh);
    const xo = x + ((<usize>ci * <usize>h * <usize>w) << 2);
    const co = cols + ((<usize>r * <usize>L) << 2);
    const lo = validLo(stride, padL, kx);
    const hi = max(lo, validHi(w, stride, padL, kx, outW));
    for (let oy = 0; oy < outH; oy++) {
      const iy = oy * stride - padT + ky;
      const dst = co + ((<usize>(oy * outW)) << 2);
      if (iy < 0 || iy >= h) {
        memory.fill(dst, 0, <usize>outW << 2);
        continue;
      }
      if (lo > 0) memory.fill(dst, 0, <usize>lo << 2);
      if (hi < outW) memory.fill(dst + (<usize>hi << 2), 0, <usize>(outW - hi) << 2);
      const src = xo + ((<usize>iy * <usize>w + <usize>(lo * stride - padL + kx)) << 2);
      if (stride == 1) {
        memory.copy(dst + (<usize>lo << 2), src, <usize>(hi - lo) << 2);
      } else {
        const step = <usize>stride << 2;
        let q = src;
        for (let ox = lo; ox < hi; ox++) {
          store<f32>(dst + (<usize>ox << 2), load<f32>(q));
          q += step;
        }
      }
    }
  }
}

/**
 * gx[ci] = Σ over taps of cols rows (ci, ·, ·) folded back (written, not accumulated), channels
 * [start, end). Only each row's valid run is visited; stride 1 adds it four lanes at a time.
 */
export function col2im(cols: usize, gx: usize, h: i32, w: i32, kh: i32, kw: i32, stride: i32, padT: i32, padL: i32, outH: i32, outW: i32, start: i32, end: i32, _scratch: usize): void {
  const L = outH * outW;
  for (let ci = start; ci < end; ci++) {
    const xo = gx + ((<usize>ci * <usize>h * <usize>w) << 2);
    memory.fill(xo, 0, (<usize>h * <usize>w) << 2);
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const src = cols + ((<usize>((ci * kh + ky) * kw + kx) * <usize>L) << 2);
        const lo = validLo(stride, padL, kx);
        const hi = max(lo, validHi(w, stride, padL, kx, outW));
        for (let oy = 0; oy < outH; oy++) {
          const iy = oy * stride - padT + ky;
          if (iy < 0 || iy >= h) continue;
          const q0 = xo + ((<usize>iy * <usize>w + <usize>(lo * stride - padL + kx)) << 2);
          const s0 = src + (<usize>(oy * outW + lo) << 2);
          const n = hi - lo;
          if (stride == 1) {
            let i = 0;
            for (; i + 4 <= n; i += 4) {
              const o = <usize>i << 2;
              v128.store(q0 + o, f32x4.add(v128.load(q0 + o), v128.load(s0 + o)));
            }
            for (; i < n; i++) {
              const o = <usize>i << 2;
              store<f32>(q0 + o, load<f32>(q0 + o) + load<f32>(s0 + o));
            }
          } else {
            const step = <usize>stride << 2;
            let q = q0;
            for (let i = 0; i < n; i++) {
              store<f32>(q, load<f32>(q) + load<f32>(s0 + (<usize>i << 2)));
              q += step;
            }
          }
        }
      }
    }
  }
}
