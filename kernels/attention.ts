// Attention-family kernels: fused scaled-dot-product attention over [B, T, H, D] with GQA, causal /
// left-padding / segment masks, forward (one query row per work item, optional probs; f32 or bf16
// keys/values: the inference path, whose summation order decode parity depends on); the training
// forward (saves the row logsumexp, not probs) and backward (recomputes probabilities; one (batch,
// kv head) per item, so gk/gv rows have one writer); row softmax and its backward; rotate-half RoPE.
// No KV tiling (a row of tk scores lives in scratch).

import { hsum4, bf16ToF32, rowMax, fma4, expClamped4, expK, tr0, tr1, tr2, tr3 } from './simd';

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
 * dot<T>(a, b_j, dim) for four rows b_j = b0 + j·stride at once, stored to out[0..4): each sum is
 * formed exactly as dot<T>() forms it (same order, so bit-identical), but the four chains interleave
 * instead of waiting on one add chain.
 */
@inline function dot4rows<T>(a: usize, b0: usize, stride: usize, dim: i32, out: usize): void {
  const b1 = b0 + stride, b2 = b1 + stride, b3 = b2 + stride;
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= dim; i += 4) {
    const o = <usize>i * sizeof<T>();
    const x = v128.load(a + (<usize>i << 2));
    c0 = f32x4.add(c0, f32x4.mul(x, lanes4<T>(b0 + o)));
    c1 = f32x4.add(c1, f32x4.mul(x, lanes4<T>(b1 + o)));
    c2 = f32x4.add(c2, f32x4.mul(x, lanes4<T>(b2 + o)));
    c3 = f32x4.add(c3, f32x4.mul(x, lanes4<T>(b3 + o)));
  }
  let s0 = hsum4(c0), s1 = hsum4(c1), s2 = hsum4(c2), s3 = hsum4(c3);
  for (; i < dim; i++) {
    const o = <usize>i * sizeof<T>();
    const x = load<f32>(a + (<usize>i << 2));
    s0 += x * lane1<T>(b0 + o);
    s1 += x * lane1<T>(b1 + o);
    s2 += x * lane1<T>(b2 + o);
    s3 += x * lane1<T>(b3 + o);
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
    if (segIds == 0) {
      // Every key in [lo, hi) is visible: four keys' scores at a time (same sums as dot()).
      for (; s + 4 <= hi; s += 4) {
        const so = sc + (<usize>s << 2);
        if (kvBf16 != 0) dot4rows<u16>(qo, k + kvB + <usize>s * kvRow, kvRow, dim, so);
        else dot4rows<f32>(qo, k + kvB + <usize>s * kvRow, kvRow, dim, so);
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
    let s4 = lo;
    if (segIds == 0) {
      // e^(score − max) four keys at a time (expNeg4, ≤ 3e-7 relative), summed in key order in f64.
      const mv = f32x4.splat(mx);
      for (; s4 + 4 <= hi; s4 += 4) {
        const p = sc + (<usize>s4 << 2);
        const e4 = expNeg4(f32x4.sub(v128.load(p), mv));
        v128.store(p, e4);
        sum += <f64>f32x4.extract_lane(e4, 0);
        sum += <f64>f32x4.extract_lane(e4, 1);
        sum += <f64>f32x4.extract_lane(e4, 2);
        sum += <f64>f32x4.extract_lane(e4, 3);
      }
    }
    for (let s = s4; s < hi; s++) {
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

// ---- training attention: forward saving the row logsumexp, backward recomputing P ------------
// The forward saves only lse = max + log Σ e per row (never the [B, H, T, S] probabilities); the
// backward recomputes P = exp(score − lse), and forms dQ, dK, dV with the sums in registers. Four
// query rows at a time against one head's keys packed transposed (Kt[d][s]: 8 keys' scores are two
// vectors, no horizontal sums). Needs dim % 8 == 0 (the wrapper falls back to ref otherwise).

/**
 * e^v per lane for v ≤ 0 (a score minus its row max or lse), v clamped below at −87.34 (callers mask
 * those lanes) with pmax (one instruction instead of max, whose NaN rules cost several), then
 * simd.ts's expClamped4 (n by the 1.5·2^23 trick, degree-6 Taylor polynomial as exp4).
 */
@inline function expNeg4(v: v128): v128 {
  return expClamped4(f32x4.pmax(v, expK(6)));
}

/** Max over [p, p + 4·n4) (n4 vectors) with pmax: -Infinity lanes are ignored unless all are. */
@inline function vecMax(p: usize, n4: i32): f32 {
  let m = f32x4.splat(-Infinity);
  for (let j = 0; j < n4; j++) m = f32x4.pmax(m, v128.load(p + (<usize>j << 4)));
  const a = f32x4.pmax(m, v128.shuffle<f32>(m, m, 2, 3, 0, 1));
  return f32x4.extract_lane(f32x4.pmax(a, v128.shuffle<f32>(a, a, 1, 0, 3, 2)), 0);
}

/**
 * This participant's work area: its scratch, or (ws != 0: the packs exceed per-thread scratch) its
 * slice of a heap region the wrapper reserved, found from its scratch address.
 */
@inline function workspace(ws: usize, wsStride: usize, scratch0: usize, scratchStride: usize, scratch: usize): usize {
  return ws == 0 ? scratch : ws + ((scratch - scratch0) / scratchStride) * wsStride;
}

/** dst[d·sp + s] = src row s, column d (rows rowB bytes apart) for s < tk; zero for s in [tk, sp). */
function packT(src: usize, rowB: usize, tk: i32, dim: i32, sp: i32, dst: usize): void {
  const spB = <usize>sp << 2;
  // 4x4 blocks by SIMD transposes (dim % 8 == 0 here), the rows past the last multiple of 4 one by one.
  const t4 = tk & ~3;
  for (let s = 0; s < t4; s += 4) {
    const r0 = src + <usize>s * rowB;
    const o = dst + (<usize>s << 2);
    for (let d = 0; d < dim; d += 4) {
      const q = <usize>d << 2;
      const v0 = v128.load(r0 + q), v1 = v128.load(r0 + rowB + q), v2 = v128.load(r0 + 2 * rowB + q), v3 = v128.load(r0 + 3 * rowB + q);
      const od = o + <usize>d * spB;
      v128.store(od, tr0(v0, v1, v2, v3));
      v128.store(od + spB, tr1(v0, v1, v2, v3));
      v128.store(od + 2 * spB, tr2(v0, v1, v2, v3));
      v128.store(od + 3 * spB, tr3(v0, v1, v2, v3));
    }
  }
  for (let s = t4; s < tk; s++) {
    const r = src + <usize>s * rowB;
    const o = dst + (<usize>s << 2);
    for (let d = 0; d < dim; d++) store<f32>(o + <usize>d * spB, load<f32>(r + (<usize>d << 2)));
  }
  for (let d = 0; d < dim; d++) memory.fill(dst + <usize>d * spB + (<usize>tk << 2), 0, <usize>(sp - tk) << 2);
}

/** out_r[0..8) = scale · Σ_d a_r[d] · kt[d][0..8) for four rows a_r; out rows outB bytes apart. */
@inline function scores4x8(a0: usize, a1: usize, a2: usize, a3: usize, kt: usize, spB: usize, dim: i32, out: usize, outB: usize, scale: f32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let kp = kt;
  for (let d = 0; d < dim; d++) {
    const k0 = v128.load(kp), k1 = v128.load(kp, 16);
    const o = <usize>d << 2;
    const x0 = f32x4.splat(load<f32>(a0 + o));
    c00 = fma4(x0, k0, c00);
    c01 = fma4(x0, k1, c01);
    const x1 = f32x4.splat(load<f32>(a1 + o));
    c10 = fma4(x1, k0, c10);
    c11 = fma4(x1, k1, c11);
    const x2 = f32x4.splat(load<f32>(a2 + o));
    c20 = fma4(x2, k0, c20);
    c21 = fma4(x2, k1, c21);
    const x3 = f32x4.splat(load<f32>(a3 + o));
    c30 = fma4(x3, k0, c30);
    c31 = fma4(x3, k1, c31);
    kp += spB;
  }
  const sv = f32x4.splat(scale);
  v128.store(out, f32x4.mul(c00, sv)); v128.store(out, f32x4.mul(c01, sv), 16);
  v128.store(out + outB, f32x4.mul(c10, sv)); v128.store(out + outB, f32x4.mul(c11, sv), 16);
  v128.store(out + 2 * outB, f32x4.mul(c20, sv)); v128.store(out + 2 * outB, f32x4.mul(c21, sv), 16);
  v128.store(out + 3 * outB, f32x4.mul(c30, sv)); v128.store(out + 3 * outB, f32x4.mul(c31, sv), 16);
}

/** out_r[0..8) = Σ_{s in [s0, s1)} w[r][s] · x_s[0..8) for four rows r; x rows rowB bytes apart. */
@inline function weighted4x8(w: usize, wB: usize, s0: i32, s1: i32, x: usize, rowB: usize, o0: usize, o1: usize, o2: usize, o3: usize): void {
  let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a10 = f32x4.splat(0), a11 = f32x4.splat(0);
  let a20 = f32x4.splat(0), a21 = f32x4.splat(0), a30 = f32x4.splat(0), a31 = f32x4.splat(0);
  let xp = x + <usize>s0 * rowB;
  for (let s = s0; s < s1; s++) {
    const v0 = v128.load(xp), v1 = v128.load(xp, 16);
    const o = <usize>s << 2;
    const w0 = f32x4.splat(load<f32>(w + o));
    a00 = fma4(w0, v0, a00);
    a01 = fma4(w0, v1, a01);
    const w1 = f32x4.splat(load<f32>(w + wB + o));
    a10 = fma4(w1, v0, a10);
    a11 = fma4(w1, v1, a11);
    const w2 = f32x4.splat(load<f32>(w + 2 * wB + o));
    a20 = fma4(w2, v0, a20);
    a21 = fma4(w2, v1, a21);
    const w3 = f32x4.splat(load<f32>(w + 3 * wB + o));
    a30 = fma4(w3, v0, a30);
    a31 = fma4(w3, v1, a31);
    xp += rowB;
  }
  v128.store(o0, a00); v128.store(o0, a01, 16); v128.store(o1, a10); v128.store(o1, a11, 16);
  v128.store(o2, a20); v128.store(o2, a21, 16); v128.store(o3, a30); v128.store(o3, a31, 16);
}

/** dst_s[0..8) += Σ_r w[r][s] · x_r[0..8) for s in [s0, s1); dst rows rowB bytes apart. */
@inline function rank4x8(w: usize, wB: usize, s0: i32, s1: i32, x0: usize, x1: usize, x2: usize, x3: usize, dst: usize, rowB: usize): void {
  const y00 = v128.load(x0), y01 = v128.load(x0, 16), y10 = v128.load(x1), y11 = v128.load(x1, 16);
  const y20 = v128.load(x2), y21 = v128.load(x2, 16), y30 = v128.load(x3), y31 = v128.load(x3, 16);
  let dp = dst + <usize>s0 * rowB;
  for (let s = s0; s < s1; s++) {
    const o = <usize>s << 2;
    const w0 = f32x4.splat(load<f32>(w + o)), w1 = f32x4.splat(load<f32>(w + wB + o));
    const w2 = f32x4.splat(load<f32>(w + 2 * wB + o)), w3 = f32x4.splat(load<f32>(w + 3 * wB + o));
    let a0 = v128.load(dp), a1 = v128.load(dp, 16);
    a0 = fma4(w0, y00, a0); a1 = fma4(w0, y01, a1);
    a0 = fma4(w1, y10, a0); a1 = fma4(w1, y11, a1);
    a0 = fma4(w2, y20, a0); a1 = fma4(w2, y21, a1);
    a0 = fma4(w3, y30, a0); a1 = fma4(w3, y31, a1);
    v128.store(dp, a0); v128.store(dp, a1, 16);
    dp += rowB;
  }
}

/**
 * Writes -Infinity over the keys in [s0, s1) a query row does not see: outside [lo, hi), or (with
 * segIds) of another segment. Returns whether any key in [lo, hi) is visible.
 */
function maskRow(sc: usize, s0: i32, s1: i32, lo: i32, hi: i32, segIds: usize, b: i32, tk: i32, seg: i32): bool {
  if (segIds == 0) {
    // Only the edges: [s0, lo) and [max(hi, lo), s1).
    for (let s = s0; s < lo; s++) store<f32>(sc + (<usize>s << 2), -Infinity);
    for (let s = max(hi, lo); s < s1; s++) store<f32>(sc + (<usize>s << 2), -Infinity);
    return hi > lo;
  }
  let any = false;
  for (let s = s0; s < s1; s++) {
    if (s < lo || s >= hi || !visible(segIds, b, tk, s, seg)) store<f32>(sc + (<usize>s << 2), -Infinity);
    else any = true;
  }
  return any;
}

/** Row r of a block starting at query t0: its key bound and segment, or hi = lo when absent/empty. */
@inline function rowHi(t: i32, tq: i32, tk: i32, causal: i32, qOffset: i32, lo: i32): i32 {
  if (t >= tq) return lo;
  return causal != 0 ? min(tk, qOffset + t + 1) : tk;
}

/** Byte offset of query row (b, t, h), t clamped to the last row (a block's absent rows read it, weight 0). */
@inline function rowAt(b: i32, t: i32, tq: i32, qRow: usize, h: i32, dimB: usize): usize {
  return <usize>(b * tq + min(t, tq - 1)) * qRow + <usize>h * dimB;
}

/** Address of output row (b, t, h), or dummy for a block's absent rows (t >= tq). */
@inline function outRow(base: usize, dummy: usize, b: i32, t: i32, tq: i32, qRow: usize, h: i32, dimB: usize): usize {
  return t < tq ? base + <usize>(b * tq + t) * qRow + <usize>h * dimB : dummy;
}

@inline function rowSeg(segIds: usize, b: i32, tk: i32, qpos: i32): i32 {
  return segIds != 0 ? load<i32>(segIds + ((<usize>b * <usize>tk + <usize>qpos) << 2)) : 0;
}

/**
 * Training forward over items [start, end) of (b, query head): out as attention() defines it and
 * lse[b, h, t] = log Σ_s e^{score_s} over visible keys (-Infinity for a query with none).
 * Scratch: Kt (dim × sp floats, sp = tk rounded up to 8), 4 score rows of sp, one dummy row of dim.
 */
export function attention_train(q: usize, k: usize, v: usize, out: usize, lse: usize, keyStart: usize, segIds: usize, tq: i32, tk: i32, hq: i32, hkv: i32, dim: i32, scale: f32, causal: i32, qOffset: i32, kvBatchStride: i32, ws: usize, wsStride: usize, scratch0: usize, scratchStride: usize, start: i32, end: i32, scratch: usize): void {
  const group = hq / hkv;
  const sp = (tk + 7) & ~7;
  const spB = <usize>sp << 2;
  const kvRow = <usize>(hkv * dim) << 2;
  const qRow = <usize>(hq * dim) << 2;
  const dimB = <usize>dim << 2;
  const kt = workspace(ws, wsStride, scratch0, scratchStride, scratch);
  const P = kt + <usize>dim * spB;
  const dummy = P + 4 * spB;
  const invs = dummy + dimB; // 4 floats: 1/Σ of the block's rows
  for (let it = start; it < end; it++) {
    const h = it % hq;
    const b = it / hq;
    const kvB = (<usize>b * <usize>kvBatchStride + <usize>((h / group) * dim)) << 2;
    packT(k + kvB, kvRow, tk, dim, sp, kt);
    const lo = keyStart != 0 ? max(0, load<i32>(keyStart + (<usize>b << 2))) : 0;
    const s0 = lo & ~7;
    for (let t0 = 0; t0 < tq; t0 += 4) {
      const q0 = q + rowAt(b, t0, tq, qRow, h, dimB), q1 = q + rowAt(b, t0 + 1, tq, qRow, h, dimB);
      const q2 = q + rowAt(b, t0 + 2, tq, qRow, h, dimB), q3 = q + rowAt(b, t0 + 3, tq, qRow, h, dimB);
      let hiMax = lo;
      for (let r = 0; r < 4; r++) hiMax = max(hiMax, rowHi(t0 + r, tq, tk, causal, qOffset, lo));
      const s1 = (hiMax + 7) & ~7;
      if (hiMax > lo) for (let s = s0; s < s1; s += 8) scores4x8(q0, q1, q2, q3, kt + (<usize>s << 2), spB, dim, P + (<usize>s << 2), spB, scale);
      for (let r = 0; r < 4; r++) {
        const t = t0 + r;
        const pr = P + <usize>r * spB;
        const hi = rowHi(t, tq, tk, causal, qOffset, lo);
        const any = hiMax > lo && maskRow(pr, s0, s1, lo, hi, segIds, b, tk, t < tq ? rowSeg(segIds, b, tk, qOffset + t) : 0);
        let l: f32 = -Infinity;
        let inv: f32 = 0;
        if (any) {
          // Unnormalised e^{x − max}; the output rows are scaled by 1/Σ after the weighted sums.
          const mx = vecMax(pr + (<usize>s0 << 2), (s1 - s0) >> 2);
          const mv = f32x4.splat(mx);
          let sv = f32x4.splat(0);
          for (let s = s0; s < s1; s += 4) {
            const x = v128.load(pr + (<usize>s << 2));
            const e = v128.and(expNeg4(f32x4.sub(x, mv)), f32x4.gt(x, expK(12)));
            v128.store(pr + (<usize>s << 2), e);
            sv = f32x4.add(sv, e);
          }
          const sum = hsum4(sv);
          l = mx + Mathf.log(sum);
          inv = 1 / sum;
        } else if (hiMax > lo) {
          memory.fill(pr + (<usize>s0 << 2), 0, <usize>(s1 - s0) << 2);
        }
        if (t < tq) store<f32>(lse + ((<usize>((b * hq + h) * tq + t)) << 2), l);
        store<f32>(invs + (<usize>r << 2), inv);
      }
      const send = min(hiMax, tk);
      for (let c = 0; c < dim; c += 8) {
        const cb = <usize>c << 2;
        const o0 = outRow(out, dummy, b, t0, tq, qRow, h, dimB) + cb, o1 = outRow(out, dummy, b, t0 + 1, tq, qRow, h, dimB) + cb;
        const o2 = outRow(out, dummy, b, t0 + 2, tq, qRow, h, dimB) + cb, o3 = outRow(out, dummy, b, t0 + 3, tq, qRow, h, dimB) + cb;
        weighted4x8(P, spB, hiMax > lo ? lo : 0, hiMax > lo ? send : 0, v + kvB + cb, kvRow, o0, o1, o2, o3);
      }
      for (let r = 0; r < 4; r++) {
        const oo = outRow(out, dummy, b, t0 + r, tq, qRow, h, dimB);
        scaleRow(oo, oo, dim, load<f32>(invs + (<usize>r << 2)));
      }
    }
  }
}

/**
 * Training backward over items [start, end) of (b, kv head), from out and lse of attention_train:
 * P = exp(score − lse), dP = dO·vᵀ, D = dO·out, dS = P·(dP − D)·scale; gq = dS·K, gk = dSᵀ·Q,
 * gv = Pᵀ·dO (gk, gv dense [B, tk, hkv, D], one writer per item). Scratch: Kt and Vt (dim × sp
 * each), 4 rows of P and 4 of dS (sp each), one dummy row of dim.
 */
export function attention_train_backward(q: usize, k: usize, v: usize, out: usize, lse: usize, gOut: usize, gq: usize, gk: usize, gv: usize, keyStart: usize, segIds: usize, tq: i32, tk: i32, hq: i32, hkv: i32, dim: i32, scale: f32, causal: i32, qOffset: i32, kvBatchStride: i32, ws: usize, wsStride: usize, scratch0: usize, scratchStride: usize, start: i32, end: i32, scratch: usize): void {
  const group = hq / hkv;
  const sp = (tk + 7) & ~7;
  const spB = <usize>sp << 2;
  const kvRow = <usize>(hkv * dim) << 2;
  const qRow = <usize>(hq * dim) << 2;
  const dimB = <usize>dim << 2;
  const kt = workspace(ws, wsStride, scratch0, scratchStride, scratch);
  const vt = kt + <usize>dim * spB;
  const P = vt + <usize>dim * spB;
  const dS = P + 4 * spB;
  const dummy = dS + 4 * spB;
  for (let it = start; it < end; it++) {
    const kh = it % hkv;
    const b = it / hkv;
    const kvB = (<usize>b * <usize>kvBatchStride + <usize>(kh * dim)) << 2;
    const gB = (<usize>b * <usize>tk * <usize>(hkv * dim) + <usize>(kh * dim)) << 2;
    // Zeroed with vector stores: memory.fill is a runtime call, costly for 2·tk short rows.
    const z = f32x4.splat(0);
    for (let s = 0; s < tk; s++) {
      const ko = gk + gB + <usize>s * kvRow, vo = gv + gB + <usize>s * kvRow;
      for (let d: usize = 0; d < dimB; d += 16) {
        v128.store(ko + d, z);
        v128.store(vo + d, z);
      }
    }
    packT(k + kvB, kvRow, tk, dim, sp, kt);
    packT(v + kvB, kvRow, tk, dim, sp, vt);
    const lo = keyStart != 0 ? max(0, load<i32>(keyStart + (<usize>b << 2))) : 0;
    const s0 = lo & ~7;
    for (let h = kh * group; h < (kh + 1) * group; h++) {
      for (let t0 = 0; t0 < tq; t0 += 4) {
        const r0 = rowAt(b, t0, tq, qRow, h, dimB), r1 = rowAt(b, t0 + 1, tq, qRow, h, dimB);
        const r2 = rowAt(b, t0 + 2, tq, qRow, h, dimB), r3 = rowAt(b, t0 + 3, tq, qRow, h, dimB);
        let hiMax = lo;
        for (let r = 0; r < 4; r++) hiMax = max(hiMax, rowHi(t0 + r, tq, tk, causal, qOffset, lo));
        if (hiMax <= lo) {
          for (let r = 0; r < 4; r++) if (t0 + r < tq) memory.fill(gq + rowAt(b, t0 + r, tq, qRow, h, dimB), 0, dimB);
          continue;
        }
        const s1 = (hiMax + 7) & ~7;
        for (let s = s0; s < s1; s += 8) {
          const so = <usize>s << 2;
          scores4x8(q + r0, q + r1, q + r2, q + r3, kt + so, spB, dim, P + so, spB, scale);
          scores4x8(gOut + r0, gOut + r1, gOut + r2, gOut + r3, vt + so, spB, dim, dS + so, spB, 1);
        }
        for (let r = 0; r < 4; r++) {
          const t = t0 + r;
          const pr = P + <usize>r * spB;
          const dr = dS + <usize>r * spB;
          const hi = rowHi(t, tq, tk, causal, qOffset, lo);
          const any = maskRow(pr, s0, s1, lo, hi, segIds, b, tk, t < tq ? rowSeg(segIds, b, tk, qOffset + t) : 0);
          const l = t < tq ? load<f32>(lse + ((<usize>((b * hq + h) * tq + t)) << 2)) : -Infinity;
          if (!any || l == -Infinity) {
            memory.fill(pr + (<usize>s0 << 2), 0, <usize>(s1 - s0) << 2);
            memory.fill(dr + (<usize>s0 << 2), 0, <usize>(s1 - s0) << 2);
            continue;
          }
          const ro = rowAt(b, t, tq, qRow, h, dimB);
          const dv = f32x4.splat(dot<f32>(gOut + ro, out + ro, dim));
          const lv = f32x4.splat(l);
          const scv = f32x4.splat(scale);
          for (let s = s0; s < s1; s += 4) {
            const o = <usize>s << 2;
            const x = v128.load(pr + o);
            const e = v128.and(expNeg4(f32x4.sub(x, lv)), f32x4.gt(x, expK(12)));
            v128.store(pr + o, e);
            v128.store(dr + o, f32x4.mul(f32x4.mul(e, f32x4.sub(v128.load(dr + o), dv)), scv));
          }
        }
        const send = min(hiMax, tk);
        for (let c = 0; c < dim; c += 8) {
          const cb = <usize>c << 2;
          const g0 = outRow(gq, dummy, b, t0, tq, qRow, h, dimB) + cb, g1 = outRow(gq, dummy, b, t0 + 1, tq, qRow, h, dimB) + cb;
          const g2 = outRow(gq, dummy, b, t0 + 2, tq, qRow, h, dimB) + cb, g3 = outRow(gq, dummy, b, t0 + 3, tq, qRow, h, dimB) + cb;
          weighted4x8(dS, spB, lo, send, k + kvB + cb, kvRow, g0, g1, g2, g3);
          rank4x8(dS, spB, lo, send, q + r0 + cb, q + r1 + cb, q + r2 + cb, q + r3 + cb, gk + gB + cb, kvRow);
          rank4x8(P, spB, lo, send, gOut + r0 + cb, gOut + r1 + cb, gOut + r2 + cb, gOut + r3 + cb, gv + gB + cb, kvRow);
        }
      }
    }
  }
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
 * Rotate-half RoPE over rows [start, end) of (batch·t) from a cos/sin table the caller computed:
 * table row i holds cos[0..half) then (sign·)sin[0..half) (f32); row r of x uses table row
 * positions[r] − minPos (byRow == 0: one row per distinct position) or r (byRow != 0).
 */
export function rope(x: usize, out: usize, positions: usize, heads: i32, dim: i32, table: usize, minPos: i32, byRow: i32, start: i32, end: i32, _scratch: usize): void {
  const half = dim >> 1;
  const hb = <usize>half << 2;
  for (let r = start; r < end; r++) {
    const ti = byRow != 0 ? r : load<i32>(positions + (<usize>r << 2)) - minPos;
    const cs = table + <usize>ti * (hb << 1);
    const sn = cs + hb;
    for (let h = 0; h < heads; h++) {
      const o = (<usize>(r * heads + h) * <usize>dim) << 2;
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
