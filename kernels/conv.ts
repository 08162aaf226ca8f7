// im2col / col2im for 2-D convolution (NCHW, square stride, zero padding, no dilation or groups):
// the convolution itself is a GEMM over the unfolded columns, run by the caller. im2col splits the
// rows (ci, ky, kx) of cols; col2im splits input channels, so each gx plane has one writer.

/** cols[(ci·kh + ky)·kw + kx, oy·outW + ox] = x[ci, oy·stride − padT + ky, ox·stride − padL + kx] or 0, rows [start, end). */
export function im2col(x: usize, cols: usize, h: i32, w: i32, kh: i32, kw: i32, stride: i32, padT: i32, padL: i32, outH: i32, outW: i32, start: i32, end: i32, _scratch: usize): void {
  const L = outH * outW;
  for (let r = start; r < end; r++) {
    const kx = r % kw;
    const ky = (r / kw) % kh;
    const ci = r / (kw * kh);
    const xo = x + ((<usize>ci * <usize>h * <usize>w) << 2);
    const co = cols + ((<usize>r * <usize>L) << 2);
    for (let oy = 0; oy < outH; oy++) {
      const iy = oy * stride - padT + ky;
      const dst = co + ((<usize>(oy * outW)) << 2);
      if (iy < 0 || iy >= h) {
        memory.fill(dst, 0, <usize>outW << 2);
        continue;
      }
      const row = xo + ((<usize>iy * <usize>w) << 2);
      for (let ox = 0; ox < outW; ox++) {
        const ix = ox * stride - padL + kx;
        store<f32>(dst + (<usize>ox << 2), ix >= 0 && ix < w ? load<f32>(row + (<usize>ix << 2)) : 0);
      }
    }
  }
}

/** gx[ci] = Σ over taps of cols rows (ci, ·, ·) folded back (written, not accumulated), channels [start, end). */
export function col2im(cols: usize, gx: usize, h: i32, w: i32, kh: i32, kw: i32, stride: i32, padT: i32, padL: i32, outH: i32, outW: i32, start: i32, end: i32, _scratch: usize): void {
  const L = outH * outW;
  for (let ci = start; ci < end; ci++) {
    const xo = gx + ((<usize>ci * <usize>h * <usize>w) << 2);
    memory.fill(xo, 0, (<usize>h * <usize>w) << 2);
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const src = cols + ((<usize>((ci * kh + ky) * kw + kx) * <usize>L) << 2);
        for (let oy = 0; oy < outH; oy++) {
          const iy = oy * stride - padT + ky;
          if (iy < 0 || iy >= h) continue;
          const row = xo + ((<usize>iy * <usize>w) << 2);
          const s = src + (<usize>(oy * outW) << 2);
          for (let ox = 0; ox < outW; ox++) {
            const ix = ox * stride - padL + kx;
            if (ix < 0 || ix >= w) continue;
            const q = row + (<usize>ix << 2);
            store<f32>(q, load<f32>(q) + load<f32>(s + (<usize>ox << 2)));
          }
        }
      }
    }
  }
}
