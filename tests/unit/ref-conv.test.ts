// Unit tests of the ref conv2d (3x3 pad 1, 1x1, VQGAN downsample 3x3 stride 2 with right/bottom pad,
// with and without bias) against a naive float64 convolution, conv2dBackward against finite
// differences, and nearest upsampling with its backward, including hand-worked values.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Conv2dParams } from '../../src/engine/kernels.js';
import { refKernels as K } from '../../src/engine/backends/ref/index.js';
import { assertClose, fdGrad, rand } from './ref-helpers.js';

function convParams(o: Omit<Conv2dParams, 'outH' | 'outW'>): Conv2dParams {
  return {
    ...o,
    outH: Math.floor((o.h + o.padT + o.padB - o.kh) / o.stride) + 1,
    outW: Math.floor((o.w + o.padL + o.padR - o.kw) / o.stride) + 1,
  };
}

function naiveConv(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, p: Conv2dParams): Float64Array {
  const out = new Float64Array(p.n * p.cout * p.outH * p.outW);
  for (let n = 0; n < p.n; n++) {
    for (let co = 0; co < p.cout; co++) {
      for (let oy = 0; oy < p.outH; oy++) {
        for (let ox = 0; ox < p.outW; ox++) {
          let s = b ? b[co] : 0;
          for (let ci = 0; ci < p.cin; ci++) {
            for (let ky = 0; ky < p.kh; ky++) {
              for (let kx = 0; kx < p.kw; kx++) {
                const iy = oy * p.stride - p.padT + ky;
                const ix = ox * p.stride - p.padL + kx;
                if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) continue;
                s += w[((co * p.cin + ci) * p.kh + ky) * p.kw + kx] * x[((n * p.cin + ci) * p.h + iy) * p.w + ix];
              }
            }
          }
          out[((n * p.cout + co) * p.outH + oy) * p.outW + ox] = s;
        }
      }
    }
  }
  return out;
}

const CASES: [string, Omit<Conv2dParams, 'outH' | 'outW'>][] = [
  ['3x3 pad 1 stride 1', { n: 2, cin: 3, h: 5, w: 6, cout: 4, kh: 3, kw: 3, stride: 1, padT: 1, padL: 1, padB: 1, padR: 1 }],
  ['1x1', { n: 2, cin: 3, h: 4, w: 3, cout: 5, kh: 1, kw: 1, stride: 1, padT: 0, padL: 0, padB: 0, padR: 0 }],
  ['3x3 stride 2 pad right/bottom', { n: 1, cin: 2, h: 6, w: 8, cout: 3, kh: 3, kw: 3, stride: 2, padT: 0, padL: 0, padB: 1, padR: 1 }],
  ['3x3 stride 2 pad 1 odd size', { n: 1, cin: 2, h: 5, w: 7, cout: 2, kh: 3, kw: 3, stride: 2, padT: 1, padL: 1, padB: 1, padR: 1 }],
];

test('conv2d: all shapes vs naive, with and without bias', () => {
  CASES.forEach(([name, o], ci) => {
    const p = convParams(o);
    const x = rand(p.n * p.cin * p.h * p.w, 201 + ci);
    const w = rand(p.cout * p.cin * p.kh * p.kw, 211 + ci);
    const b = rand(p.cout, 221 + ci);
    const out = new Float32Array(p.n * p.cout * p.outH * p.outW).fill(5);
    K.conv2d(x, w, b, out, p);
    assertClose(out, naiveConv(x, w, b, p), 1e-6, 1e-5, `${name} bias`);
    K.conv2d(x, w, null, out, p);
    assertClose(out, naiveConv(x, w, null, p), 1e-6, 1e-5, `${name} no bias`);
  });
});

test('conv2d: hand-worked ones kernel with pad 1 counts the in-bounds taps', () => {
  const p = convParams({ n: 1, cin: 1, h: 3, w: 3, cout: 1, kh: 3, kw: 3, stride: 1, padT: 1, padL: 1, padB: 1, padR: 1 });
  const out = new Float32Array(9);
  K.conv2d(new Float32Array(9).fill(1), new Float32Array(9).fill(1), Float32Array.from([0.5]), out, p);
  assert.deepEqual(Array.from(out), [4.5, 6.5, 4.5, 6.5, 9.5, 6.5, 4.5, 6.5, 4.5]);
});

test('conv2d: VQGAN downsample equals zero-padding right/bottom then a valid stride-2 conv', () => {
  const p = convParams({ n: 1, cin: 2, h: 6, w: 6, cout: 2, kh: 3, kw: 3, stride: 2, padT: 0, padL: 0, padB: 1, padR: 1 });
  assert.equal(p.outH, 3);
  assert.equal(p.outW, 3);
  const x = rand(2 * 36, 231);
  const w = rand(2 * 2 * 9, 232);
  const padded = new Float32Array(2 * 49);
  for (let c = 0; c < 2; c++) for (let y = 0; y < 6; y++) for (let xx = 0; xx < 6; xx++) padded[c * 49 + y * 7 + xx] = x[c * 36 + y * 6 + xx];
  const valid = convParams({ n: 1, cin: 2, h: 7, w: 7, cout: 2, kh: 3, kw: 3, stride: 2, padT: 0, padL: 0, padB: 0, padR: 0 });
  const a = new Float32Array(18);
  const b = new Float32Array(18);
  K.conv2d(x, w, null, a, p);
  K.conv2d(padded, w, null, b, valid);
  assertClose(a, b, 1e-7, 1e-6, 'downsample');
});

test('conv2dBackward: gx, gw, gb vs finite differences; null outputs skipped; outputs overwritten', () => {
  CASES.forEach(([name, o], ci) => {
    const p = convParams(o);
    const x = rand(p.n * p.cin * p.h * p.w, 241 + ci);
    const w = rand(p.cout * p.cin * p.kh * p.kw, 251 + ci);
    const b = rand(p.cout, 261 + ci);
    const gy = rand(p.n * p.cout * p.outH * p.outW, 271 + ci);
    const gx = new Float32Array(x.length).fill(3);
    const gw = new Float32Array(w.length).fill(3);
    const gb = new Float32Array(b.length).fill(3);
    K.conv2dBackward(x, w, gy, gx, gw, gb, p);
    assertClose(gx, fdGrad((xs) => naiveConv(xs, w, b, p), x, gy), 1e-5, 1e-4, `${name} gx`);
    assertClose(gw, fdGrad((ws) => naiveConv(x, ws, b, p), w, gy), 1e-5, 1e-4, `${name} gw`);
    assertClose(gb, fdGrad((bs) => naiveConv(x, w, bs, p), b, gy), 1e-5, 1e-4, `${name} gb`);
    const gw2 = new Float32Array(w.length);
    K.conv2dBackward(x, w, gy, null, gw2, null, p);
    assert.deepEqual(gw2, gw);
  });
});

test('upsampleNearest: hand-worked 2x, factor 3 vs naive, backward sums blocks', () => {
  const x = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]); // 2 planes of 2x2
  const out = new Float32Array(2 * 16);
  K.upsampleNearest(x, out, 2, 2, 2, 2);
  assert.deepEqual(Array.from(out.subarray(0, 16)), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  assert.deepEqual(Array.from(out.subarray(16)), [5, 5, 6, 6, 5, 5, 6, 6, 7, 7, 8, 8, 7, 7, 8, 8]);
  const planes = 2;
  const h = 2;
  const w = 3;
  const f = 3;
  const x3 = rand(planes * h * w, 281);
  const up = (xs: ArrayLike<number>): Float64Array => {
    const o = new Float64Array(planes * h * f * w * f);
    for (let p = 0; p < planes; p++) for (let y = 0; y < h * f; y++) for (let xx = 0; xx < w * f; xx++) o[(p * h * f + y) * w * f + xx] = xs[(p * h + Math.floor(y / f)) * w + Math.floor(xx / f)];
    return o;
  };
  const o3 = new Float32Array(planes * h * f * w * f);
  K.upsampleNearest(x3, o3, planes, h, w, f);
  assertClose(o3, up(x3), 0, 0, 'factor 3');
  const gy = rand(o3.length, 282);
  const gx = new Float32Array(x3.length).fill(9);
  K.upsampleNearestBackward(gy, gx, planes, h, w, f);
  assertClose(gx, fdGrad(up, x3, gy), 1e-5, 1e-5, 'backward');
  const g2 = new Float32Array(2);
  K.upsampleNearestBackward(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), g2, 1, 1, 2, 2);
  assert.deepEqual(Array.from(g2), [1 + 2 + 5 + 6, 3 + 4 + 7 + 8]);
});
