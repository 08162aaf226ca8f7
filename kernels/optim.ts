// Optimiser kernels over an element range [start, end): AdamW in PyTorch's operation order (bias
// corrections and decay factor computed by the caller) and Σx² in f64 lanes for grad-norm clipping
// (each participant stores its partial sum at its scratch; the caller adds them).

/** PyTorch-order AdamW; decay = 1 - lr·wd, bc1/bc2 the bias corrections (computed by the caller). */
export function adamw(param: usize, grad: usize, m: usize, v: usize, lr: f32, b1: f32, b2: f32, eps: f32, decay: f32, bc1: f32, bc2: f32, start: i32, end: i32, _scratch: usize): void {
  const vb1 = f32x4.splat(b1), vb1c = f32x4.splat(1 - b1);
  const vb2 = f32x4.splat(b2), vb2c = f32x4.splat(1 - b2);
  const vlr = f32x4.splat(lr), veps = f32x4.splat(eps), vdec = f32x4.splat(decay);
  const vbc1 = f32x4.splat(bc1), vbc2 = f32x4.splat(bc2);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    const g = v128.load(grad + o);
    const mi = f32x4.add(f32x4.mul(vb1, v128.load(m + o)), f32x4.mul(vb1c, g));
    const vi = f32x4.add(f32x4.mul(vb2, v128.load(v + o)), f32x4.mul(vb2c, f32x4.mul(g, g)));
    v128.store(m + o, mi);
    v128.store(v + o, vi);
    const upd = f32x4.div(f32x4.mul(vlr, f32x4.div(mi, vbc1)), f32x4.add(f32x4.sqrt(f32x4.div(vi, vbc2)), veps));
    v128.store(param + o, f32x4.sub(f32x4.mul(v128.load(param + o), vdec), upd));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(grad + o);
    const mi = b1 * load<f32>(m + o) + (1 - b1) * g;
    const vi = b2 * load<f32>(v + o) + (1 - b2) * g * g;
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    store<f32>(param + o, load<f32>(param + o) * decay - (lr * (mi / bc1)) / (Mathf.sqrt(vi / bc2) + eps));
  }
}

/** Σ x² over [start, end) in f64, stored as f64 at scratch. */
export function sum_squares(x: usize, start: i32, end: i32, scratch: usize): void {
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    const lo = f64x2.promote_low_f32x4(v);
    const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
    s0 = f64x2.add(s0, f64x2.mul(lo, lo));
    s1 = f64x2.add(s1, f64x2.mul(hi, hi));
  }
  const t = f64x2.add(s0, s1);
  let s = f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1);
  for (; i < end; i++) {
    const v = <f64>load<f32>(x + (<usize>i << 2));
    s += v * v;
  }
  store<f64>(scratch, s);
}
