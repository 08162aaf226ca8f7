// Unit tests of the ref training kernels: dropout (determinism, keep rate, scaling, seed sensitivity),
// cross entropy with ignoreIndex and its z-loss backward vs finite differences, SwiGLU and its
// backward, AdamW against the written-out formula over several steps, and sumSquares.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dropoutUniform, refKernels as K } from '../../src/engine/backends/ref/index.js';
import { assertClose, fdGrad, rand } from './ref-helpers.js';

test('dropout: same seed same mask, keep rate ≈ 1 − p, kept values scaled by 1/(1 − p), seeds differ', () => {
  const n = 20000;
  const p = 0.3;
  const x = rand(n, 301, 0.5, 1.5);
  const a = new Float32Array(n);
  const b = new Float32Array(n);
  K.dropout(x, a, p, 42);
  K.dropout(x, b, p, 42);
  assert.deepEqual(a, b);
  let kept = 0;
  for (let i = 0; i < n; i++) {
    if (a[i] !== 0) {
      kept++;
      assert.equal(a[i], Math.fround(x[i] / (1 - p)));
      assert.ok(dropoutUniform(42, i) >= p);
    } else {
      assert.ok(dropoutUniform(42, i) < p);
    }
  }
  const rate = kept / n;
  // Binomial std ≈ sqrt(0.21 / 20000) ≈ 0.0032; allow 5 sigma.
  assert.ok(Math.abs(rate - (1 - p)) < 0.016, `keep rate ${rate}`);
  const c = new Float32Array(n);
  K.dropout(x, c, p, 43);
  let differ = 0;
  for (let i = 0; i < n; i++) if ((a[i] === 0) !== (c[i] === 0)) differ++;
  // Independent masks disagree on about 2·p·(1 − p) = 42% of elements.
  assert.ok(differ > 0.3 * n, `masks of seeds 42 and 43 differ at ${differ} of ${n}`);
  // The backward pass is the same call on gy: the same mask and scale.
  const gy = new Float32Array(n).fill(1);
  const gx = new Float32Array(n);
  K.dropout(gy, gx, p, 42);
  for (let i = 0; i < n; i++) assert.equal(gx[i] !== 0, a[i] !== 0);
  // p = 0 keeps everything unchanged; p = 1 drops everything.
  K.dropout(x, c, 0, 7);
  assert.deepEqual(c, x);
  K.dropout(x, c, 1, 7);
  assert.ok(c.every((v) => v === 0));
  // Uniforms lie in [0, 1).
  for (let i = 0; i < 1000; i++) {
    const u = dropoutUniform(i * 7919, i);
    assert.ok(u >= 0 && u < 1);
  }
});

/** mean CE over valid rows + zCoef · mean lse² over valid rows, float64. */
function ceLoss(z: ArrayLike<number>, targets: Int32Array, rows: number, vocab: number, ignore: number, zCoef: number): number {
  let ce = 0;
  let zl = 0;
  let count = 0;
  for (let r = 0; r < rows; r++) {
    if (targets[r] === ignore) continue;
    let mx = -Infinity;
    for (let j = 0; j < vocab; j++) mx = Math.max(mx, z[r * vocab + j]);
    let s = 0;
    for (let j = 0; j < vocab; j++) s += Math.exp(z[r * vocab + j] - mx);
    const lse = mx + Math.log(s);
    ce += lse - z[r * vocab + targets[r]];
    zl += lse * lse;
    count++;
  }
  return ce / count + (zCoef * zl) / count;
}

test('crossEntropy: losses and lse vs naive, ignored rows give 0, large logits stay finite', () => {
  const rows = 4;
  const vocab = 6;
  const z = rand(rows * vocab, 311, -3, 3);
  const targets = Int32Array.from([2, -100, 5, 0]);
  const losses = new Float32Array(rows).fill(9);
  const lse = new Float32Array(rows);
  K.crossEntropy(z, targets, losses, lse, rows, vocab, -100);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < vocab; j++) s += Math.exp(z[r * vocab + j]);
    assertClose([lse[r]], [Math.log(s)], 1e-6, 1e-6, `lse ${r}`);
    const want = targets[r] === -100 ? 0 : Math.log(s) - z[r * vocab + targets[r]];
    assertClose([losses[r]], [want], 1e-6, 1e-6, `loss ${r}`);
  }
  // Hand-worked: uniform logits over 4 classes -> loss log 4; huge logits do not overflow.
  const l1 = new Float32Array(2);
  const s1 = new Float32Array(2);
  K.crossEntropy(Float32Array.from([1, 1, 1, 1, 1000, 0, 0, 0]), Int32Array.from([3, 0]), l1, s1, 2, 4, -1);
  assertClose(l1, [Math.log(4), 0], 1e-6, 1e-6, 'hand-worked');
  assertClose([s1[1]], [1000], 0, 1e-7, 'lse of large logit');
});

test('crossEntropyBackward: matches d/dz of (mean CE + zCoef · mean lse²) by finite differences', () => {
  const rows = 5;
  const vocab = 7;
  const ignore = -1;
  const zCoef = 1e-2;
  const g = 1.5;
  const z = rand(rows * vocab, 321, -3, 3);
  const targets = Int32Array.from([3, -1, 0, 6, -1]);
  const losses = new Float32Array(rows);
  const lse = new Float32Array(rows);
  K.crossEntropy(z, targets, losses, lse, rows, vocab, ignore);
  const count = 3;
  const gl = new Float32Array(rows * vocab).fill(9);
  K.crossEntropyBackward(z, targets, lse, gl, rows, vocab, ignore, g / count, (g * 2 * zCoef) / count);
  const want = fdGrad((zs) => [g * ceLoss(zs, targets, rows, vocab, ignore, zCoef)], z, [1]);
  assertClose(gl, want, 1e-6, 1e-4, 'gLogits');
  for (const r of [1, 4]) assert.ok(gl.subarray(r * vocab, (r + 1) * vocab).every((v) => v === 0), `ignored row ${r}`);
});

test('swiglu and swigluBackward: silu(g)·u and finite-difference gradients', () => {
  const n = 40;
  const gIn = rand(n, 331, -4, 4);
  const u = rand(n, 332, -2, 2);
  const out = new Float32Array(n);
  K.swiglu(gIn, u, out);
  const f = (gs: ArrayLike<number>, us: ArrayLike<number>): Float64Array => Float64Array.from({ length: n }, (_, i) => (gs[i] / (1 + Math.exp(-gs[i]))) * us[i]);
  assertClose(out, f(gIn, u), 1e-7, 1e-6, 'swiglu');
  const gy = rand(n, 333);
  const gg = new Float32Array(n);
  const gu = new Float32Array(n);
  K.swigluBackward(gIn, u, gy, gg, gu);
  assertClose(gg, fdGrad((gs) => f(gs, u), gIn, gy), 1e-6, 1e-4, 'gg');
  assertClose(gu, fdGrad((us) => f(gIn, us), u, gy), 1e-6, 1e-4, 'gu');
});

test('adamw: decoupled weight decay, moments and bias correction over three steps', () => {
  const n = 16;
  const hp = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
  const param = rand(n, 341);
  const m = new Float32Array(n);
  const v = new Float32Array(n);
  const P = Array.from(param);
  const M = new Array<number>(n).fill(0);
  const V = new Array<number>(n).fill(0);
  for (let step = 1; step <= 3; step++) {
    const grad = rand(n, 342 + step);
    K.adamw(param, grad, m, v, { ...hp, step });
    for (let i = 0; i < n; i++) {
      P[i] -= hp.lr * hp.weightDecay * P[i];
      M[i] = hp.beta1 * M[i] + (1 - hp.beta1) * grad[i];
      V[i] = hp.beta2 * V[i] + (1 - hp.beta2) * grad[i] ** 2;
      const mh = M[i] / (1 - hp.beta1 ** step);
      const vh = V[i] / (1 - hp.beta2 ** step);
      P[i] -= (hp.lr * mh) / (Math.sqrt(vh) + hp.eps);
    }
    assertClose(m, M, 1e-7, 1e-5, `m step ${step}`);
    assertClose(v, V, 1e-9, 1e-5, `v step ${step}`);
    assertClose(param, P, 1e-6, 1e-5, `param step ${step}`);
  }
  // Hand-worked first step: m̂ = g, v̂ = g², so the update is lr · g / (|g| + eps) = lr · sign(g).
  const p1 = Float32Array.from([1, -1]);
  K.adamw(p1, Float32Array.from([3, -0.5]), new Float32Array(2), new Float32Array(2), { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 0, weightDecay: 0, step: 1 });
  assertClose(p1, [0.9, -0.9], 1e-6, 0, 'first step');
});

test('sumSquares: float64 accumulation', () => {
  assert.equal(K.sumSquares(Float32Array.from([3, 4, -12])), 169);
  assert.equal(K.sumSquares(new Float32Array(0)), 0);
  // 2^24 + 4 ones: an f32 accumulator would stall at 2^24, float64 does not.
  const x = new Float32Array((1 << 24) + 4).fill(1);
  assert.equal(K.sumSquares(x), (1 << 24) + 4);
});
