// Unit tests of the ref normalisation kernels: RMSNorm, LayerNorm (affineRows 1 and = heads, null
// affine) and GroupNorm forward against naive float64 formulas, saved statistics, and every backward
// (gx written; gw/gb accumulated) against float64 finite differences.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refKernels as K } from '../../src/engine/backends/ref/index.js';
import { assertClose, fdGrad, rand } from './ref-helpers.js';

function naiveRms(x: ArrayLike<number>, w: ArrayLike<number>, rows: number, dim: number, eps: number): Float64Array {
  const out = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let j = 0; j < dim; j++) ss += x[r * dim + j] ** 2;
    const rms = Math.sqrt(ss / dim + eps);
    for (let j = 0; j < dim; j++) out[r * dim + j] = (x[r * dim + j] / rms) * w[j];
  }
  return out;
}

function naiveLn(
  x: ArrayLike<number>,
  w: ArrayLike<number> | null,
  b: ArrayLike<number> | null,
  rows: number,
  dim: number,
  affineRows: number,
  eps: number,
): Float64Array {
  const out = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const row = Array.from({ length: dim }, (_, j) => x[r * dim + j]);
    const mu = row.reduce((s, v) => s + v, 0) / dim;
    const variance = row.reduce((s, v) => s + (v - mu) ** 2, 0) / dim;
    const a = (r % affineRows) * dim;
    for (let j = 0; j < dim; j++) {
      out[r * dim + j] = ((row[j] - mu) / Math.sqrt(variance + eps)) * (w ? w[a + j] : 1) + (b ? b[a + j] : 0);
    }
  }
  return out;
}

function naiveGn(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number>, n: number, c: number, hw: number, groups: number, eps: number): Float64Array {
  const out = new Float64Array(n * c * hw);
  const cpg = c / groups;
  for (let s = 0; s < n; s++) {
    for (let g = 0; g < groups; g++) {
      const vals: number[] = [];
      for (let ch = g * cpg; ch < (g + 1) * cpg; ch++) for (let j = 0; j < hw; j++) vals.push(x[(s * c + ch) * hw + j]);
      const mu = vals.reduce((a, v) => a + v, 0) / vals.length;
      const variance = vals.reduce((a, v) => a + (v - mu) ** 2, 0) / vals.length;
      for (let ch = g * cpg; ch < (g + 1) * cpg; ch++) {
        for (let j = 0; j < hw; j++) {
          const i = (s * c + ch) * hw + j;
          out[i] = ((x[i] - mu) / Math.sqrt(variance + eps)) * w[ch] + b[ch];
        }
      }
    }
  }
  return out;
}

test('rmsnorm: forward and rstd vs naive; hand-worked row', () => {
  const rows = 4;
  const dim = 8;
  const x = rand(rows * dim, 81, -2, 2);
  const w = rand(dim, 82, 0.5, 1.5);
  const out = new Float32Array(rows * dim);
  const rstd = new Float32Array(rows);
  K.rmsnorm(x, w, out, rstd, rows, dim, 1e-5);
  assertClose(out, naiveRms(x, w, rows, dim, 1e-5), 1e-6, 1e-5, 'rmsnorm');
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let j = 0; j < dim; j++) ss += x[r * dim + j] ** 2;
    assertClose([rstd[r]], [1 / Math.sqrt(ss / dim + 1e-5)], 0, 1e-6, 'rstd');
  }
  // [3, 4]: mean square 12.5, eps 0 -> [3, 4] / sqrt(12.5); rstd may be null.
  const o2 = new Float32Array(2);
  K.rmsnorm(Float32Array.from([3, 4]), Float32Array.from([1, 2]), o2, null, 1, 2, 0);
  assertClose(o2, [3 / Math.sqrt(12.5), 8 / Math.sqrt(12.5)], 0, 1e-6);
});

test('rmsnormBackward: gx and accumulated gw vs finite differences', () => {
  const rows = 3;
  const dim = 6;
  const eps = 1e-5;
  const x = rand(rows * dim, 83, -2, 2);
  const w = rand(dim, 84, 0.5, 1.5);
  const gy = rand(rows * dim, 85);
  const out = new Float32Array(rows * dim);
  const rstd = new Float32Array(rows);
  K.rmsnorm(x, w, out, rstd, rows, dim, eps);
  const gx = new Float32Array(rows * dim);
  const gw = Float32Array.from({ length: dim }, () => 0.25);
  K.rmsnormBackward(x, w, rstd, gy, gx, gw, rows, dim);
  assertClose(gx, fdGrad((xs) => naiveRms(xs, w, rows, dim, eps), x, gy), 1e-5, 1e-4, 'gx');
  const wantGw = fdGrad((ws) => naiveRms(x, ws, rows, dim, eps), w, gy).map((v) => v + 0.25);
  assertClose(gw, wantGw, 1e-5, 1e-4, 'gw');
});

test('layernorm: forward vs naive with affineRows 1, affineRows = heads, and null affine', () => {
  const heads = 3;
  const rows = 2 * heads;
  const dim = 8;
  const eps = 1e-5;
  const x = rand(rows * dim, 91, -2, 3);
  for (const affineRows of [1, heads]) {
    const w = rand(affineRows * dim, 92, 0.5, 1.5);
    const b = rand(affineRows * dim, 93);
    const out = new Float32Array(rows * dim);
    const mean = new Float32Array(rows);
    const rstd = new Float32Array(rows);
    K.layernorm(x, w, b, out, mean, rstd, rows, dim, affineRows, eps);
    assertClose(out, naiveLn(x, w, b, rows, dim, affineRows, eps), 1e-6, 1e-5, `affineRows ${affineRows}`);
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += x[r * dim + j];
      assertClose([mean[r]], [s / dim], 1e-7, 1e-6, 'mean');
    }
    K.layernorm(x, w, null, out, null, null, rows, dim, affineRows, eps);
    assertClose(out, naiveLn(x, w, null, rows, dim, affineRows, eps), 1e-6, 1e-5, 'no bias');
  }
  const out = new Float32Array(rows * dim);
  K.layernorm(x, null, null, out, null, null, rows, dim, 1, eps);
  assertClose(out, naiveLn(x, null, null, rows, dim, 1, eps), 1e-6, 1e-5, 'no affine');
  // Hand-worked: [1, 3] -> mean 2, biased var 1 -> [-1, 1] (eps 0).
  const o2 = new Float32Array(2);
  K.layernorm(Float32Array.from([1, 3]), null, null, o2, null, null, 1, 2, 1, 0);
  assert.deepEqual(Array.from(o2), [-1, 1]);
});

test('layernormBackward: gx, gw, gb vs finite differences (affineRows 1 and = heads, nulls)', () => {
  const heads = 2;
  const rows = 3 * heads;
  const dim = 5;
  const eps = 1e-5;
  const x = rand(rows * dim, 94, -2, 2);
  const gy = rand(rows * dim, 95);
  for (const affineRows of [1, heads]) {
    const w = rand(affineRows * dim, 96, 0.5, 1.5);
    const b = rand(affineRows * dim, 97);
    const out = new Float32Array(rows * dim);
    const mean = new Float32Array(rows);
    const rstd = new Float32Array(rows);
    K.layernorm(x, w, b, out, mean, rstd, rows, dim, affineRows, eps);
    const gx = new Float32Array(rows * dim);
    const gw = new Float32Array(affineRows * dim).fill(1);
    const gb = new Float32Array(affineRows * dim).fill(-1);
    K.layernormBackward(x, w, mean, rstd, gy, gx, gw, gb, rows, dim, affineRows);
    assertClose(gx, fdGrad((xs) => naiveLn(xs, w, b, rows, dim, affineRows, eps), x, gy), 1e-5, 1e-4, 'gx');
    const wantGw = fdGrad((ws) => naiveLn(x, ws, b, rows, dim, affineRows, eps), w, gy).map((v) => v + 1);
    assertClose(gw, wantGw, 1e-5, 1e-4, 'gw');
    const wantGb = fdGrad((bs) => naiveLn(x, w, bs, rows, dim, affineRows, eps), b, gy).map((v) => v - 1);
    assertClose(gb, wantGb, 1e-5, 1e-4, 'gb');
    // gw and gb may be null; gx is the same.
    const gx2 = new Float32Array(rows * dim);
    K.layernormBackward(x, w, mean, rstd, gy, gx2, null, null, rows, dim, affineRows);
    assert.deepEqual(gx2, gx);
  }
  // No affine at all.
  const mean = new Float32Array(rows);
  const rstd = new Float32Array(rows);
  K.layernorm(x, null, null, new Float32Array(rows * dim), mean, rstd, rows, dim, 1, eps);
  const gx = new Float32Array(rows * dim);
  K.layernormBackward(x, null, mean, rstd, gy, gx, null, null, rows, dim, 1);
  assertClose(gx, fdGrad((xs) => naiveLn(xs, null, null, rows, dim, 1, eps), x, gy), 1e-5, 1e-4, 'gx no affine');
});

test('groupnorm: forward, mean/rstd vs naive (32 groups of 2 channels, eps 1e-6)', () => {
  const n = 2;
  const c = 64;
  const hw = 6;
  const groups = 32;
  const eps = 1e-6;
  const x = rand(n * c * hw, 101, -3, 3);
  const w = rand(c, 102, 0.5, 1.5);
  const b = rand(c, 103);
  const out = new Float32Array(n * c * hw);
  const mean = new Float32Array(n * groups);
  const rstd = new Float32Array(n * groups);
  K.groupnorm(x, w, b, out, mean, rstd, n, c, hw, groups, eps);
  assertClose(out, naiveGn(x, w, b, n, c, hw, groups, eps), 1e-6, 1e-5, 'groupnorm');
  let s = 0;
  for (let j = 0; j < 2 * hw; j++) s += x[(1 * c + 2 * 5) * hw + j];
  assertClose([mean[groups + 5]], [s / (2 * hw)], 1e-7, 1e-6, 'mean[1, 5]');
  const out2 = new Float32Array(n * c * hw);
  K.groupnorm(x, w, b, out2, null, null, n, c, hw, groups, eps);
  assert.deepEqual(out2, out);
});

test('groupnormBackward: gx, gw, gb vs finite differences', () => {
  const n = 2;
  const c = 6;
  const hw = 4;
  const groups = 3;
  const eps = 1e-6;
  const x = rand(n * c * hw, 104, -2, 2);
  const w = rand(c, 105, 0.5, 1.5);
  const b = rand(c, 106);
  const gy = rand(n * c * hw, 107);
  const mean = new Float32Array(n * groups);
  const rstd = new Float32Array(n * groups);
  K.groupnorm(x, w, b, new Float32Array(n * c * hw), mean, rstd, n, c, hw, groups, eps);
  const gx = new Float32Array(n * c * hw);
  const gw = new Float32Array(c).fill(0.5);
  const gb = new Float32Array(c).fill(0.5);
  K.groupnormBackward(x, w, mean, rstd, gy, gx, gw, gb, n, c, hw, groups);
  assertClose(gx, fdGrad((xs) => naiveGn(xs, w, b, n, c, hw, groups, eps), x, gy), 1e-5, 1e-4, 'gx');
  assertClose(gw, fdGrad((ws) => naiveGn(x, ws, b, n, c, hw, groups, eps), w, gy).map((v) => v + 0.5), 1e-5, 1e-4, 'gw');
  assertClose(gb, fdGrad((bs) => naiveGn(x, w, bs, n, c, hw, groups, eps), b, gy).map((v) => v + 0.5), 1e-5, 1e-4, 'gb');
});
