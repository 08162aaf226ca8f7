// The wasm backend's machinery: allocator (alignment, zero fill, reuse, accounting), GEMM and the
// matvec path against the ref kernel over many shapes, transposes, batch strides, broadcast,
// accumulate and bf16/f16 weights, the ref fallback for arrays outside wasm memory, and a trap in a
// worker surfacing as KernelError with the pool still usable afterwards.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createWasmBackend, type WasmBackend } from '../../src/engine/backends/wasm/backend.node.js';
import { refKernels } from '../../src/engine/backends/ref/index.js';
import { f32ToBf16, f32ToF16 } from '../../src/engine/dtype.js';
import type { GemmParams } from '../../src/engine/kernels.js';
import { KernelError } from '../../src/util/errors.js';
import { KernelMemoryError } from '../../src/engine/memory.js';

let seed = 12345;
function rand(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 2 ** 32 - 0.5;
}

function f32(be: WasmBackend, n: number): Float32Array {
  const r = be.reserve(n * 4);
  const a = new Float32Array(r.buffer, r.byteOffset, n);
  for (let i = 0; i < n; i++) a[i] = rand();
  return a;
}

function u16(be: WasmBackend, n: number, conv: (x: number) => number): Uint16Array {
  const r = be.reserve(n * 2);
  const a = new Uint16Array(r.buffer, r.byteOffset, n);
  for (let i = 0; i < n; i++) a[i] = conv(rand());
  return a;
}

function assertClose(actual: Float32Array, expected: Float32Array, tol = 1e-5, what = ''): void {
  assert.equal(actual.length, expected.length);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= tol * Math.max(1, scale))) assert.fail(`${what} element ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

for (const threads of [1, 2]) {
  describe(`wasm backend, ${threads} thread(s)`, () => {
    let be: WasmBackend;
    before(async () => {
      be = await createWasmBackend({ threads });
    });
    after(async () => {
      await be.dispose();
    });

    it('reserves aligned zeroed regions, reuses freed ones and counts bytes', () => {
      const r1 = be.reserve(100);
      const base = be.reservedBytes();
      assert.equal(r1.byteOffset % 64, 0);
      const v = new Uint8Array(r1.buffer, r1.byteOffset, 100);
      assert.ok(v.every((x) => x === 0));
      v.fill(7);
      be.unreserve(r1);
      const r2 = be.reserve(100);
      assert.equal(r2.byteOffset, r1.byteOffset, 'first fit reuses the freed block');
      assert.ok(new Uint8Array(r2.buffer, r2.byteOffset, 100).every((x) => x === 0), 'recycled memory is zeroed');
      assert.equal(be.reservedBytes(), base);
      const big = be.reserve(64 << 20); // forces memory.grow
      assert.ok(big.buffer.byteLength >= big.byteOffset + big.byteLength);
      be.unreserve(big);
      be.unreserve(r2);
    });

    const shapes: [number, number, number][] = [
      [1, 1, 1],
      [3, 5, 7],
      [4, 8, 16],
      [17, 33, 65],
      [64, 40, 300],
      [130, 9, 257],
      [2, 300, 129],
      [4, 1000, 77],
      [601, 7, 20], // transA with m > 512 packs 256 rows of op(A) per pass: three passes, the last ragged
      [603, 40, 300], // the same split across threads (row chunks), two depth slices
      [5, 1030, 33], // B packed row-wise across two NC = 1024 column blocks, a ragged last panel
    ];
    for (const [m, n, k] of shapes) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          it(`gemm f32 m=${m} n=${n} k=${k} transA=${transA} transB=${transB}`, () => {
            const a = f32(be, m * k);
            const b = f32(be, n * k);
            const c = f32(be, m * n);
            const p: GemmParams = { batch: 1, m, n, k, transA, transB, aStride: 0, bStride: 0, cStride: 0, bDtype: 'f32', accumulate: false };
            const want = new Float32Array(m * n);
            refKernels.gemm(a, b, want, p);
            be.kernels.gemm(a, b, c, p);
            assertClose(c, want, 1e-5, 'gemm');
          });
        }
      }
    }

    for (const bDtype of ['bf16', 'f16'] as const) {
      for (const [m, n, k] of [
        [1, 67, 70],
        [3, 64, 64],
        [37, 45, 51],
      ] as [number, number, number][]) {
        for (const transB of [true, false]) {
          it(`gemm ${bDtype} weights m=${m} n=${n} k=${k} transB=${transB}, accumulate`, () => {
            const a = f32(be, m * k);
            const b = u16(be, n * k, bDtype === 'bf16' ? f32ToBf16 : f32ToF16);
            const c = f32(be, m * n);
            const want = Float32Array.from(c);
            const p: GemmParams = { batch: 1, m, n, k, transA: false, transB, aStride: 0, bStride: 0, cStride: 0, bDtype, accumulate: true };
            refKernels.gemm(a, b, want, p);
            be.kernels.gemm(a, b, c, p);
            assertClose(c, want, 1e-5, bDtype);
          });
        }
      }
    }

    // The bf16 decode kernels: one row (deinterleaved x), two and four rows (pairs, packed x), three
    // rows (3 W rows x 3 x rows), five to eight rows (pairs and an odd last row: the small decode
    // batches), row counts that leave tails, and sizes that go to both threads with dynamic chunks
    // (align 12 for three rows; eight rows of 256 x 256 weights count eight times the bytes).
    for (const [m, n, k] of [
      [1, 71, 64],
      [2, 71, 64],
      [3, 71, 64],
      [4, 71, 64],
      [5, 71, 64],
      [8, 71, 64],
      [7, 256, 256],
      [8, 1030, 256],
      [3, 4100, 264],
      [2, 1030, 256],
      [1, 1030, 256],
    ] as [number, number, number][]) {
      for (const accumulate of [false, true]) {
        it(`bf16 matvec m=${m} n=${n} k=${k}${accumulate ? ', accumulate' : ''}`, () => {
          const a = f32(be, m * k);
          const b = u16(be, n * k, f32ToBf16);
          const c = f32(be, m * n);
          const want = Float32Array.from(c);
          const p: GemmParams = { batch: 1, m, n, k, transA: false, transB: true, aStride: 0, bStride: 0, cStride: 0, bDtype: 'bf16', accumulate };
          refKernels.gemm(a, b, want, p);
          be.kernels.gemm(a, b, c, p);
          assertClose(c, want, 1e-5, `bf16 matvec m=${m}`);
        });
      }
    }

    it('gemm with batch strides, a broadcast B (stride 0) and accumulate', () => {
      const batch = 5, m = 9, n = 13, k = 21;
      const a = f32(be, batch * m * k);
      const b = f32(be, n * k);
      const c = f32(be, batch * m * n);
      const want = Float32Array.from(c);
      const p: GemmParams = { batch, m, n, k, transA: false, transB: true, aStride: m * k, bStride: 0, cStride: m * n, bDtype: 'f32', accumulate: true };
      refKernels.gemm(a, b, want, p);
      be.kernels.gemm(a, b, c, p);
      assertClose(c, want, 1e-5, 'batched');
    });

    it('gemm with many small batches (batch split) and k = 0', () => {
      const batch = 16, m = 7, n = 5, k = 3;
      const a = f32(be, batch * m * k);
      const b = f32(be, batch * n * k);
      const c = f32(be, batch * m * n);
      const want = new Float32Array(batch * m * n);
      const p: GemmParams = { batch, m, n, k, transA: true, transB: false, aStride: m * k, bStride: n * k, cStride: m * n, bDtype: 'f32', accumulate: false };
      refKernels.gemm(a, b, want, p);
      be.kernels.gemm(a, b, c, p);
      assertClose(c, want, 1e-5, 'batch split');
      be.kernels.gemm(a, b, c, { ...p, k: 0 });
      assert.ok(c.every((x) => x === 0), 'k = 0 writes zeros');
    });

    it('large gemm and matvec split across threads match ref', () => {
      const m = 200, n = 700, k = 300;
      const a = f32(be, m * k);
      const b = f32(be, n * k);
      const c = f32(be, m * n);
      const p: GemmParams = { batch: 1, m, n, k, transA: false, transB: true, aStride: 0, bStride: 0, cStride: 0, bDtype: 'f32', accumulate: false };
      const want = new Float32Array(m * n);
      refKernels.gemm(a, b, want, p);
      be.kernels.gemm(a, b, c, p);
      assertClose(c, want, 1e-5, 'large');
      const y = f32(be, 2 * n);
      const wantY = new Float32Array(2 * n);
      const q = { ...p, m: 2 };
      refKernels.gemm(a, b, wantY, q);
      be.kernels.gemm(a, b, y, q);
      assertClose(y, wantY, 1e-5, 'matvec');
    });

    it('refuses arrays outside wasm memory by kernel and memory name (no silent ref fallback)', () => {
      const m = 6, n = 10, k = 12;
      const a = Float32Array.from({ length: m * k }, rand);
      const b = Float32Array.from({ length: n * k }, rand);
      const c = new Float32Array(m * n);
      const p: GemmParams = { batch: 1, m, n, k, transA: false, transB: true, aStride: 0, bStride: 0, cStride: 0, bDtype: 'f32', accumulate: false };
      const refused = (kernel: string) => (err: unknown) =>
        err instanceof KernelMemoryError && err.kernel === kernel && /an unregistered ArrayBuffer/.test(err.message);
      assert.throws(() => be.kernels.gemm(a, b, c, p), refused('gemm'));
      assert.deepEqual(c, new Float32Array(m * n), 'nothing was written');
      const x = f32(be, 50);
      const out = new Float32Array(50);
      assert.throws(() => be.kernels.unary('exp', x, out), refused('unary'));
      // A kernel the wasm backend runs as the ref kernel over its memory addresses any array.
      const moved = new Float32Array(50);
      be.kernels.permute(x, moved, [5, 10], [0, 1]);
      assert.deepEqual(moved, x);
    });

    it('a trap in a kernel throws KernelError naming it, and the pool keeps working', () => {
      // Participant 1 is a worker when threads = 2; participant 0 is the main thread.
      for (const which of threads > 1 ? [1, 0, -1] : [0]) {
        assert.throws(
          () => be.runExport('debug_trap', [which], threads, 1, true),
          (err: unknown) => err instanceof KernelError && /debug_trap/.test(err.message) && /unreachable/.test(err.message),
        );
      }
      const m = 64, n = 96, k = 80;
      const a = f32(be, m * k);
      const b = f32(be, n * k);
      const c = f32(be, m * n);
      const p: GemmParams = { batch: 1, m, n, k, transA: false, transB: false, aStride: 0, bStride: 0, cStride: 0, bDtype: 'f32', accumulate: false };
      const want = new Float32Array(m * n);
      refKernels.gemm(a, b, want, p);
      be.kernels.gemm(a, b, c, p);
      assertClose(c, want, 1e-5, 'after trap');
    });

    it('lists exactly its native kernels and keeps ref for the rest', () => {
      assert.ok(be.native.has('gemm') && be.native.has('softmax') && be.native.has('adamw'));
      assert.ok(be.native.has('attention') && be.native.has('conv2d') && be.native.has('groupnorm') && be.native.has('dropout') && !be.native.has('groupnormBackward') && !be.native.has('upsampleNearest'));
      for (const name of Object.keys(refKernels)) assert.equal(typeof be.kernels[name as keyof typeof refKernels], 'function');
      assert.equal(be.threads, threads);
    });
  });
}
