// Unit tests of the ref softmax, attention and RoPE kernels: forward against naive float64 masked
// attention (causal, KV-cache offset, GQA, left padding, packed segments, fully masked rows, padded kv
// batch stride), backward against finite differences, and rotate-half RoPE against the HF formula.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AttentionParams } from '../../src/engine/kernels.js';
import { refKernels as K } from '../../src/engine/backends/ref/index.js';
import { assertClose, fdGrad, rand } from './ref-helpers.js';

function naiveSoftmax(x: ArrayLike<number>, rows: number, dim: number): Float64Array {
  const out = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let mx = -Infinity;
    for (let j = 0; j < dim; j++) mx = Math.max(mx, x[r * dim + j]);
    let s = 0;
    for (let j = 0; j < dim; j++) s += Math.exp(x[r * dim + j] - mx);
    for (let j = 0; j < dim; j++) out[r * dim + j] = Math.exp(x[r * dim + j] - mx) / s;
  }
  return out;
}

test('softmax: vs naive, large logits, fully -Infinity row, backward vs finite differences', () => {
  const x = rand(3 * 7, 111, -5, 5);
  const out = new Float32Array(21);
  K.softmax(x, out, 3, 7);
  assertClose(out, naiveSoftmax(x, 3, 7), 1e-7, 1e-6, 'softmax');
  // exp(1000) overflows float64; the row max is subtracted first. 1000.5 is exact in f32.
  const big = new Float32Array(2);
  K.softmax(Float32Array.from([1000, 1000.5]), big, 1, 2);
  assertClose(big, [1 / (1 + Math.exp(0.5)), 1 / (1 + Math.exp(-0.5))], 1e-7, 0, 'no overflow');
  const masked = new Float32Array(3);
  K.softmax(Float32Array.from([-Infinity, -Infinity, -Infinity]), masked, 1, 3);
  assert.deepEqual(Array.from(masked), [0, 0, 0]);
  const gy = rand(21, 112);
  const gx = new Float32Array(21);
  K.softmaxBackward(out, gy, gx, 3, 7);
  assertClose(gx, fdGrad((xs) => naiveSoftmax(xs, 3, 7), x, gy), 1e-6, 1e-4, 'softmax backward');
});

function attnParams(o: Partial<AttentionParams> & { batch: number; tq: number; tk: number; hq: number; hkv: number; dim: number }): AttentionParams {
  return {
    scale: 1 / Math.sqrt(o.dim),
    causal: true,
    qOffset: o.tk - o.tq,
    kvBatchStride: o.tk * o.hkv * o.dim,
    keyStart: null,
    segIds: null,
    ...o,
  };
}

/** Naive masked attention in float64: out [B, tq, hq, D], probs [B, hq, tq, tk], lse [B, hq, tq] (-Infinity: no key). */
function naiveAttention(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, p: AttentionParams): { out: Float64Array; probs: Float64Array; lse: Float64Array } {
  const { batch, tq, tk, hq, hkv, dim: D } = p;
  const out = new Float64Array(batch * tq * hq * D);
  const probs = new Float64Array(batch * hq * tq * tk);
  const lse = new Float64Array(batch * hq * tq).fill(-Infinity);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < hq; h++) {
      const kh = Math.floor(h / (hq / hkv));
      for (let t = 0; t < tq; t++) {
        const qpos = p.qOffset + t;
        const vis: number[] = [];
        for (let s = 0; s < tk; s++) {
          if (p.causal && s > qpos) continue;
          if (p.keyStart && s < p.keyStart[b]) continue;
          if (p.segIds && p.segIds[b * tk + s] !== p.segIds[b * tk + qpos]) continue;
          vis.push(s);
        }
        if (vis.length === 0) continue;
        const qo = ((b * tq + t) * hq + h) * D;
        const sc = vis.map((s) => {
          const ko = b * p.kvBatchStride + (s * hkv + kh) * D;
          let d = 0;
          for (let i = 0; i < D; i++) d += q[qo + i] * k[ko + i];
          return d * p.scale;
        });
        const mx = Math.max(...sc);
        const e = sc.map((z) => Math.exp(z - mx));
        const sum = e.reduce((a, z) => a + z, 0);
        lse[(b * hq + h) * tq + t] = mx + Math.log(sum);
        vis.forEach((s, idx) => {
          const pr = e[idx] / sum;
          probs[((b * hq + h) * tq + t) * tk + s] = pr;
          const vo = b * p.kvBatchStride + (s * hkv + kh) * D;
          for (let i = 0; i < D; i++) out[qo + i] += pr * v[vo + i];
        });
      }
    }
  }
  return { out, probs, lse };
}

/** Runs the kernel with fresh outputs (pre-filled with garbage to prove they are overwritten). */
function runAttention(q: Float32Array, k: Float32Array, v: Float32Array, p: AttentionParams): { out: Float32Array; lse: Float32Array } {
  const out = new Float32Array(p.batch * p.tq * p.hq * p.dim).fill(7);
  const lse = new Float32Array(p.batch * p.hq * p.tq).fill(7);
  K.attention(q, k, v, out, lse, p);
  return { out, lse };
}

function inputs(p: AttentionParams, seed: number): { q: Float32Array; k: Float32Array; v: Float32Array } {
  const kvLen = (p.batch - 1) * p.kvBatchStride + p.tk * p.hkv * p.dim;
  return {
    q: rand(p.batch * p.tq * p.hq * p.dim, seed, -2, 2),
    k: rand(kvLen, seed + 1, -2, 2),
    v: rand(kvLen, seed + 2, -2, 2),
  };
}

function checkAgainstNaive(p: AttentionParams, seed: number, what: string): { out: Float32Array; lse: Float32Array } {
  const { q, k, v } = inputs(p, seed);
  const got = runAttention(q, k, v, p);
  const want = naiveAttention(q, k, v, p);
  assertClose(got.out, want.out, 1e-6, 1e-5, `${what}: out`);
  assertClose(got.lse, want.lse, 1e-6, 1e-5, `${what}: lse`);
  // lse = null (inference) gives the same output.
  const out2 = new Float32Array(got.out.length);
  K.attention(q, k, v, out2, null, p);
  assert.deepEqual(out2, got.out, `${what}: out without lse`);
  return got;
}

test('attention: hand-worked single key and two equal keys', () => {
  const p = attnParams({ batch: 1, tq: 2, tk: 2, hq: 1, hkv: 1, dim: 2 });
  const q = Float32Array.from([1, 0, 1, 0]);
  const k = Float32Array.from([0, 1, 0, 1]); // both keys score 0 -> uniform over visible ones
  const v = Float32Array.from([1, 2, 3, 4]);
  const { out, lse } = runAttention(q, k, v, p);
  // Query 0 sees key 0 only; query 1 averages keys 0 and 1 (lse = log(e^0 + e^0)).
  assert.deepEqual(Array.from(out), [1, 2, 2, 3]);
  assert.deepEqual(Array.from(lse), [0, Math.fround(Math.LN2)]);
});

test('attention: causal and non-causal self-attention vs naive', () => {
  checkAgainstNaive(attnParams({ batch: 2, tq: 5, tk: 5, hq: 2, hkv: 2, dim: 4 }), 121, 'causal');
  checkAgainstNaive(attnParams({ batch: 2, tq: 5, tk: 5, hq: 2, hkv: 2, dim: 4, causal: false, qOffset: 0 }), 124, 'non-causal');
});

test('attention: KV cache (tk > tq, qOffset) with a padded kv batch stride equals the tail of full attention', () => {
  const full = attnParams({ batch: 2, tq: 7, tk: 7, hq: 2, hkv: 2, dim: 4 });
  const { q, k, v } = inputs(full, 131);
  const fullOut = runAttention(q, k, v, full).out;
  // Cache of Smax = 10 positions per batch, 7 filled; last 3 queries.
  const smax = 10;
  const rowLen = full.hkv * full.dim;
  const kc = new Float32Array(2 * smax * rowLen).fill(123);
  const vc = new Float32Array(2 * smax * rowLen).fill(-123);
  for (let b = 0; b < 2; b++) {
    kc.set(k.subarray(b * 7 * rowLen, (b + 1) * 7 * rowLen), b * smax * rowLen);
    vc.set(v.subarray(b * 7 * rowLen, (b + 1) * 7 * rowLen), b * smax * rowLen);
  }
  const qRow = full.hq * full.dim;
  const qTail = new Float32Array(2 * 3 * qRow);
  for (let b = 0; b < 2; b++) qTail.set(q.subarray((b * 7 + 4) * qRow, (b + 1) * 7 * qRow), b * 3 * qRow);
  const p = attnParams({ batch: 2, tq: 3, tk: 7, hq: 2, hkv: 2, dim: 4, kvBatchStride: smax * rowLen });
  assert.equal(p.qOffset, 4);
  const { out } = runAttention(qTail, kc, vc, p);
  const wantTail = new Float32Array(2 * 3 * qRow);
  for (let b = 0; b < 2; b++) wantTail.set(fullOut.subarray((b * 7 + 4) * qRow, (b + 1) * 7 * qRow), b * 3 * qRow);
  assertClose(out, wantTail, 1e-6, 1e-5, 'cache tail');
  checkAgainstNaive(p, 132, 'cache vs naive');
});

test('attention: GQA (hq 4, hkv 2) reads kv head floor(h / 2), same as repeating kv heads', () => {
  const p = attnParams({ batch: 2, tq: 4, tk: 4, hq: 4, hkv: 2, dim: 3 });
  const { out } = checkAgainstNaive(p, 141, 'gqa');
  const { q, k, v } = inputs(p, 141);
  // Repeat each kv head twice consecutively: heads [0, 0, 1, 1].
  const rep = (x: Float32Array): Float32Array => {
    const y = new Float32Array(2 * 4 * 4 * 3);
    for (let bs = 0; bs < 8; bs++) for (let h = 0; h < 4; h++) for (let i = 0; i < 3; i++) y[(bs * 4 + h) * 3 + i] = x[(bs * 2 + (h >> 1)) * 3 + i];
    return y;
  };
  const mha = attnParams({ batch: 2, tq: 4, tk: 4, hq: 4, hkv: 4, dim: 3 });
  assertClose(runAttention(q, rep(k), rep(v), mha).out, out, 1e-7, 1e-6, 'gqa = repeated mha');
});

test('attention: keyStart left padding; a query with no visible key outputs zeros and lse -Infinity', () => {
  const p = attnParams({ batch: 2, tq: 5, tk: 5, hq: 2, hkv: 1, dim: 4, keyStart: Int32Array.from([0, 2]) });
  const { out, lse } = checkAgainstNaive(p, 151, 'keyStart');
  const D = 4;
  // Batch 1, queries 0 and 1 (causal, keys < 2 masked): nothing visible.
  for (let t = 0; t < 2; t++) {
    for (let h = 0; h < 2; h++) {
      const o = ((1 * 5 + t) * 2 + h) * D;
      assert.deepEqual(Array.from(out.subarray(o, o + D)), [0, 0, 0, 0]);
      assert.equal(lse[(1 * 2 + h) * 5 + t], -Infinity);
    }
  }
  // Batch 1, query 2 sees exactly key 2: output = v[1, 2].
  const { v } = inputs(p, 151);
  const o = ((1 * 5 + 2) * 2 + 0) * D;
  assertClose(out.subarray(o, o + D), v.subarray((5 + 2) * D, (5 + 3) * D), 0, 0, 'single visible key');
});

test('attention: segIds (packed documents) equals attending each document alone', () => {
  const segs = [0, 0, 0, 1, 1, 2];
  const p = attnParams({ batch: 1, tq: 6, tk: 6, hq: 2, hkv: 2, dim: 4, segIds: Int32Array.from(segs) });
  const { out } = checkAgainstNaive(p, 161, 'segIds');
  const { q, k, v } = inputs(p, 161);
  const row = 2 * 4;
  for (const [start, len] of [
    [0, 3],
    [3, 2],
    [5, 1],
  ]) {
    const doc = attnParams({ batch: 1, tq: len, tk: len, hq: 2, hkv: 2, dim: 4 });
    const sl = (x: Float32Array): Float32Array => x.slice(start * row, (start + len) * row);
    assertClose(runAttention(sl(q), sl(k), sl(v), doc).out, out.subarray(start * row, (start + len) * row), 1e-7, 1e-6, `doc at ${start}`);
  }
  // Segments combined with non-causal masking and a cache offset.
  checkAgainstNaive(attnParams({ batch: 1, tq: 2, tk: 6, hq: 2, hkv: 1, dim: 4, causal: false, segIds: Int32Array.from(segs) }), 162, 'segIds non-causal');
});

test('attentionBackward: gq, gk, gv vs finite differences (GQA, cache offset, padding, segments, padded stride)', () => {
  const D = 3;
  const hkv = 2;
  const tk = 5;
  const smax = 6;
  const p = attnParams({
    batch: 2,
    tq: 4,
    tk,
    hq: 4,
    hkv,
    dim: D,
    qOffset: 1,
    kvBatchStride: smax * hkv * D,
    keyStart: Int32Array.from([0, 2]),
    segIds: Int32Array.from([0, 0, 0, 1, 1, 5, 5, 5, 5, 5]),
  });
  const { q, k, v } = inputs(p, 171);
  const { out, lse } = runAttention(q, k, v, p);
  const gOut = rand(q.length, 174);
  const gq = new Float32Array(q.length).fill(9);
  const gk = new Float32Array(p.batch * tk * hkv * D).fill(9);
  const gv = new Float32Array(p.batch * tk * hkv * D).fill(9);
  K.attentionBackward(q, k, v, out, lse, gOut, gq, gk, gv, p);
  const fq = fdGrad((qs) => naiveAttention(qs, k, v, p).out, q, gOut);
  assertClose(gq, fq, 1e-5, 1e-4, 'gq');
  // Finite differences are over the strided cache; gk/gv are dense [B, tk, hkv, D].
  const dense = (g: Float64Array): Float64Array => {
    const out = new Float64Array(p.batch * tk * hkv * D);
    for (let b = 0; b < p.batch; b++) out.set(g.subarray(b * p.kvBatchStride, b * p.kvBatchStride + tk * hkv * D), b * tk * hkv * D);
    return out;
  };
  assertClose(gk, dense(fdGrad((ks) => naiveAttention(q, ks, v, p).out, k, gOut)), 1e-5, 1e-4, 'gk');
  assertClose(gv, dense(fdGrad((vs) => naiveAttention(q, k, vs, p).out, v, gOut)), 1e-5, 1e-4, 'gv');
});

/** HF rotate-half RoPE in float64: x·cos + rotate_half(x)·sin with rotate_half(x) = [-x2, x1]. */
function hfRope(x: ArrayLike<number>, positions: ArrayLike<number>, batch: number, t: number, heads: number, dim: number, theta: number): Float64Array {
  const half = dim / 2;
  const out = new Float64Array(batch * t * heads * dim);
  for (let b = 0; b < batch; b++) {
    for (let ti = 0; ti < t; ti++) {
      const pos = positions[b * t + ti];
      for (let h = 0; h < heads; h++) {
        const o = ((b * t + ti) * heads + h) * dim;
        for (let j = 0; j < dim; j++) {
          const i = j % half;
          const angle = pos / theta ** ((2 * i) / dim);
          const rot = j < half ? -x[o + j + half] : x[o + j - half];
          out[o + j] = x[o + j] * Math.cos(angle) + rot * Math.sin(angle);
        }
      }
    }
  }
  return out;
}

test('rope: matches the HF rotate-half formula; inverse undoes it; in place works', () => {
  const batch = 2;
  const t = 3;
  const heads = 2;
  const dim = 8;
  const x = rand(batch * t * heads * dim, 181);
  const positions = Int32Array.from([0, 1, 2, 5, 17, 63]);
  const out = new Float32Array(x.length);
  K.rope(x, out, positions, batch, t, heads, dim, 10000, false);
  assertClose(out, hfRope(x, positions, batch, t, heads, dim, 10000), 2e-6, 1e-5, 'rope');
  // Position 0 is the identity.
  assert.deepEqual(out.subarray(0, heads * dim), x.subarray(0, heads * dim));
  const back = new Float32Array(x.length);
  K.rope(out, back, positions, batch, t, heads, dim, 10000, true);
  assertClose(back, x, 1e-6, 0, 'inverse(rope(x))');
  const inPlace = x.slice();
  K.rope(inPlace, inPlace, positions, batch, t, heads, dim, 10000, false);
  assert.deepEqual(inPlace, out);
  // Hand-worked: dim 2, theta irrelevant (i = 0 -> inv_freq 1), pos 1: (1, 0) -> (cos 1, sin 1).
  const two = new Float32Array(2);
  K.rope(Float32Array.from([1, 0]), two, Int32Array.from([1]), 1, 1, 1, 2, 10000, false);
  assertClose(two, [Math.cos(1), Math.sin(1)], 1e-7, 0, 'dim 2');
});

test('rope: large positions follow the fp32 angle computation of HF (within fp32 angle rounding of exact)', () => {
  const dim = 128;
  const x = rand(dim, 191);
  const positions = Int32Array.from([4095]);
  const out = new Float32Array(dim);
  K.rope(x, out, positions, 1, 1, 1, dim, 10000, false);
  // HF: inv_freq = 1 / theta^(arange(0, dim, 2) / dim) in fp32, angle = pos · inv_freq in fp32.
  const half = dim / 2;
  const want = new Float64Array(dim);
  for (let i = 0; i < half; i++) {
    const inv = Math.fround(1 / Math.fround(10000 ** Math.fround((2 * i) / dim)));
    const a = Math.fround(positions[0] * inv);
    const c = Math.fround(Math.cos(a));
    const s = Math.fround(Math.sin(a));
    want[i] = x[i] * c - x[i + half] * s;
    want[i + half] = x[i + half] * c + x[i] * s;
  }
  assertClose(out, want, 1e-6, 0, 'fp32 angles');
  // Exact float64 angles differ by at most the fp32 rounding of an angle near 4095 (ulp 2^-12).
  assertClose(out, hfRope(x, positions, 1, 1, 1, dim, 10000), 2 * 2 ** -12, 0, 'float64 angles');
});
