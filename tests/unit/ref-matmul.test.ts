// Unit tests of the ref gemm against a naive float64 triple loop (all transpose combinations, batch
// strides including broadcast, accumulate, bf16/f16 B), plus the ref backend's memory bookkeeping.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../src/engine/dtype.js';
import type { GemmParams } from '../../src/engine/kernels.js';
import { createRefBackend, refKernels as K } from '../../src/engine/backends/ref/index.js';
import { assertClose, rand } from './ref-helpers.js';

/** Naive C = op(A)·op(B) (+ C0) over batches, float64; bVal reads element i of B as a number. */
function naiveGemm(a: Float32Array, bVal: (i: number) => number, c0: Float32Array | null, p: GemmParams, cLen: number): Float64Array {
  const c = new Float64Array(cLen);
  if (c0 !== null) c.set(c0);
  for (let bt = 0; bt < p.batch; bt++) {
    for (let i = 0; i < p.m; i++) {
      for (let j = 0; j < p.n; j++) {
        let s = 0;
        for (let l = 0; l < p.k; l++) {
          const av = p.transA ? a[bt * p.aStride + l * p.m + i] : a[bt * p.aStride + i * p.k + l];
          const bv = p.transB ? bVal(bt * p.bStride + j * p.k + l) : bVal(bt * p.bStride + l * p.n + j);
          s += av * bv;
        }
        const idx = bt * p.cStride + i * p.n + j;
        c[idx] = (p.accumulate ? c[idx] : 0) + s;
      }
    }
  }
  return c;
}

function params(o: Partial<GemmParams> & { m: number; n: number; k: number }): GemmParams {
  return {
    batch: 1,
    transA: false,
    transB: false,
    aStride: o.m * o.k,
    bStride: o.k * o.n,
    cStride: o.m * o.n,
    bDtype: 'f32',
    accumulate: false,
    ...o,
  };
}

test('gemm: all four transpose combinations match the naive product', () => {
  // m = 19 > the kernel's 16-row block, so the row-block remainder path runs too.
  const m = 19;
  const n = 7;
  const k = 11;
  const a = rand(m * k, 1);
  const b = rand(k * n, 2);
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      const p = params({ m, n, k, transA, transB });
      const c = new Float32Array(m * n).fill(99);
      K.gemm(a, b, c, p);
      assertClose(c, naiveGemm(a, (i) => b[i], null, p, m * n), 1e-5, 1e-5, `transA=${transA} transB=${transB}`);
    }
  }
});

test('gemm: hand-worked 2x2 product', () => {
  const a = Float32Array.from([1, 2, 3, 4]);
  const b = Float32Array.from([5, 6, 7, 8]);
  const c = new Float32Array(4);
  K.gemm(a, b, c, params({ m: 2, n: 2, k: 2 }));
  assert.deepEqual(Array.from(c), [19, 22, 43, 50]);
  K.gemm(a, b, c, params({ m: 2, n: 2, k: 2, transB: true }));
  assert.deepEqual(Array.from(c), [17, 23, 39, 53]);
});

test('gemm: batch strides, including 0 to broadcast A or B, and a padded C stride', () => {
  const m = 5;
  const n = 6;
  const k = 4;
  const batch = 3;
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      for (const [aStride, bStride] of [
        [m * k, k * n],
        [0, k * n],
        [m * k, 0],
        [m * k + 3, k * n + 2],
      ]) {
        const cStride = m * n + 5;
        const a = rand(aStride * (batch - 1) + m * k, 3);
        const b = rand(bStride * (batch - 1) + k * n, 4);
        const p = params({ m, n, k, batch, transA, transB, aStride, bStride, cStride });
        const cLen = cStride * (batch - 1) + m * n;
        const c = new Float32Array(cLen);
        K.gemm(a, b, c, p);
        const want = naiveGemm(a, (i) => b[i], null, p, cLen);
        // Gap elements between C batches are untouched (0 here).
        assertClose(c, want, 1e-5, 1e-5, `strides a=${aStride} b=${bStride} tA=${transA} tB=${transB}`);
      }
    }
  }
});

test('gemm: accumulate adds into C; k = 0 writes zeros or leaves C', () => {
  const m = 4;
  const n = 3;
  const k = 5;
  const a = rand(m * k, 5);
  const b = rand(k * n, 6);
  const c0 = rand(m * n, 7);
  for (const transB of [false, true]) {
    const p = params({ m, n, k, transB, accumulate: true });
    const c = c0.slice();
    K.gemm(a, b, c, p);
    assertClose(c, naiveGemm(a, (i) => b[i], c0, p, m * n), 1e-5, 1e-5, `accumulate transB=${transB}`);
  }
  const c = c0.slice();
  K.gemm(new Float32Array(0), new Float32Array(0), c, params({ m, n, k: 0, accumulate: true }));
  assert.deepEqual(c, c0);
  K.gemm(new Float32Array(0), new Float32Array(0), c, params({ m, n, k: 0 }));
  assert.deepEqual(Array.from(c), new Array(m * n).fill(0));
});

test('gemm: bf16 and f16 B are widened exactly', () => {
  const m = 18;
  const n = 9;
  const k = 13;
  const a = rand(m * k, 8);
  const bf = rand(k * n * 2, 9, -4, 4);
  const bBf16 = Uint16Array.from(bf, (v) => f32ToBf16(v));
  const bF16 = Uint16Array.from(bf, (v) => f32ToF16(v));
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      for (const accumulate of [false, true]) {
        const batch = 2;
        const p = params({ m, n, k, batch, transA, transB, accumulate, aStride: 0 });
        const c0 = rand(2 * m * n, 10);
        let c = c0.slice();
        K.gemm(a, bBf16, c, { ...p, bDtype: 'bf16' });
        assertClose(c, naiveGemm(a, (i) => bf16ToF32(bBf16[i]), c0, p, 2 * m * n), 1e-5, 1e-5, 'bf16');
        c = c0.slice();
        K.gemm(a, bF16, c, { ...p, bDtype: 'f16' });
        assertClose(c, naiveGemm(a, (i) => f16ToF32(bF16[i]), c0, p, 2 * m * n), 1e-5, 1e-5, 'f16');
      }
    }
  }
});

test('ref backend: name, threads, native set, zero-filled reserve and byte accounting', async () => {
  const be = createRefBackend();
  assert.equal(be.name, 'ref');
  assert.equal(be.threads, 1);
  assert.equal(be.kernels, K);
  for (const name of Object.keys(K)) assert.ok(be.native.has(name as keyof typeof K), name);
  assert.equal(be.native.size, Object.keys(K).length);
  assert.equal(be.reservedBytes(), 0);
  const r1 = be.reserve(256);
  const r2 = be.reserve(1000);
  assert.ok(r1.byteLength >= 256 && r2.byteLength >= 1000);
  assert.equal(r1.byteOffset % 64, 0);
  const view = new Float32Array(r2.buffer, r2.byteOffset, 250);
  assert.ok(view.every((v) => v === 0));
  assert.notEqual(r1.buffer, r2.buffer);
  assert.equal(be.reservedBytes(), r1.byteLength + r2.byteLength);
  be.unreserve(r1);
  assert.equal(be.reservedBytes(), r2.byteLength);
  be.unreserve(r1);
  assert.equal(be.reservedBytes(), r2.byteLength);
  be.unreserve(r2);
  assert.equal(be.reservedBytes(), 0);
  await be.dispose();
});

test('ref kernels keep float64 precision over Float64Array storage (gemm transA, gather bf16, cast)', () => {
  const f = (x: Float64Array): Float32Array => x as unknown as Float32Array;
  // 1 + 2^-40 is not representable in f32; a float64 pipeline keeps it.
  const tiny = 1 + 2 ** -40;
  const a = Float64Array.from([tiny, 0, 0, tiny]); // stored k×m (transA)
  const b = Float64Array.from([1, 0, 0, 1]);
  const c = new Float64Array(4);
  K.gemm(f(a), f(b), f(c), params({ m: 2, n: 2, k: 2, transA: true }));
  assert.deepEqual(Array.from(c), [tiny, 0, 0, tiny]);
  K.gemm(f(a), f(b), f(c), params({ m: 2, n: 2, k: 2, transA: true, transB: true }));
  assert.deepEqual(Array.from(c), [tiny, 0, 0, tiny]);
  const out = new Float64Array(2);
  K.gather(Uint16Array.from([f32ToBf16(1.5), f32ToBf16(-2)]), 'bf16', Int32Array.from([1, 0]), f(out), 1);
  assert.deepEqual(Array.from(out), [-2, 1.5]);
  K.cast(Uint16Array.from([f32ToBf16(3), f32ToBf16(0.25)]), 'bf16', f(out), 'f32');
  assert.deepEqual(Array.from(out), [3, 0.25]);
  const bits = new Uint16Array(2);
  K.cast(f(Float64Array.from([1.5, 1 + 2 ** -8])), 'f32', bits, 'bf16');
  assert.deepEqual(Array.from(bits, (h) => bf16ToF32(h)), [1.5, 1]);
});
