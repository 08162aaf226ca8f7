// Unit tests of the ref reductions and movement kernels: reduce sum/max over a middle axis and the max
// gradient, broadcast, 3-D and 4-D permutes, copyAxis (copy and accumulate), gather from f32/bf16/f16
// tables, and scatterAdd with repeated ids. Expected values are naive index loops or hand-worked.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../src/engine/dtype.js';
import { refKernels as K } from '../../src/engine/backends/ref/index.js';
import { assertClose, rand } from './ref-helpers.js';

test('reduce: sum and max over the middle axis of [outer, len, inner]', () => {
  const outer = 3;
  const len = 5;
  const inner = 4;
  const x = rand(outer * len * inner, 51, -3, 3);
  const sum = new Float32Array(outer * inner);
  const mx = new Float32Array(outer * inner);
  K.reduce('sum', x, sum, outer, len, inner);
  K.reduce('max', x, mx, outer, len, inner);
  const wantSum: number[] = [];
  const wantMax: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let s = 0;
      let m = -Infinity;
      for (let l = 0; l < len; l++) {
        const v = x[(o * len + l) * inner + i];
        s += v;
        m = Math.max(m, v);
      }
      wantSum.push(s);
      wantMax.push(m);
    }
  }
  assertClose(sum, wantSum, 1e-6, 1e-6, 'sum');
  assert.deepEqual(Array.from(mx), wantMax);
  // Hand-worked: [[1, 2], [3, 4]] reduced over rows (outer 1, len 2, inner 2) and over columns.
  const m2 = Float32Array.from([1, 2, 3, 4]);
  const o2 = new Float32Array(2);
  K.reduce('sum', m2, o2, 1, 2, 2);
  assert.deepEqual(Array.from(o2), [4, 6]);
  K.reduce('max', m2, o2, 2, 2, 1);
  assert.deepEqual(Array.from(o2), [2, 4]);
  K.reduce('max', Float32Array.from([1, NaN, 3]), o2, 1, 3, 1);
  assert.ok(Number.isNaN(o2[0]));
});

test('reduceMaxBackward: gradient goes to the first maximum only', () => {
  // outer 1, len 4, inner 2: column 0 = [1, 5, 5, 2] (max at l = 1 and 2), column 1 = [7, 0, 7, 7].
  const x = Float32Array.from([1, 7, 5, 0, 5, 7, 2, 7]);
  const y = new Float32Array(2);
  K.reduce('max', x, y, 1, 4, 2);
  const gy = Float32Array.from([10, 20]);
  const gx = new Float32Array(8).fill(99);
  K.reduceMaxBackward(x, y, gy, gx, 1, 4, 2);
  assert.deepEqual(Array.from(gx), [0, 20, 10, 0, 0, 0, 0, 0]);
});

test('broadcast: strided copy with zero strides, also of bf16 bits', () => {
  const x = Float32Array.from([1, 2, 3]);
  const out = new Float32Array(6);
  K.broadcast(x, out, [2, 3], [0, 1]);
  assert.deepEqual(Array.from(out), [1, 2, 3, 1, 2, 3]);
  K.broadcast(x, out, [3, 2], [1, 0]);
  assert.deepEqual(Array.from(out), [1, 1, 2, 2, 3, 3]);
  const bits = Uint16Array.from([f32ToBf16(1.5), f32ToBf16(-2)]);
  const ob = new Uint16Array(4);
  K.broadcast(bits, ob, [2, 2], [0, 1]);
  assert.deepEqual(Array.from(ob, (h) => bf16ToF32(h)), [1.5, -2, 1.5, -2]);
});

/** Naive permute via multi-index arithmetic. */
function naivePermute(x: Float32Array, inShape: number[], perm: number[]): Float32Array {
  const rank = inShape.length;
  const inStrides = new Array<number>(rank).fill(1);
  for (let d = rank - 2; d >= 0; d--) inStrides[d] = inStrides[d + 1] * inShape[d + 1];
  const outShape = perm.map((p) => inShape[p]);
  const out = new Float32Array(x.length);
  for (let flat = 0; flat < x.length; flat++) {
    let rem = flat;
    let src = 0;
    for (let d = rank - 1; d >= 0; d--) {
      const c = rem % outShape[d];
      rem = Math.floor(rem / outShape[d]);
      src += c * inStrides[perm[d]];
    }
    out[flat] = x[src];
  }
  return out;
}

test('permute: 2-D transpose hand-worked, every 3-D perm, 4-D [B,T,H,D] -> [B,H,T,D] and others', () => {
  const out6 = new Float32Array(6);
  K.permute(Float32Array.from([1, 2, 3, 4, 5, 6]), out6, [2, 3], [1, 0]);
  assert.deepEqual(Array.from(out6), [1, 4, 2, 5, 3, 6]);
  const s3 = [2, 3, 4];
  const x3 = rand(24, 61);
  for (const perm of [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
  ]) {
    const out = new Float32Array(24);
    K.permute(x3, out, s3, perm);
    assert.deepEqual(out, naivePermute(x3, s3, perm), `perm ${perm}`);
  }
  const s4 = [2, 3, 4, 5];
  const x4 = rand(120, 62);
  for (const perm of [
    [0, 2, 1, 3],
    [3, 1, 0, 2],
    [1, 3, 2, 0],
  ]) {
    const out = new Float32Array(120);
    K.permute(x4, out, s4, perm);
    assert.deepEqual(out, naivePermute(x4, s4, perm), `perm ${perm}`);
  }
  // A permute that only moves a size-1 axis is a plain copy.
  const out = new Float32Array(24);
  K.permute(x3, out, [2, 1, 12], [1, 0, 2]);
  assert.deepEqual(out, x3);
});

test('copyAxis: copies and accumulates slices along the middle axis', () => {
  // src [outer 2, srcLen 3, inner 2], dst [2, 4, 2]: copy src[:, 1:3] into dst[:, 2:4].
  const src = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const dst = new Float32Array(16).fill(-1);
  K.copyAxis(src, dst, 2, 2, 3, 1, 4, 2, 2, false);
  assert.deepEqual(Array.from(dst), [-1, -1, -1, -1, 3, 4, 5, 6, -1, -1, -1, -1, 9, 10, 11, 12]);
  K.copyAxis(src, dst, 2, 2, 3, 0, 4, 1, 2, true);
  assert.deepEqual(Array.from(dst), [-1, -1, 0, 1, 6, 8, 5, 6, -1, -1, 6, 7, 18, 20, 11, 12]);
  // Raw 16-bit storage copies bits unchanged.
  const b = Uint16Array.from([1, 2, 3, 4]);
  const bd = new Uint16Array(4);
  K.copyAxis(b, bd, 1, 1, 4, 0, 4, 0, 4, false);
  assert.deepEqual(bd, b);
});

test('gather: rows of f32, bf16 and f16 tables widened to f32', () => {
  const rows = 5;
  const dim = 3;
  const table = rand(rows * dim, 71, -8, 8);
  const ids = Int32Array.from([4, 0, 4, 2]);
  const out = new Float32Array(ids.length * dim);
  K.gather(table, 'f32', ids, out, dim);
  const want = (read: (i: number) => number): number[] => Array.from(ids).flatMap((id) => [0, 1, 2].map((j) => read(id * dim + j)));
  assert.deepEqual(Array.from(out), want((i) => table[i]));
  const tb = Uint16Array.from(table, (v) => f32ToBf16(v));
  K.gather(tb, 'bf16', ids, out, dim);
  assert.deepEqual(Array.from(out), want((i) => bf16ToF32(tb[i])));
  const th = Uint16Array.from(table, (v) => f32ToF16(v));
  K.gather(th, 'f16', ids, out, dim);
  assert.deepEqual(Array.from(out), want((i) => f16ToF32(th[i])));
});

test('scatterAdd: repeated ids accumulate, existing gradient kept', () => {
  const g = Float32Array.from([1, 2, 10, 20, 100, 200]);
  const ids = Int32Array.from([2, 0, 2]);
  const gTable = Float32Array.from([0.5, 0.5, 0, 0, 1, 1]);
  K.scatterAdd(g, ids, gTable, 2);
  assert.deepEqual(Array.from(gTable), [10.5, 20.5, 0, 0, 102, 203]);
});
