// Normalisation kernels over a row range [start, end): RMSNorm and LayerNorm (forward and backward:
// the row pass also sums the weight/bias gradients into per-participant f64 partials the caller adds
// up; when those do not fit in scratch, a column pass, norm_backward_gw, over a column range, so no two
// threads write one element), and GroupNorm forward over (sample, group) items.
// Row sums are f32 lanes (rowSumSq, LayerNorm), GroupNorm's are f32 blocks summed in f64, the
// weight gradients f64. GroupNorm backward is ref only.

import { hsum4 } from './simd';

/**
 * Σ x² of one row, accumulated in f32: two f32x4 accumulators over eight elements per step, added
 * lane-wise and then horizontally (hsum4), then the scalar tail in f32. rmsnorm adds eps in f64.
 */
@inline function rowSumSq(p: usize, dim: i32): f32 {
  let a = f32x4.splat(0), b = f32x4.splat(0);
  let j = 0;
  for (; j + 8 <= dim; j += 8) {
    const u = v128.load(p + (<usize>j << 2)), v = v128.load(p + (<usize>j << 2), 16);
    a = f32x4.add(a, f32x4.mul(u, u));
    b = f32x4.add(b, f32x4.mul(v, v));
  }
  let s = hsum4(f32x4.add(a, b));
  for (; j < dim; j++) { const v = load<f32>(p + (<usize>j << 2)); s += v * v; }
  return s;
}

export function rmsnorm(x: usize, w: usize, out: usize, rstd: usize, dim: i32, eps: f32, start: i32, end: i32, _scratch: usize): void {
  for (let r = start; r < end; r++) {
    const o = (<usize>r * <usize>dim) << 2;
    const rs = <f32>(1 / Math.sqrt(<f64>rowSumSq(x + o, dim) / <f64>dim + <f64>eps));
    const v = f32x4.splat(rs);
    let j = 0;
    for (; j + 4 <= dim; j += 4) {
      const q = <usize>j << 2;
      v128.store(out + o + q, f32x4.mul(f32x4.mul(v128.load(x + o + q), v), v128.load(w + q)));
    }
    for (; j < dim; j++) { const q = <usize>j << 2; store<f32>(out + o + q, load<f32>(x + o + q) * rs * load<f32>(w + q)); }
    if (rstd != 0) store<f32>(rstd + (<usize>r << 2), rs);
  }
}

/** part[0..4) (f64) += g·xh lane-wise for four lanes, in f64 (the products of the column pass). */
@inline function addProducts(part: usize, g: v128, xh: v128): void {
  const lo = f64x2.mul(f64x2.promote_low_f32x4(g), f64x2.promote_low_f32x4(xh));
  const hi = f64x2.mul(f64x2.promote_low_f32x4(v128.shuffle<f32>(g, g, 2, 3, 0, 1)), f64x2.promote_low_f32x4(v128.shuffle<f32>(xh, xh, 2, 3, 0, 1)));
  v128.store(part, f64x2.add(v128.load(part), lo));
  v128.store(part, f64x2.add(v128.load(part, 16), hi), 16);
}

/** part[0..4) (f64) += g lane-wise. */
@inline function addValues(part: usize, g: v128): void {
  v128.store(part, f64x2.add(v128.load(part), f64x2.promote_low_f32x4(g)));
  v128.store(part, f64x2.add(v128.load(part, 16), f64x2.promote_low_f32x4(v128.shuffle<f32>(g, g, 2, 3, 0, 1))), 16);
}

/**
 * gx rows of RMSNorm backward. partials != 0: this participant's f64 partial Σ gy·(x·rstd) per column
 * [dim] at its scratch (zeroed here; the caller adds the participants' partials into gw in participant
 * order), so the weight gradient needs no second pass over x and gy; the split must be static (one
 * range per participant). partials == 0: gw is the column pass norm_backward_gw.
 */
export function rmsnorm_backward(x: usize, w: usize, rstd: usize, gy: usize, gx: usize, dim: i32, partials: i32, start: i32, end: i32, scratch: usize): void {
  const gwPart: usize = partials != 0 ? scratch : 0;
  if (gwPart != 0) memory.fill(gwPart, 0, <usize>dim << 3);
  for (let r = start; r < end; r++) {
    const o = (<usize>r * <usize>dim) << 2;
    const rs = load<f32>(rstd + (<usize>r << 2));
    const vr = f32x4.splat(rs);
    let acc = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= dim; j += 4) {
      const q = <usize>j << 2;
      const g = v128.load(gy + o + q), xv = v128.load(x + o + q);
      acc = f32x4.add(acc, f32x4.mul(f32x4.mul(g, v128.load(w + q)), xv));
      if (gwPart != 0) addProducts(gwPart + (<usize>j << 3), g, f32x4.mul(xv, vr));
    }
    let dot = hsum4(acc);
    for (; j < dim; j++) {
      const q = <usize>j << 2;
      const g = load<f32>(gy + o + q), xv = load<f32>(x + o + q);
      dot += g * load<f32>(w + q) * xv;
      if (gwPart != 0) store<f64>(gwPart + (<usize>j << 3), load<f64>(gwPart + (<usize>j << 3)) + <f64>g * <f64>(xv * rs));
    }
    const c = (rs * rs * rs * dot) / <f32>dim;
    const vc = f32x4.splat(c);
    j = 0;
    for (; j + 4 <= dim; j += 4) {
      const q = <usize>j << 2;
      v128.store(gx + o + q, f32x4.sub(f32x4.mul(f32x4.mul(vr, v128.load(w + q)), v128.load(gy + o + q)), f32x4.mul(vc, v128.load(x + o + q))));
    }
    for (; j < dim; j++) { const q = <usize>j << 2; store<f32>(gx + o + q, rs * load<f32>(w + q) * load<f32>(gy + o + q) - c * load<f32>(x + o + q)); }
  }
}

/**
 * Weight/bias gradients of RMSNorm (mean = 0) and LayerNorm for columns [start, end) of dim:
 * gw[a, c] += Σ_{r ≡ a mod A} gy[r, c]·(x[r, c] − mean[r])·rstd[r], gb[a, c] += Σ gy[r, c], in f64.
 * mean / gw / gb may be 0 (absent).
 */
export function norm_backward_gw(x: usize, mean: usize, rstd: usize, gy: usize, gw: usize, gb: usize, rows: i32, dim: i32, aRows: i32, start: i32, end: i32, _scratch: usize): void {
  for (let a = 0; a < aRows; a++) {
    let c = start;
    // Four columns at a time (one contiguous f32x4 per row), each column's f64 sum in the same row
    // order as the scalar loop below, so the results are the same bit for bit.
    for (; c + 4 <= end; c += 4) {
      let w0 = f64x2.splat(0), w1 = f64x2.splat(0), b0 = f64x2.splat(0), b1 = f64x2.splat(0);
      for (let r = a; r < rows; r += aRows) {
        const q = (<usize>r * <usize>dim + <usize>c) << 2;
        const g = v128.load(gy + q);
        const mu = f32x4.splat(mean != 0 ? load<f32>(mean + (<usize>r << 2)) : 0);
        const xh = f32x4.mul(f32x4.sub(v128.load(x + q), mu), f32x4.splat(load<f32>(rstd + (<usize>r << 2))));
        const g0 = f64x2.promote_low_f32x4(g), g1 = f64x2.promote_low_f32x4(v128.shuffle<f32>(g, g, 2, 3, 0, 1));
        w0 = f64x2.add(w0, f64x2.mul(g0, f64x2.promote_low_f32x4(xh)));
        w1 = f64x2.add(w1, f64x2.mul(g1, f64x2.promote_low_f32x4(v128.shuffle<f32>(xh, xh, 2, 3, 0, 1))));
        b0 = f64x2.add(b0, g0);
        b1 = f64x2.add(b1, g1);
      }
      const t = (<usize>a * <usize>dim + <usize>c) << 2;
      if (gw != 0) {
        const old = v128.load(gw + t);
        const lo = f64x2.add(f64x2.promote_low_f32x4(old), w0);
        const hi = f64x2.add(f64x2.promote_low_f32x4(v128.shuffle<f32>(old, old, 2, 3, 0, 1)), w1);
        v128.store(gw + t, v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5));
      }
      if (gb != 0) {
        const old = v128.load(gb + t);
        const lo = f64x2.add(f64x2.promote_low_f32x4(old), b0);
        const hi = f64x2.add(f64x2.promote_low_f32x4(v128.shuffle<f32>(old, old, 2, 3, 0, 1)), b1);
        v128.store(gb + t, v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5));
      }
    }
    for (; c < end; c++) {
      let sw: f64 = 0, sb: f64 = 0;
      for (let r = a; r < rows; r += aRows) {
        const q = (<usize>r * <usize>dim + <usize>c) << 2;
        const g = <f64>load<f32>(gy + q);
        const mu: f32 = mean != 0 ? load<f32>(mean + (<usize>r << 2)) : 0;
        sw += g * <f64>((load<f32>(x + q) - mu) * load<f32>(rstd + (<usize>r << 2)));
        sb += g;
      }
      const t = (<usize>a * <usize>dim + <usize>c) << 2;
      if (gw != 0) store<f32>(gw + t, <f32>(<f64>load<f32>(gw + t) + sw));
      if (gb != 0) store<f32>(gb + t, <f32>(<f64>load<f32>(gb + t) + sb));
    }
  }
}

export function layernorm(x: usize, w: usize, b: usize, out: usize, mean: usize, rstd: usize, dim: i32, aRows: i32, eps: f32, start: i32, end: i32, _scratch: usize): void {
  for (let r = start; r < end; r++) {
    const o = (<usize>r * <usize>dim) << 2;
    const ao = (<usize>(r % aRows) * <usize>dim) << 2;
    let acc = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= dim; j += 4) acc = f32x4.add(acc, v128.load(x + o + (<usize>j << 2)));
    let s = hsum4(acc);
    for (; j < dim; j++) s += load<f32>(x + o + (<usize>j << 2));
    const mu = s / <f32>dim;
    const vm = f32x4.splat(mu);
    acc = f32x4.splat(0);
    j = 0;
    for (; j + 4 <= dim; j += 4) { const d = f32x4.sub(v128.load(x + o + (<usize>j << 2)), vm); acc = f32x4.add(acc, f32x4.mul(d, d)); }
    let v = hsum4(acc);
    for (; j < dim; j++) { const d = load<f32>(x + o + (<usize>j << 2)) - mu; v += d * d; }
    const rs = <f32>(1 / Math.sqrt(<f64>v / <f64>dim + <f64>eps));
    const vr = f32x4.splat(rs);
    j = 0;
    for (; j + 4 <= dim; j += 4) {
      const q = <usize>j << 2;
      let y = f32x4.mul(f32x4.sub(v128.load(x + o + q), vm), vr);
      if (w != 0) y = f32x4.mul(y, v128.load(w + ao + q));
      if (b != 0) y = f32x4.add(y, v128.load(b + ao + q));
      v128.store(out + o + q, y);
    }
    for (; j < dim; j++) {
      const q = <usize>j << 2;
      let y = (load<f32>(x + o + q) - mu) * rs;
      if (w != 0) y *= load<f32>(w + ao + q);
      if (b != 0) y += load<f32>(b + ao + q);
      store<f32>(out + o + q, y);
    }
    if (mean != 0) store<f32>(mean + (<usize>r << 2), mu);
    if (rstd != 0) store<f32>(rstd + (<usize>r << 2), rs);
  }
}

/** Σ x[0..n) (d = 0) or Σ (x − d)² (sq), f32 lanes per 4096-element block, blocks summed in f64. */
@inline function blockSum(x: usize, n: i32, d: f32, sq: bool): f64 {
  const dv = f32x4.splat(d);
  let total: f64 = 0;
  let j = 0;
  while (j < n) {
    const e = min(n, j + 4096);
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
    for (; j + 8 <= e; j += 8) {
      const p = x + (<usize>j << 2);
      let u = v128.load(p), v = v128.load(p, 16);
      if (sq) {
        u = f32x4.sub(u, dv);
        v = f32x4.sub(v, dv);
        u = f32x4.mul(u, u);
        v = f32x4.mul(v, v);
      }
      a0 = f32x4.add(a0, u);
      a1 = f32x4.add(a1, v);
    }
    let bs = <f64>hsum4(f32x4.add(a0, a1));
    for (; j < e; j++) {
      const t = load<f32>(x + (<usize>j << 2));
      bs += sq ? <f64>(t - d) * <f64>(t - d) : <f64>t;
    }
    total += bs;
  }
  return total;
}

/**
 * GroupNorm over items [start, end) of (sample, group): x, out [n, c, hw]; w, b [c]; mean, rstd
 * [n·groups] or 0. A group's channels are contiguous, so both statistics are plain sums over it.
 */
export function groupnorm(x: usize, w: usize, b: usize, out: usize, mean: usize, rstd: usize, c: i32, hw: i32, groups: i32, eps: f32, start: i32, end: i32, _scratch: usize): void {
  const cpg = c / groups;
  const size = cpg * hw;
  for (let it = start; it < end; it++) {
    const s = it / groups;
    const g = it % groups;
    const base = (<usize>(s * c + g * cpg) * <usize>hw) << 2;
    const mu = <f32>(blockSum(x + base, size, 0, false) / <f64>size);
    const rs = <f32>(1 / Math.sqrt(blockSum(x + base, size, mu, true) / <f64>size + <f64>eps));
    for (let cc = 0; cc < cpg; cc++) {
      const ch = g * cpg + cc;
      const scale = rs * load<f32>(w + (<usize>ch << 2));
      const shift = load<f32>(b + (<usize>ch << 2)) - mu * scale;
      const sv = f32x4.splat(scale), hv = f32x4.splat(shift);
      const o = base + ((<usize>cc * <usize>hw) << 2);
      let j = 0;
      for (; j + 4 <= hw; j += 4) {
        const q = o + (<usize>j << 2);
        v128.store(out + q, f32x4.add(f32x4.mul(v128.load(x + q), sv), hv));
      }
      for (; j < hw; j++) {
        const q = o + (<usize>j << 2);
        store<f32>(out + q, load<f32>(x + q) * scale + shift);
      }
    }
    if (mean != 0) store<f32>(mean + (<usize>it << 2), mu);
    if (rstd != 0) store<f32>(rstd + (<usize>it << 2), rs);
  }
}

/**
 * gx rows of LayerNorm backward (w may be 0 = ones). withGw / withGb != 0: this participant's f64
 * partials [aRows, dim] of Σ gy·x̂ (at its scratch) and Σ gy (after them) (zeroed here; the caller
 * adds them into gw / gb), as in rmsnorm_backward; both 0: the weight gradients are the column pass
 * norm_backward_gw.
 */
export function layernorm_backward(x: usize, w: usize, mean: usize, rstd: usize, gy: usize, gx: usize, dim: i32, aRows: i32, withGw: i32, withGb: i32, start: i32, end: i32, scratch: usize): void {
  const partB = <usize>(aRows * dim) << 3;
  const gwPart: usize = withGw != 0 ? scratch : 0;
  const gbPart: usize = withGb != 0 ? scratch + partB : 0;
  if (gwPart != 0) memory.fill(gwPart, 0, partB);
  if (gbPart != 0) memory.fill(gbPart, 0, partB);
  for (let r = start; r < end; r++) {
    const o = (<usize>r * <usize>dim) << 2;
    const ao = (<usize>(r % aRows) * <usize>dim) << 2;
    const po = ao << 1; // f64 partials of this affine row
    const mu = load<f32>(mean + (<usize>r << 2));
    const rs = load<f32>(rstd + (<usize>r << 2));
    const vmu = f32x4.splat(mu), vrs = f32x4.splat(rs);
    // Σ ĝ and Σ ĝ·x̂ in four lanes (training only: the order of these sums is free).
    let ag = f32x4.splat(0), agx = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= dim; j += 4) {
      const q = <usize>j << 2;
      const xh = f32x4.mul(f32x4.sub(v128.load(x + o + q), vmu), vrs);
      const g = v128.load(gy + o + q);
      let gh = g;
      if (w != 0) gh = f32x4.mul(gh, v128.load(w + ao + q));
      ag = f32x4.add(ag, gh);
      agx = f32x4.add(agx, f32x4.mul(gh, xh));
      if (gwPart != 0) addProducts(gwPart + po + (q << 1), g, xh);
      if (gbPart != 0) addValues(gbPart + po + (q << 1), g);
    }
    let sg = hsum4(ag), sgx = hsum4(agx);
    for (; j < dim; j++) {
      const q = <usize>j << 2;
      const xh = (load<f32>(x + o + q) - mu) * rs;
      const g = load<f32>(gy + o + q);
      const gh = w != 0 ? g * load<f32>(w + ao + q) : g;
      sg += gh;
      sgx += gh * xh;
      if (gwPart != 0) store<f64>(gwPart + po + (q << 1), load<f64>(gwPart + po + (q << 1)) + <f64>g * <f64>xh);
      if (gbPart != 0) store<f64>(gbPart + po + (q << 1), load<f64>(gbPart + po + (q << 1)) + <f64>g);
    }
    const mg = sg / <f32>dim, mgx = sgx / <f32>dim;
    const vmg = f32x4.splat(mg), vmgx = f32x4.splat(mgx);
    j = 0;
    for (; j + 4 <= dim; j += 4) {
      const q = <usize>j << 2;
      const xh = f32x4.mul(f32x4.sub(v128.load(x + o + q), vmu), vrs);
      let gh = v128.load(gy + o + q);
      if (w != 0) gh = f32x4.mul(gh, v128.load(w + ao + q));
      v128.store(gx + o + q, f32x4.mul(vrs, f32x4.sub(f32x4.sub(gh, vmg), f32x4.mul(xh, vmgx))));
    }
    for (; j < dim; j++) {
      const q = <usize>j << 2;
      const xh = (load<f32>(x + o + q) - mu) * rs;
      const g = load<f32>(gy + o + q);
      const gh = w != 0 ? g * load<f32>(w + ao + q) : g;
      store<f32>(gx + o + q, rs * (gh - mg - xh * mgx));
    }
  }
}
