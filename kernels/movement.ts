// Reductions and embedding movement: sum/max over the middle axis of [outer, len, inner] (split
// over outer rows or inner columns), embedding gather (bf16/f16 tables widened to f32) over a row
// range and scatterAdd over a column range, so no two threads write one element. Broadcast,
// permute and copyAxis are ref only (the wasm backend runs them over views of its memory).

import { loadW4, loadW1, dtSize } from './simd';

/**
 * x [outer, len, inner] -> out [outer, inner]; op 0 sum (f64 accumulation), 1 max (NaN wins).
 * split 0: [start, end) is a range of outer; split 1: a range of inner (columns).
 */
export function reduce(op: i32, x: usize, out: usize, outer: i32, len: i32, inner: i32, split: i32, start: i32, end: i32, _scratch: usize): void {
  const o0 = split == 0 ? start : 0, o1 = split == 0 ? end : outer;
  const i0 = split == 0 ? 0 : start, i1 = split == 0 ? inner : end;
  for (let o = o0; o < o1; o++) {
    const base = x + ((<usize>o * <usize>len * <usize>inner) << 2);
    for (let i = i0; i < i1; i++) {
      let p = base + (<usize>i << 2);
      const step = <usize>inner << 2;
      if (op == 0) {
        let s: f64 = 0;
        if (inner == 1) {
          let a = f64x2.splat(0), b = f64x2.splat(0);
          let l = 0;
          for (; l + 4 <= len; l += 4) {
            const v = v128.load(p + (<usize>l << 2));
            a = f64x2.add(a, f64x2.promote_low_f32x4(v));
            b = f64x2.add(b, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)));
          }
          const t = f64x2.add(a, b);
          s = f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1);
          for (; l < len; l++) s += <f64>load<f32>(p + (<usize>l << 2));
        } else {
          for (let l = 0; l < len; l++) { s += <f64>load<f32>(p); p += step; }
        }
        store<f32>(out + ((<usize>o * <usize>inner + <usize>i) << 2), <f32>s);
      } else {
        let m: f32 = -Infinity;
        for (let l = 0; l < len; l++) {
          const v = load<f32>(p);
          if (v > m || v != v) m = v;
          p += step;
        }
        store<f32>(out + ((<usize>o * <usize>inner + <usize>i) << 2), m);
      }
    }
  }
}

/** out[i, :] = table[ids[i], :] widened, for rows i in [start, end). */
export function gather(table: usize, dt: i32, ids: usize, out: usize, dim: i32, start: i32, end: i32, _scratch: usize): void {
  const es = dtSize(dt);
  for (let i = start; i < end; i++) {
    const src = table + <usize>load<i32>(ids + (<usize>i << 2)) * <usize>dim * es;
    const dst = out + ((<usize>i * <usize>dim) << 2);
    let j = 0;
    for (; j + 4 <= dim; j += 4) v128.store(dst + (<usize>j << 2), loadW4(src + <usize>j * es, dt));
    for (; j < dim; j++) store<f32>(dst + (<usize>j << 2), loadW1(src + <usize>j * es, dt));
  }
}

/** gTable[ids[i], c] += g[i, c] for all i, columns c in [start, end) (in order of i). */
export function scatter_add(g: usize, ids: usize, gt: usize, n: i32, dim: i32, start: i32, end: i32, _scratch: usize): void {
  for (let i = 0; i < n; i++) {
    const src = g + ((<usize>i * <usize>dim) << 2);
    const dst = gt + ((<usize>load<i32>(ids + (<usize>i << 2)) * <usize>dim) << 2);
    let c = start;
    for (; c + 4 <= end; c += 4) { const q = <usize>c << 2; v128.store(dst + q, f32x4.add(v128.load(dst + q), v128.load(src + q))); }
    for (; c < end; c++) { const q = <usize>c << 2; store<f32>(dst + q, load<f32>(dst + q) + load<f32>(src + q)); }
  }
}
