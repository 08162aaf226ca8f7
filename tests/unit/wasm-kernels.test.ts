// Every native wasm kernel other than GEMM against the ref kernel on the same inputs, at a small
// size (scalar tails, main thread only) and a large one (split across threads): elementwise, binary
// operand modes, casts, reductions, norms (forward and backward), softmax, cross entropy, RoPE,
// gather/scatterAdd, AdamW, attention (also over bf16 keys/values), GroupNorm, dropout (bit-exact). Tolerance 1e-5 relative to the
// output's scale.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createWasmBackend, type WasmBackend } from '../../src/engine/backends/wasm/backend.node.js';
import { refKernels } from '../../src/engine/backends/ref/index.js';
import type { AttentionParams, BinaryOp, Conv2dParams, UnaryOp } from '../../src/engine/kernels.js';
import { f32ToBf16 } from '../../src/engine/dtype.js';

let seed = 987654321;
function rand(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 2 ** 32 - 0.5;
}

let be: WasmBackend;
const f32 = (n: number, gen: () => number = rand): Float32Array => {
  const r = be.reserve(n * 4);
  const a = new Float32Array(r.buffer, r.byteOffset, n);
  for (let i = 0; i < n; i++) a[i] = gen();
  return a;
};
const i32 = (n: number, gen: (i: number) => number): Int32Array => {
  const r = be.reserve(n * 4);
  const a = new Int32Array(r.buffer, r.byteOffset, n);
  for (let i = 0; i < n; i++) a[i] = gen(i);
  return a;
};
/** The bf16 bits (round to nearest even) of a, in wasm memory. */
const bf16Of = (a: Float32Array): Uint16Array => {
  const r = be.reserve(a.length * 2);
  const out = new Uint16Array(r.buffer, r.byteOffset, a.length);
  for (let i = 0; i < a.length; i++) out[i] = f32ToBf16(a[i]);
  return out;
};
const clone = (a: Float32Array): Float32Array => {
  const b = f32(a.length);
  b.set(a);
  return b;
};

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = 1e-5): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) if (Number.isFinite(expected[i])) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    const a = actual[i];
    if (Number.isNaN(e) ? Number.isNaN(a) : a === e || Math.abs(a - e) <= tol * Math.max(1, scale)) continue;
    assert.fail(`${what}[${i}]: wasm ${a} vs ref ${e}`);
  }
}

const SIZES = [37, 70_001];

describe('wasm native kernels vs ref', () => {
  before(async () => {
    be = await createWasmBackend({ threads: 2 });
  });
  after(async () => {
    await be.dispose();
  });

  for (const n of SIZES) {
    it(`unary and unaryBackward, n=${n}`, () => {
      const ops: UnaryOp[] = ['neg', 'exp', 'log', 'sqrt', 'rsqrt', 'sigmoid', 'silu', 'tanh', 'square', 'relu', 'abs'];
      for (const op of ops) {
        const positive = op === 'log' || op === 'sqrt' || op === 'rsqrt';
        const x = f32(n, () => (positive ? rand() + 0.6 : rand() * 8));
        const y = f32(n), yr = f32(n);
        be.kernels.unary(op, x, y);
        refKernels.unary(op, x, yr);
        close(y, yr, `unary ${op}`);
        const gy = f32(n), gx = f32(n), gxr = f32(n);
        be.kernels.unaryBackward(op, x, yr, gy, gx);
        refKernels.unaryBackward(op, x, yr, gy, gxr);
        close(gx, gxr, `unaryBackward ${op}`);
      }
    });

    it(`binary dense / row / scalar operands, affine, fill, swiglu, n=${n}`, () => {
      const d = 53;
      const rows = Math.ceil(n / d);
      const shape = [rows, d];
      const ops: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'max', 'min'];
      const a = f32(rows * d), bDense = f32(rows * d), bRow = f32(d), bScalar = f32(1);
      for (const op of ops) {
        for (const [b, bs] of [
          [bDense, [d, 1]],
          [bRow, [0, 1]],
          [bScalar, [0, 0]],
        ] as [Float32Array, number[]][]) {
          for (const swap of [false, true]) {
            const out = f32(rows * d), outr = f32(rows * d);
            if (!swap) {
              be.kernels.binary(op, a, b, out, shape, [d, 1], bs);
              refKernels.binary(op, a, b, outr, shape, [d, 1], bs);
            } else {
              be.kernels.binary(op, b, a, out, shape, bs, [d, 1]);
              refKernels.binary(op, b, a, outr, shape, bs, [d, 1]);
            }
            close(out, outr, `binary ${op} b strides ${bs} swap ${swap}`);
          }
        }
      }
      // A stride pattern without a fast path (column broadcast) falls back to ref.
      const col = f32(rows), out = f32(rows * d), outr = f32(rows * d);
      be.kernels.binary('add', a, col, out, shape, [d, 1], [1, 0]);
      refKernels.binary('add', a, col, outr, shape, [d, 1], [1, 0]);
      close(out, outr, 'binary column broadcast');
      const o1 = f32(n), o2 = f32(n);
      be.kernels.affine(a.subarray(0, n), o1, 1.7, -0.3);
      refKernels.affine(a.subarray(0, n), o2, 1.7, -0.3);
      close(o1, o2, 'affine');
      be.kernels.fill(o1, 2.5);
      assert.ok(o1.every((v) => v === 2.5));
      const g = f32(n), u = f32(n), gy = f32(n);
      const s1 = f32(n), s2 = f32(n), gg1 = f32(n), gg2 = f32(n), gu1 = f32(n), gu2 = f32(n);
      be.kernels.swiglu(g, u, s1);
      refKernels.swiglu(g, u, s2);
      close(s1, s2, 'swiglu');
      be.kernels.swigluBackward(g, u, gy, gg1, gu1);
      refKernels.swigluBackward(g, u, gy, gg2, gu2);
      close(gg1, gg2, 'swiglu gg');
      close(gu1, gu2, 'swiglu gu');
    });

    it(`cast between f32, bf16, f16 and i32, n=${n}`, () => {
      const x = f32(n, () => rand() * 1e3);
      x[0] = NaN;
      x[1] = 1e-6;
      x[2] = 70000;
      for (const dt of ['bf16', 'f16'] as const) {
        const r1 = be.reserve(n * 2), r2 = be.reserve(n * 2);
        const h1 = new Uint16Array(r1.buffer, r1.byteOffset, n), h2 = new Uint16Array(r2.buffer, r2.byteOffset, n);
        be.kernels.cast(x, 'f32', h1, dt);
        refKernels.cast(x, 'f32', h2, dt);
        assert.deepEqual(h1, h2, `f32 -> ${dt}`);
        const back1 = f32(n), back2 = f32(n);
        be.kernels.cast(h1, dt, back1, 'f32');
        refKernels.cast(h2, dt, back2, 'f32');
        close(back1, back2, `${dt} -> f32`, 0);
      }
      const ia = i32(n, () => 0), ib = i32(n, () => 0);
      be.kernels.cast(x, 'f32', ia, 'i32');
      refKernels.cast(x, 'f32', ib, 'i32');
      assert.deepEqual(ia, ib, 'f32 -> i32');
      const fa = f32(n), fb = f32(n);
      be.kernels.cast(ia, 'i32', fa, 'f32');
      refKernels.cast(ib, 'i32', fb, 'f32');
      close(fa, fb, 'i32 -> f32', 0);
    });

    it(`sumSquares and adamw, n=${n}`, () => {
      const x = f32(n);
      const s = be.kernels.sumSquares(x);
      const sr = refKernels.sumSquares(x);
      assert.ok(Math.abs(s - sr) <= 1e-9 * sr, `sumSquares ${s} vs ${sr}`);
      const p1 = f32(n), g = f32(n), m1 = f32(n), v1 = f32(n, () => Math.abs(rand()));
      const p2 = clone(p1), m2 = clone(m1), v2 = clone(v1);
      const hp = { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: 3 };
      be.kernels.adamw(p1, g, m1, v1, hp);
      refKernels.adamw(p2, g, m2, v2, hp);
      close(p1, p2, 'adamw param');
      close(m1, m2, 'adamw m');
      close(v1, v2, 'adamw v');
    });
  }

  for (const [rows, dim] of [
    [3, 37],
    [300, 257],
  ]) {
    it(`softmax, norms and cross entropy, rows=${rows} dim=${dim}`, () => {
      const x = f32(rows * dim, () => rand() * 6);
      const y1 = f32(rows * dim), y2 = f32(rows * dim);
      be.kernels.softmax(x, y1, rows, dim);
      refKernels.softmax(x, y2, rows, dim);
      close(y1, y2, 'softmax');
      const gy = f32(rows * dim), g1 = f32(rows * dim), g2 = f32(rows * dim);
      be.kernels.softmaxBackward(y2, gy, g1, rows, dim);
      refKernels.softmaxBackward(y2, gy, g2, rows, dim);
      close(g1, g2, 'softmaxBackward');

      const w = f32(dim, () => 1 + rand());
      const rs1 = f32(rows), rs2 = f32(rows);
      be.kernels.rmsnorm(x, w, y1, rs1, rows, dim, 1e-5);
      refKernels.rmsnorm(x, w, y2, rs2, rows, dim, 1e-5);
      close(y1, y2, 'rmsnorm');
      close(rs1, rs2, 'rmsnorm rstd');
      const gw1 = f32(dim), gw2 = clone(gw1);
      be.kernels.rmsnormBackward(x, w, rs2, gy, g1, gw1, rows, dim);
      refKernels.rmsnormBackward(x, w, rs2, gy, g2, gw2, rows, dim);
      close(g1, g2, 'rmsnormBackward gx');
      close(gw1, gw2, 'rmsnormBackward gw');

      for (const affineRows of [1, 3]) {
        const lw = f32(affineRows * dim), lb = f32(affineRows * dim);
        const mu1 = f32(rows), mu2 = f32(rows);
        for (const [ww, bb] of [
          [lw, lb],
          [null, null],
          [lw, null],
        ] as [Float32Array | null, Float32Array | null][]) {
          be.kernels.layernorm(x, ww, bb, y1, mu1, rs1, rows, dim, affineRows, 1e-5);
          refKernels.layernorm(x, ww, bb, y2, mu2, rs2, rows, dim, affineRows, 1e-5);
          close(y1, y2, `layernorm A=${affineRows}`);
          close(mu1, mu2, 'layernorm mean');
          close(rs1, rs2, 'layernorm rstd');
          const lgw1 = ww ? f32(affineRows * dim) : null, lgb1 = bb ? f32(affineRows * dim) : null;
          const lgw2 = lgw1 ? clone(lgw1) : null, lgb2 = lgb1 ? clone(lgb1) : null;
          be.kernels.layernormBackward(x, ww, mu2, rs2, gy, g1, lgw1, lgb1, rows, dim, affineRows);
          refKernels.layernormBackward(x, ww, mu2, rs2, gy, g2, lgw2, lgb2, rows, dim, affineRows);
          close(g1, g2, 'layernormBackward gx');
          if (lgw1 && lgw2) close(lgw1, lgw2, 'layernormBackward gw');
          if (lgb1 && lgb2) close(lgb1, lgb2, 'layernormBackward gb');
        }
      }

      const targets = i32(rows, (r) => (r % 5 === 4 ? -100 : (r * 7) % dim));
      const l1 = f32(rows), l2 = f32(rows), lse1 = f32(rows), lse2 = f32(rows);
      be.kernels.crossEntropy(x, targets, l1, lse1, rows, dim, -100);
      refKernels.crossEntropy(x, targets, l2, lse2, rows, dim, -100);
      close(l1, l2, 'crossEntropy loss');
      close(lse1, lse2, 'crossEntropy lse');
      be.kernels.crossEntropyBackward(x, targets, lse2, g1, rows, dim, -100, 0.25, 0.01);
      refKernels.crossEntropyBackward(x, targets, lse2, g2, rows, dim, -100, 0.25, 0.01);
      close(g1, g2, 'crossEntropyBackward');
      const l3 = f32(rows), lse3 = f32(rows), g3 = f32(rows * dim);
      be.kernels.crossEntropyWithGrad(x, targets, l3, lse3, g3, rows, dim, -100, 0.25, 0.01);
      close(l3, l2, 'crossEntropyWithGrad loss');
      close(lse3, lse2, 'crossEntropyWithGrad lse');
      close(g3, g2, 'crossEntropyWithGrad gradient');
      const l4 = f32(rows), lse4 = f32(rows), g4 = f32(rows * dim);
      refKernels.crossEntropyWithGrad(x, targets, l4, lse4, g4, rows, dim, -100, 0.25, 0.01);
      close(g4, g2, 'ref crossEntropyWithGrad gradient');
    });
  }

  it('norm weight gradients: row-pass partials accumulate into gw/gb; rows wider than scratch take the column pass', () => {
    const stride = be.scratchAddress(1) - be.scratchAddress(0);
    // rows × dim: split across threads (partials per participant), and a dim whose f64 partials exceed scratch.
    for (const [rows, dim] of [
      [200, 260],
      [2, Math.ceil(stride / 8) + 5],
    ]) {
      const x = f32(rows * dim, () => rand() * 4);
      const gy = f32(rows * dim), g1 = f32(rows * dim), g2 = f32(rows * dim);
      const w = f32(dim, () => 1 + rand());
      const rs = f32(rows, () => 1 + rand()), mu = f32(rows);
      // Non-zero starting gradients: the kernels must add to them.
      const gw1 = f32(dim), gw2 = clone(gw1);
      be.kernels.rmsnormBackward(x, w, rs, gy, g1, gw1, rows, dim);
      refKernels.rmsnormBackward(x, w, rs, gy, g2, gw2, rows, dim);
      close(g1, g2, `rmsnormBackward gx dim=${dim}`);
      close(gw1, gw2, `rmsnormBackward gw dim=${dim}`);
      const lb1 = f32(dim), lb2 = clone(lb1), lw1 = f32(dim), lw2 = clone(lw1);
      be.kernels.layernormBackward(x, w, mu, rs, gy, g1, lw1, lb1, rows, dim, 1);
      refKernels.layernormBackward(x, w, mu, rs, gy, g2, lw2, lb2, rows, dim, 1);
      close(g1, g2, `layernormBackward gx dim=${dim}`);
      close(lw1, lw2, `layernormBackward gw dim=${dim}`);
      close(lb1, lb2, `layernormBackward gb dim=${dim}`);
    }
  });

  it('reduce sum/max over inner = 1 and inner > 1', () => {
    for (const [outer, len, inner] of [
      [5, 33, 1],
      [2, 17, 300],
      [400, 300, 1],
      [1, 500, 301],
    ]) {
      const x = f32(outer * len * inner);
      for (const op of ['sum', 'max'] as const) {
        const o1 = f32(outer * inner), o2 = f32(outer * inner);
        be.kernels.reduce(op, x, o1, outer, len, inner);
        refKernels.reduce(op, x, o2, outer, len, inner);
        close(o1, o2, `reduce ${op} ${outer}x${len}x${inner}`);
      }
    }
  });

  it('rope forward and inverse (cos/sin per distinct position, or per row when positions spread wider)', () => {
    for (const [batch, t, heads, dim] of [
      [1, 3, 2, 6],
      [2, 64, 8, 64],
      [3, 40, 4, 10],
    ]) {
      const x = f32(batch * t * heads * dim);
      const patterns: [string, (i: number) => number][] = [
        ['spread', (i) => (i * 37) % 5000], // range > rows: one table row per x row
        ['per batch', (i) => (i % t) + 7], // every batch row at positions 7..t+6: one table row per position
        ['repeats', (i) => 3 - ((i * 5) % 4)], // small range incl. negatives, out of order
      ];
      for (const [name, gen] of patterns) {
        const pos = i32(batch * t, gen);
        for (const inverse of [false, true]) {
          const o1 = f32(x.length), o2 = f32(x.length);
          be.kernels.rope(x, o1, pos, batch, t, heads, dim, 10000, inverse);
          refKernels.rope(x, o2, pos, batch, t, heads, dim, 10000, inverse);
          close(o1, o2, `rope ${name} ${batch}x${t}x${heads}x${dim} inverse=${inverse}`);
        }
      }
    }
  });

  it('attention forward (masks, GQA, KV-cache stride) and backward', () => {
    const cases: AttentionParams[] = [
      { batch: 2, tq: 5, tk: 5, hq: 4, hkv: 2, dim: 8, scale: 0.35, causal: true, qOffset: 0, kvBatchStride: 5 * 2 * 8, keyStart: null, segIds: null },
      { batch: 2, tq: 3, tk: 9, hq: 2, hkv: 1, dim: 6, scale: 0.4, causal: true, qOffset: 6, kvBatchStride: 12 * 1 * 6, keyStart: null, segIds: null },
      { batch: 2, tq: 7, tk: 7, hq: 2, hkv: 2, dim: 5, scale: 0.5, causal: false, qOffset: 0, kvBatchStride: 7 * 2 * 5, keyStart: null, segIds: null },
      { batch: 3, tq: 64, tk: 64, hq: 4, hkv: 4, dim: 32, scale: 0.18, causal: true, qOffset: 0, kvBatchStride: 64 * 4 * 32, keyStart: null, segIds: null },
    ];
    cases.push({ ...cases[0], keyStart: i32(2, (b) => b * 2), segIds: i32(2 * 5, (i) => (i % 5 < 3 ? 0 : 1)) });
    // The native training kernels (dim % 8 == 0): tq not a multiple of 4, tk not a multiple of 8,
    // GQA, a cache offset with a padded stride, left padding that leaves rows with no key, segments.
    cases.push({ batch: 2, tq: 6, tk: 11, hq: 4, hkv: 2, dim: 16, scale: 0.3, causal: true, qOffset: 5, kvBatchStride: 13 * 2 * 16, keyStart: i32(2, (b) => 3 + b * 4), segIds: null });
    cases.push({ batch: 2, tq: 13, tk: 13, hq: 2, hkv: 1, dim: 8, scale: 0.45, causal: true, qOffset: 0, kvBatchStride: 13 * 8, keyStart: null, segIds: i32(2 * 13, (i) => ((i % 13) * 7) % 3) });
    cases.push({ batch: 1, tq: 9, tk: 20, hq: 2, hkv: 2, dim: 24, scale: 0.2, causal: false, qOffset: 0, kvBatchStride: 20 * 2 * 24, keyStart: i32(1, () => 6), segIds: null });
    // Packed keys/values larger than per-thread scratch: the training kernels work in a reserved heap region.
    cases.push({ batch: 2, tq: 6, tk: 2200, hq: 2, hkv: 1, dim: 128, scale: 0.09, causal: true, qOffset: 2194, kvBatchStride: 2200 * 128, keyStart: null, segIds: null });
    for (const p of cases) {
      const q = f32(p.batch * p.tq * p.hq * p.dim);
      const k = f32(p.batch * p.kvBatchStride);
      const v = f32(p.batch * p.kvBatchStride);
      const o1 = f32(q.length), o2 = f32(q.length);
      const l1 = f32(p.batch * p.hq * p.tq), l2 = f32(l1.length);
      be.kernels.attention(q, k, v, o1, l1, p);
      refKernels.attention(q, k, v, o2, l2, p);
      close(o1, o2, 'attention out');
      close(l1, l2, 'attention lse');
      be.kernels.attention(q, k, v, o1, null, p);
      close(o1, o2, 'attention out without lse');
      const gOut = f32(q.length);
      const kvDense = p.batch * p.tk * p.hkv * p.dim;
      const gq1 = f32(q.length), gq2 = f32(q.length), gk1 = f32(kvDense), gk2 = f32(kvDense), gv1 = f32(kvDense), gv2 = f32(kvDense);
      be.kernels.attentionBackward(q, k, v, o2, l2, gOut, gq1, gk1, gv1, p);
      refKernels.attentionBackward(q, k, v, o2, l2, gOut, gq2, gk2, gv2, p);
      close(gq1, gq2, 'attention gq');
      close(gk1, gk2, 'attention gk');
      close(gv1, gv2, 'attention gv');
    }
  });

  it('attention forward over bf16 keys/values (half-size KV cache) matches ref, incl. odd head dims', () => {
    const cases: AttentionParams[] = [
      { batch: 2, tq: 1, tk: 9, hq: 4, hkv: 2, dim: 8, scale: 0.35, causal: true, qOffset: 8, kvBatchStride: 12 * 2 * 8, keyStart: null, segIds: null, kvDtype: 'bf16' },
      { batch: 3, tq: 2, tk: 40, hq: 8, hkv: 8, dim: 64, scale: 0.125, causal: true, qOffset: 38, kvBatchStride: 48 * 8 * 64, keyStart: null, segIds: null, kvDtype: 'bf16' },
      { batch: 2, tq: 3, tk: 7, hq: 2, hkv: 1, dim: 6, scale: 0.4, causal: true, qOffset: 4, kvBatchStride: 7 * 6, keyStart: null, segIds: null, kvDtype: 'bf16' },
    ];
    cases.push({ ...cases[1], keyStart: i32(3, (b) => b * 5) });
    for (const p of cases) {
      const q = f32(p.batch * p.tq * p.hq * p.dim);
      const k = bf16Of(f32(p.batch * p.kvBatchStride));
      const v = bf16Of(f32(p.batch * p.kvBatchStride));
      const o1 = f32(q.length), o2 = f32(q.length);
      be.kernels.attention(q, k, v, o1, null, p);
      refKernels.attention(q, k, v, o2, null, p);
      close(o1, o2, `bf16 attention dim ${p.dim}`);
      assert.ok(o2.some((x) => x !== 0), 'non-trivial output');
    }
  });

  it('groupnorm forward (statistics over a group\'s contiguous channels) matches ref', () => {
    for (const [n, c, hw, groups] of [
      [2, 8, 5, 4],
      [1, 64, 1024, 32],
      [2, 128, 4096, 32],
    ]) {
      const x = f32(n * c * hw, () => rand() * 3 + 1.5), w = f32(c), b = f32(c);
      const o1 = f32(x.length), o2 = f32(x.length);
      const m1 = f32(n * groups), m2 = f32(n * groups), r1 = f32(n * groups), r2 = f32(n * groups);
      be.kernels.groupnorm(x, w, b, o1, m1, r1, n, c, hw, groups, 1e-6);
      refKernels.groupnorm(x, w, b, o2, m2, r2, n, c, hw, groups, 1e-6);
      close(o1, o2, `groupnorm out ${c}x${hw}`);
      close(m1, m2, 'groupnorm mean');
      close(r1, r2, 'groupnorm rstd');
      be.kernels.groupnorm(x, w, b, o1, null, null, n, c, hw, groups, 1e-6);
      close(o1, o2, 'groupnorm out without statistics');
    }
  });

  it('dropout is bit-identical to the ref kernel (same mask, same scaled values)', () => {
    for (const n of [7, 70001]) {
      const x = f32(n);
      for (const [p, seed] of [
        [0.1, 1],
        [0.5, 12345],
        [1 / 3, 0xfffffffe],
        [0.9, 7],
      ]) {
        const o1 = f32(n), o2 = f32(n);
        be.kernels.dropout(x, o1, p, seed);
        refKernels.dropout(x, o2, p, seed);
        assert.deepEqual(o1, o2, `dropout n=${n} p=${p} seed=${seed}`);
        const kept = o2.reduce((c, v) => c + (v !== 0 ? 1 : 0), 0) / n;
        if (n > 1000) assert.ok(Math.abs(kept - (1 - p)) < 0.02, `keep rate ${kept} for p=${p}`);
      }
    }
  });

  it('conv2d forward and backward (padding, stride, bias)', () => {
    const cases: Conv2dParams[] = [
      { n: 2, cin: 3, h: 7, w: 6, cout: 4, kh: 3, kw: 3, stride: 1, padT: 1, padL: 1, padB: 1, padR: 1, outH: 7, outW: 6 },
      { n: 1, cin: 2, h: 9, w: 9, cout: 5, kh: 4, kw: 2, stride: 2, padT: 0, padL: 1, padB: 1, padR: 0, outH: 4, outW: 5 },
      { n: 2, cin: 8, h: 16, w: 16, cout: 16, kh: 3, kw: 3, stride: 1, padT: 1, padL: 1, padB: 1, padR: 1, outH: 16, outW: 16 },
    ];
    for (const p of cases) {
      const x = f32(p.n * p.cin * p.h * p.w), w = f32(p.cout * p.cin * p.kh * p.kw), b = f32(p.cout);
      const outLen = p.n * p.cout * p.outH * p.outW;
      for (const bias of [b, null]) {
        const o1 = f32(outLen), o2 = f32(outLen);
        be.kernels.conv2d(x, w, bias, o1, p);
        refKernels.conv2d(x, w, bias, o2, p);
        close(o1, o2, 'conv2d');
      }
      const gy = f32(outLen);
      const gx1 = f32(x.length), gx2 = f32(x.length), gw1 = f32(w.length), gw2 = f32(w.length), gb1 = f32(p.cout), gb2 = f32(p.cout);
      be.kernels.conv2dBackward(x, w, gy, gx1, gw1, gb1, p);
      refKernels.conv2dBackward(x, w, gy, gx2, gw2, gb2, p);
      close(gx1, gx2, 'conv2d gx');
      close(gw1, gw2, 'conv2d gw');
      close(gb1, gb2, 'conv2d gb');
    }
  });

  it('gather (f32, bf16 table) and scatterAdd with repeated ids', () => {
    const rows = 50, dim = 130, n = 300;
    const table = f32(rows * dim);
    const ids = i32(n, (i) => (i * 13) % rows);
    const o1 = f32(n * dim), o2 = f32(n * dim);
    be.kernels.gather(table, 'f32', ids, o1, dim);
    refKernels.gather(table, 'f32', ids, o2, dim);
    close(o1, o2, 'gather f32');
    const r = be.reserve(rows * dim * 2);
    const tb = new Uint16Array(r.buffer, r.byteOffset, rows * dim);
    refKernels.cast(table, 'f32', tb, 'bf16');
    be.kernels.gather(tb, 'bf16', ids, o1, dim);
    refKernels.gather(tb, 'bf16', ids, o2, dim);
    close(o1, o2, 'gather bf16', 0);
    const g = f32(n * dim);
    const t1 = f32(rows * dim), t2 = clone(t1);
    be.kernels.scatterAdd(g, ids, t1, dim);
    refKernels.scatterAdd(g, ids, t2, dim);
    close(t1, t2, 'scatterAdd');
  });
});
