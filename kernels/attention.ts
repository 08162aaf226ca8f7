// Attention-family kernels: fused scaled-dot-product attention over [B, T, H, D] with GQA, causal /
// left-padding / segment masks, forward (one query row per work item, optional probs; f32 or bf16
// keys/values: the inference path, whose summation order decode parity depends on; training uses
// attention-train.ts, which saves lse instead of probs); row softmax and its backward; rotate-half
// RoPE. f32 SIMD dot products over D; no KV tiling.

import { hsum4, bf16ToF32, rowMax } from './simd';

// Keys and values are f32 or bf16 bits (T = f32 | u16); the generic helpers are specialised at
// compile time, and bf16 is widened exactly (<< 16), so both forms add the same f32 values.

/** Four elements of T at p as f32x4. */
@inline function lanes4<T>(p: usize): v128 {
  if (sizeof<T>() == 2) return i32x4.shl(v128.load16x4_u(p), 16);
  return v128.load(p);
}

/** One element of T at p as f32. */
@inline function lane1<T>(p: usize): f32 {
  if (sizeof<T>() == 2) return bf16ToF32(<u32>load<u16>(p));
  return load<f32>(p);
}

/** Σ a[i]·b[i] over dim values: a f32, b of T. */
@inline function dot<T>(a: usize, b: usize, dim: i32): f32 {
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= dim; i += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(a + (<usize>i << 2)), lanes4<T>(b + <usize>i * sizeof<T>())));
  let s = hsum4(acc);
  for (; i < dim; i++) s += load<f32>(a + (<usize>i << 2)) * lane1<T>(b + <usize>i * sizeof<T>());
  return s;
}

/**
 * dot(a, b_j, dim) for four rows b_j = b0 + j·stride at once, stored to out[0..4): each sum is formed
 * exactly as dot<f32>() forms it (same order, so bit-identical), but the four chains interleave instead
 * of waiting on one add chain.
 */
@inline function dot4rows(a: usize, b0: usize, stride: usize, dim: i32, out: usize): void {
  const b1 = b0 + stride, b2 = b1 + stride, b3 = b2 + stride;
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= dim; i += 4) {
    const o = <usize>i << 2;
    const x = v128.load(a + o);
    c0 = f32x4.add(c0, f32x4.mul(x, v128.load(b0 + o)));
    c1 = f32x4.add(c1, f32x4.mul(x, v128.load(b1 + o)));
    c2 = f32x4.add(c2, f32x4.mul(x, v128.load(b2 + o)));
    c3 = f32x4.add(c3, f32x4.mul(x, v128.load(b3 + o)));
  }
  let s0 = hsum4(c0), s1 = hsum4(c1), s2 = hsum4(c2), s3 = hsum4(c3);
  for (; i < dim; i++) {
    const o = <usize>i << 2;
    const x = load<f32>(a + o);
    s0 += x * load<f32>(b0 + o);
    s1 += x * load<f32>(b1 + o);
    s2 += x * load<f32>(b2 + o);
    s3 += x * load<f32>(b3 + o);
  }
  store<f32>(out, s0);
  store<f32>(out, s1, 4);
  store<f32>(out, s2, 8);
  store<f32>(out, s3, 12);
}

/** y[0..dim) += alpha · x[0..dim), x of T. */
@inline function axpy<T>(y: usize, x: usize, alpha: f32, dim: i32): void {
  const av = f32x4.splat(alpha);
  let i = 0;
  for (; i + 4 <= dim; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.add(v128.load(y + o), f32x4.mul(av, lanes4<T>(x + <usize>i * sizeof<T>()))));
  }
  for (; i < dim; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(y + o) + alpha * lane1<T>(x + <usize>i * sizeof<T>()));
  }
}

@inline function visible(segIds: usize, b: i32, tk: i32, s: i32, seg: i32): bool {
  return segIds == 0 || load<i32>(segIds + ((<usize>b * <usize>tk + <usize>s) << 2)) == seg;
}

/**
 * Items [start, end) of (b, t, h) in out's row order. keyStart / segIds / probs may be 0 (absent).
 * kvBf16 != 0: k and v hold bf16 bits (kvBatchStride still counts elements).
 * Scratch: tk scores then dim accumulators.
 */
export function attention(q: usize, k: usize, v: usize, out: usize, probs: usize, keyStart: usize, segIds: usize, tq: i32, tk: i32, hq: i32, hkv: i32, dim: i32, scale: f32, causal: i32, qOffset: i32, kvBatchStride: i32, kvBf16: i32, start: i32, end: i32, scratch: usize): void {
  const group = hq / hkv;
  const es: usize = kvBf16 != 0 ? 2 : 4;
  const kvRow = <usize>(hkv * dim) * es;
  const sc = scratch;
  const acc = scratch + (<usize>tk << 2);
  const dimB = <usize>dim << 2;
  for (let it = start; it < end; it++) {
    const h = it % hq;
    const bt = it / hq;
    const t = bt % tq;
    const b = bt / tq;
    const qpos = qOffset + t;
    const lo = keyStart != 0 ? max(0, load<i32>(keyStart + (<usize>b << 2))) : 0;
    const hi = causal != 0 ? min(tk, qpos + 1) : tk;
    const seg = segIds != 0 ? load<i32>(segIds + ((<usize>b * <usize>tk + <usize>qpos) << 2)) : 0;
    const qo = q + <usize>it * dimB;
    const oo = out + <usize>it * dimB;
    const kvB = (<usize>b * <usize>kvBatchStride + <usize>((h / group) * dim)) * es;
    const po = probs + ((<usize>((b * hq + h) * tq + t) * <usize>tk) << 2);
    let mx: f32 = -Infinity;
    let count = 0;
    let s = lo;
    if (segIds == 0 && kvBf16 == 0) {
      // Every key in [lo, hi) is visible: four keys' scores at a time (same sums as dot()).
      for (; s + 4 <= hi; s += 4) {
        const so = sc + (<usize>s << 2);
        dot4rows(qo, k + kvB + <usize>s * kvRow, kvRow, dim, so);
        const d0 = load<f32>(so) * scale, d1 = load<f32>(so, 4) * scale, d2 = load<f32>(so, 8) * scale, d3 = load<f32>(so, 12) * scale;
        store<f32>(so, d0);
        store<f32>(so, d1, 4);
        store<f32>(so, d2, 8);
        store<f32>(so, d3, 12);
        mx = max(mx, max(max(d0, d1), max(d2, d3)));
      }
      count = s - lo;
    }
    for (; s < hi; s++) {
      if (!visible(segIds, b, tk, s, seg)) continue;
      const kr = k + kvB + <usize>s * kvRow;
      const d = (kvBf16 != 0 ? dot<u16>(qo, kr, dim) : dot<f32>(qo, kr, dim)) * scale;
      store<f32>(sc + (<usize>s << 2), d);
      mx = max(mx, d);
      count++;
    }
    if (probs != 0) memory.fill(po, 0, <usize>tk << 2);
    memory.fill(oo, 0, dimB);
    if (count == 0) continue;
    let sum: f64 = 0;
    for (let s = lo; s < hi; s++) {
      if (!visible(segIds, b, tk, s, seg)) continue;
      const e = Mathf.exp(load<f32>(sc + (<usize>s << 2)) - mx);
      store<f32>(sc + (<usize>s << 2), e);
      sum += e;
    }
    const inv = <f32>(1 / sum);
    if (segIds == 0 && (dim & 31) == 0) {
      // Probabilities first, then the output 32 values at a time with the sums in registers (the
      // same additions, in the same key order, as the axpy path below: bit-identical).
      for (let s = lo; s < hi; s++) {
        const pr = load<f32>(sc + (<usize>s << 2)) * inv;
        store<f32>(sc + (<usize>s << 2), pr);
        if (probs != 0) store<f32>(po + (<usize>s << 2), pr);
      }
      for (let c = 0; c < dim; c += 32) {
        if (kvBf16 != 0) weighted32<u16>(sc, lo, hi, v + kvB + (<usize>c << 1), kvRow, oo + (<usize>c << 2));
        else weighted32<f32>(sc, lo, hi, v + kvB + (<usize>c << 2), kvRow, oo + (<usize>c << 2));
      }
      continue;
    }
    memory.fill(acc, 0, dimB);
    for (let s = lo; s < hi; s++) {
      if (!visible(segIds, b, tk, s, seg)) continue;
      const pr = load<f32>(sc + (<usize>s << 2)) * inv;
      if (probs != 0) store<f32>(po + (<usize>s << 2), pr);
      const vr = v + kvB + <usize>s * kvRow;
      if (kvBf16 != 0) axpy<u16>(acc, vr, pr, dim);
      else axpy<f32>(acc, vr, pr, dim);
    }
    memory.copy(oo, acc, dimB);
  }
}

/** out[0..32) = Σ_{s in [lo, hi)} p[s] · v[s][0..32) (v of T) in key order, sums kept in eight registers. */
function weighted32<T>(p: usize, lo: i32, hi: i32, v0: usize, row: usize, out: usize): void {
  const e: usize = 4 * sizeof<T>(); // bytes per four values
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
  let vr = v0 + <usize>lo * row;
  for (let s = lo; s < hi; s++) {
    const w = f32x4.splat(load<f32>(p + (<usize>s << 2)));
    a0 = f32x4.add(a0, f32x4.mul(w, lanes4<T>(vr)));
    a1 = f32x4.add(a1, f32x4.mul(w, lanes4<T>(vr + e)));
    a2 = f32x4.add(a2, f32x4.mul(w, lanes4<T>(vr + 2 * e)));
    a3 = f32x4.add(a3, f32x4.mul(w, lanes4<T>(vr + 3 * e)));
    a4 = f32x4.add(a4, f32x4.mul(w, lanes4<T>(vr + 4 * e)));
    a5 = f32x4.add(a5, f32x4.mul(w, lanes4<T>(vr + 5 * e)));
    a6 = f32x4.add(a6, f32x4.mul(w, lanes4<T>(vr + 6 * e)));
    a7 = f32x4.add(a7, f32x4.mul(w, lanes4<T>(vr + 7 * e)));
    vr += row;
  }
  v128.store(out, a0); v128.store(out, a1, 16); v128.store(out, a2, 32); v128.store(out, a3, 48);
  v128.store(out, a4, 64); v128.store(out, a5, 80); v128.store(out, a6, 96); v128.store(out, a7, 112);
}

// ---- softmax over rows ----------------------------------------------------------------------

@inline function scaleRow(p: usize, out: usize, dim: i32, k: f32): void {
  const v = f32x4.splat(k);
  let j = 0;
  for (; j + 4 <= dim; j += 4) v128.store(out + (<usize>j << 2), f32x4.mul(v128.load(p + (<usize>j << 2)), v));
  for (; j < dim; j++) store<f32>(out + (<usize>j << 2), load<f32>(p + (<usize>j << 2)) * k);
}

export function softmax(x: usize, out: usize, dim: i32, start: i32, end: i32, _scratch: usize): void {
  for (let r = start; r < end; r++) {
    const xo = x + ((<usize>r * <usize>dim) << 2);
    const oo = out + ((<usize>r * <usize>dim) << 2);
    const mx = rowMax(xo, dim);
    if (mx == -Infinity) {
      memory.fill(oo, 0, <usize>dim << 2);
      continue;
    }
    let s: f64 = 0;
    for (let j = 0; j < dim; j++) {
      const e = Mathf.exp(load<f32>(xo + (<usize>j << 2)) - mx);
      store<f32>(oo + (<usize>j << 2), e);
      s += e;
    }
    scaleRow(oo, oo, dim, <f32>(1 / s));
  }
}

export function softmax_backward(y: usize, gy: usize, gx: usize, dim: i32, start: i32, end: i32, _scratch: usize): void {
  for (let r = start; r < end; r++) {
    const o = (<usize>r * <usize>dim) << 2;
    let acc = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= dim; j += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(y + o + (<usize>j << 2)), v128.load(gy + o + (<usize>j << 2))));
    let d = hsum4(acc);
    for (; j < dim; j++) d += load<f32>(y + o + (<usize>j << 2)) * load<f32>(gy + o + (<usize>j << 2));
    const dv = f32x4.splat(d);
    j = 0;
    for (; j + 4 <= dim; j += 4) {
      const q = o + (<usize>j << 2);
      v128.store(gx + q, f32x4.mul(v128.load(y + q), f32x4.sub(v128.load(gy + q), dv)));
    }
    for (; j < dim; j++) {
      const q = o + (<usize>j << 2);
      store<f32>(gx + q, load<f32>(y + q) * (load<f32>(gy + q) - d));
    }
  }
}

// ---- rotary position embedding ---------------------------------------------------------------

/**
 * Rotate-half RoPE over rows [start, end) of (batch·t); invFreq[half] given (f32); sign = -1 for the
 * inverse. Angles are f32 (pos·invFreq rounded), cos/sin in f64 then rounded, as the ref does.
 */
export function rope(x: usize, out: usize, positions: usize, heads: i32, dim: i32, invFreq: usize, sign: f32, start: i32, end: i32, scratch: usize): void {
  const half = dim >> 1;
  const cs = scratch, sn = scratch + (<usize>half << 2);
  for (let r = start; r < end; r++) {
    const pos = <f32>load<i32>(positions + (<usize>r << 2));
    for (let i = 0; i < half; i++) {
      const ang = <f64>(pos * load<f32>(invFreq + (<usize>i << 2)));
      store<f32>(cs + (<usize>i << 2), <f32>Math.cos(ang));
      store<f32>(sn + (<usize>i << 2), sign * <f32>Math.sin(ang));
    }
    for (let h = 0; h < heads; h++) {
      const o = (<usize>(r * heads + h) * <usize>dim) << 2;
      const hb = <usize>half << 2;
      let i = 0;
      for (; i + 4 <= half; i += 4) {
        const q = <usize>i << 2;
        const x1 = v128.load(x + o + q), x2 = v128.load(x + o + hb + q);
        const c = v128.load(cs + q), s = v128.load(sn + q);
        v128.store(out + o + q, f32x4.sub(f32x4.mul(x1, c), f32x4.mul(x2, s)));
        v128.store(out + o + hb + q, f32x4.add(f32x4.mul(x2, c), f32x4.mul(x1, s)));
      }
      for (; i < half; i++) {
        const q = <usize>i << 2;
        const x1 = load<f32>(x + o + q), x2 = load<f32>(x + o + hb + q);
        const c = load<f32>(cs + q), s = load<f32>(sn + q);
        store<f32>(out + o + q, x1 * c - x2 * s);
        store<f32>(out + o + hb + q, x2 * c + x1 * s);
      }
    }
  }
}
