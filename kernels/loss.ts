// Loss and regularisation kernels: cross entropy (logsumexp per row, the z-loss-aware backward, and
// both fused for training) over a row range with simd.ts's exp4, and counter-hash inverted dropout
// over an element range, bit-identical to the ref kernel's mask and scaling (training and evaluation
// only).

import { hsum4, exp4, rowMax } from './simd';

export function cross_entropy(logits: usize, targets: usize, losses: usize, lse: usize, vocab: i32, ignore: i32, start: i32, end: i32, _scratch: usize): void {
  for (let r = start; r < end; r++) {
    const o = logits + ((<usize>r * <usize>vocab) << 2);
    const mx = rowMax(o, vocab);
    // Σ e^(x − max): SIMD e^x (exp4, ≤ 3e-7 relative) in f32 lanes per 4096-element block, blocks
    // summed in f64 (training and evaluation only; no parity fixture depends on these sums).
    const vm = f32x4.splat(mx);
    let s: f64 = 0;
    let j = 0;
    while (j < vocab) {
      const e = min(vocab, j + 4096);
      let a = f32x4.splat(0);
      for (; j + 4 <= e; j += 4) a = f32x4.add(a, exp4(f32x4.sub(v128.load(o + (<usize>j << 2)), vm)));
      let bs = <f64>hsum4(a);
      for (; j < e; j++) bs += <f64>Mathf.exp(load<f32>(o + (<usize>j << 2)) - mx);
      s += bs;
    }
    const l = <f32>(<f64>mx + Math.log(s));
    store<f32>(lse + (<usize>r << 2), l);
    const t = load<i32>(targets + (<usize>r << 2));
    store<f32>(losses + (<usize>r << 2), t == ignore ? 0 : l - load<f32>(o + (<usize>t << 2)));
  }
}

export function cross_entropy_backward(logits: usize, targets: usize, lse: usize, gl: usize, vocab: i32, ignore: i32, ceScale: f32, zScale: f32, start: i32, end: i32, _scratch: usize): void {
  for (let r = start; r < end; r++) {
    const o = (<usize>r * <usize>vocab) << 2;
    const t = load<i32>(targets + (<usize>r << 2));
    if (t == ignore) {
      memory.fill(gl + o, 0, <usize>vocab << 2);
      continue;
    }
    const l = load<f32>(lse + (<usize>r << 2));
    const c = ceScale + zScale * l;
    const vl = f32x4.splat(l), vc = f32x4.splat(c);
    let j = 0;
    for (; j + 4 <= vocab; j += 4) {
      const q = o + (<usize>j << 2);
      v128.store(gl + q, f32x4.mul(exp4(f32x4.sub(v128.load(logits + q), vl)), vc));
    }
    for (; j < vocab; j++) {
      const q = o + (<usize>j << 2);
      store<f32>(gl + q, Mathf.exp(load<f32>(logits + q) - l) * c);
    }
    const q = o + (<usize>t << 2);
    store<f32>(gl + q, load<f32>(gl + q) - ceScale);
  }
}

/** Max over one row with pmax (one instruction; a NaN logit still makes the row's sums NaN). */
@inline function rowMaxP(p: usize, dim: i32): f32 {
  let m = f32x4.splat(-Infinity);
  let j = 0;
  for (; j + 4 <= dim; j += 4) m = f32x4.pmax(m, v128.load(p + (<usize>j << 2)));
  const a = f32x4.pmax(m, v128.shuffle<f32>(m, m, 2, 3, 0, 1));
  let s = f32x4.extract_lane(f32x4.pmax(a, v128.shuffle<f32>(a, a, 1, 0, 3, 2)), 0);
  for (; j < dim; j++) s = max(s, load<f32>(p + (<usize>j << 2)));
  return s;
}

/**
 * cross_entropy and cross_entropy_backward fused: per row, e^(z − max) is written into the gradient
 * row while Σ is formed (f32 lanes per 4096-element block, blocks in f64, as cross_entropy), then
 * scaled by (ceScale + zScale·lse)/Σ in place, so each logit's exponential is evaluated once.
 */
export function cross_entropy_grad(logits: usize, targets: usize, losses: usize, lse: usize, gl: usize, vocab: i32, ignore: i32, ceScale: f32, zScale: f32, start: i32, end: i32, _scratch: usize): void {
  for (let r = start; r < end; r++) {
    const ro = (<usize>r * <usize>vocab) << 2;
    const o = logits + ro;
    const g = gl + ro;
    const t = load<i32>(targets + (<usize>r << 2));
    const mx = rowMaxP(o, vocab);
    const vm = f32x4.splat(mx);
    let s: f64 = 0;
    let j = 0;
    while (j < vocab) {
      const e = min(vocab, j + 4096);
      let a = f32x4.splat(0);
      for (; j + 4 <= e; j += 4) {
        const q = <usize>j << 2;
        const x = exp4(f32x4.sub(v128.load(o + q), vm));
        v128.store(g + q, x);
        a = f32x4.add(a, x);
      }
      let bs = <f64>hsum4(a);
      for (; j < e; j++) {
        const x = Mathf.exp(load<f32>(o + (<usize>j << 2)) - mx);
        store<f32>(g + (<usize>j << 2), x);
        bs += <f64>x;
      }
      s += bs;
    }
    const l = <f32>(<f64>mx + Math.log(s));
    store<f32>(lse + (<usize>r << 2), l);
    if (t == ignore) {
      store<f32>(losses + (<usize>r << 2), 0);
      memory.fill(g, 0, <usize>vocab << 2);
      continue;
    }
    store<f32>(losses + (<usize>r << 2), l - load<f32>(o + (<usize>t << 2)));
    const f = <f32>(<f64>(ceScale + zScale * l) / s);
    const vf = f32x4.splat(f);
    j = 0;
    for (; j + 4 <= vocab; j += 4) {
      const q = g + (<usize>j << 2);
      v128.store(q, f32x4.mul(v128.load(q), vf));
    }
    for (; j < vocab; j++) {
      const q = g + (<usize>j << 2);
      store<f32>(q, load<f32>(q) * f);
    }
    const q = g + (<usize>t << 2);
    store<f32>(q, load<f32>(q) - ceScale);
  }
}

@inline function fmix4(h: v128): v128 {
  h = v128.xor(h, i32x4.shr_u(h, 16));
  h = i32x4.mul(h, i32x4.splat(0x85ebca6b));
  h = v128.xor(h, i32x4.shr_u(h, 13));
  h = i32x4.mul(h, i32x4.splat(0xc2b2ae35));
  return v128.xor(h, i32x4.shr_u(h, 16));
}

/**
 * Inverted dropout, bit-identical to the ref kernel: element i is kept iff
 * fmix32((i·0x9E3779B1) XOR key) >>> 8 >= threshold (= ceil(p·2²⁴), so the test is exact in
 * integers) and then scaled in f64 as the ref does. key = fmix32(seed), computed by the caller.
 */
export function dropout(x: usize, out: usize, scale: f64, threshold: u32, key: u32, start: i32, end: i32, _scratch: usize): void {
  const kv = i32x4.splat(key);
  const tv = i32x4.splat(threshold);
  const golden = i32x4.splat(0x9e3779b1);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const idx = i32x4(i, i + 1, i + 2, i + 3);
    const h = fmix4(v128.xor(i32x4.mul(idx, golden), kv));
    const keep = i32x4.ge_u(i32x4.shr_u(h, 8), tv);
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    const lo = f64x2.mul(f64x2.promote_low_f32x4(v), f64x2.splat(scale));
    const hi = f64x2.mul(f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)), f64x2.splat(scale));
    const scaled = v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
    v128.store(out + o, v128.and(scaled, keep));
  }
  for (; i < end; i++) {
    let h: u32 = (<u32>i * 0x9e3779b1) ^ key;
    h ^= h >>> 16;
    h *= 0x85ebca6b;
    h ^= h >>> 13;
    h *= 0xc2b2ae35;
    h ^= h >>> 16;
    const o = <usize>i << 2;
    store<f32>(out + o, (h >>> 8) >= threshold ? <f32>(<f64>load<f32>(x + o) * scale) : 0);
  }
}
