// Unit tests of the ref elementwise kernels: strided/broadcast binary ops, every unary op against
// Math and every unary backward against float64 finite differences, affine, fill, and casts
// (f32 <-> bf16/f16 round-to-nearest-even, f32 <-> i32).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../src/engine/dtype.js';
import type { BinaryOp, UnaryOp } from '../../src/engine/kernels.js';
import { refKernels as K } from '../../src/engine/backends/ref/index.js';
import { assertClose, fdGrad, rand } from './ref-helpers.js';

const BIN: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  max: (a, b) => Math.max(a, b),
  min: (a, b) => Math.min(a, b),
};

/** Naive strided binary: walks every multi-index of shape. */
function naiveBinary(op: BinaryOp, a: Float32Array, b: Float32Array, shape: number[], as: number[], bs: number[]): Float32Array {
  const total = shape.reduce((x, y) => x * y, 1);
  const out = new Float32Array(total);
  for (let flat = 0; flat < total; flat++) {
    let rem = flat;
    let ai = 0;
    let bi = 0;
    for (let d = shape.length - 1; d >= 0; d--) {
      const c = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
      ai += c * as[d];
      bi += c * bs[d];
    }
    out[flat] = BIN[op](a[ai], b[bi]);
  }
  return out;
}

test('binary: every op over dense, broadcast (stride 0) and transposed strides', () => {
  const shape = [2, 3, 4];
  const cases: [number[], number[]][] = [
    [[12, 4, 1], [12, 4, 1]], // dense, same shape
    [[12, 4, 1], [0, 0, 1]], // b is a [4] row broadcast
    [[0, 1, 0], [12, 4, 1]], // a is [1, 3, 1] broadcast
    [[1, 2, 6], [0, 0, 0]], // a read transposed, b a scalar
  ];
  for (const op of Object.keys(BIN) as BinaryOp[]) {
    for (const [as, bs] of cases) {
      const a = rand(24, 11, -2, 2);
      const b = rand(24, 12, 0.5, 2);
      const out = new Float32Array(24);
      K.binary(op, a, b, out, shape, as, bs);
      assertClose(out, naiveBinary(op, a, b, shape, as, bs), 0, 0, `${op} ${as} ${bs}`);
    }
  }
});

test('binary: hand-worked broadcast of a column against a row, scalar shape, NaN in max', () => {
  const col = Float32Array.from([1, 2]);
  const row = Float32Array.from([10, 20, 30]);
  const out = new Float32Array(6);
  K.binary('add', col, row, out, [2, 3], [1, 0], [0, 1]);
  assert.deepEqual(Array.from(out), [11, 21, 31, 12, 22, 32]);
  const s = new Float32Array(1);
  K.binary('mul', Float32Array.from([3]), Float32Array.from([4]), s, [], [], []);
  assert.equal(s[0], 12);
  K.binary('max', Float32Array.from([NaN]), Float32Array.from([4]), s, [1], [1], [1]);
  assert.ok(Number.isNaN(s[0]));
});

const UN: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  silu: (x) => x / (1 + Math.exp(-x)),
  tanh: Math.tanh,
  square: (x) => x * x,
  relu: (x) => Math.max(0, x),
  abs: Math.abs,
};
const POSITIVE_ONLY = new Set<UnaryOp>(['log', 'sqrt', 'rsqrt']);

test('unary: every op matches Math in float64 (to f32 rounding)', () => {
  for (const op of Object.keys(UN) as UnaryOp[]) {
    const x = POSITIVE_ONLY.has(op) ? rand(64, 21, 0.1, 4) : rand(64, 22, -4, 4);
    const out = new Float32Array(64);
    K.unary(op, x, out);
    assertClose(out, Array.from(x, UN[op]), 1e-7, 1e-6, op);
  }
  const out = new Float32Array(3);
  K.unary('sigmoid', Float32Array.from([-1000, 0, 1000]), out);
  assert.deepEqual(Array.from(out), [0, 0.5, 1]);
  K.unary('relu', Float32Array.from([-2, 0, 3]), out);
  assert.deepEqual(Array.from(out), [0, 0, 3]);
});

test('unaryBackward: every op matches float64 finite differences', () => {
  for (const op of Object.keys(UN) as UnaryOp[]) {
    // Keep away from the kinks of relu/abs at 0.
    let x = POSITIVE_ONLY.has(op) ? rand(32, 31, 0.2, 3) : rand(32, 32, -3, 3);
    if (op === 'relu' || op === 'abs') x = x.map((v) => (Math.abs(v) < 0.05 ? 0.5 : v));
    const y = new Float32Array(32);
    K.unary(op, x, y);
    const gy = rand(32, 33);
    const gx = new Float32Array(32);
    K.unaryBackward(op, x, y, gy, gx);
    const want = fdGrad((xs) => Array.from(xs, UN[op]), x, gy);
    assertClose(gx, want, 1e-5, 1e-4, `${op} backward`);
  }
});

test('affine and fill', () => {
  const x = Float32Array.from([1, -2, 0.5]);
  const out = new Float32Array(3);
  K.affine(x, out, 2, 1);
  assert.deepEqual(Array.from(out), [3, -3, 2]);
  K.fill(out, 7);
  assert.deepEqual(Array.from(out), [7, 7, 7]);
  const bits = new Uint16Array(2);
  K.fill(bits, f32ToBf16(1.5));
  assert.equal(bf16ToF32(bits[1]), 1.5);
  const ints = new Int32Array(2);
  K.fill(ints, -3);
  assert.deepEqual(Array.from(ints), [-3, -3]);
});

test('cast: f32 -> bf16 rounds to nearest even and round-trips', () => {
  // 1 + 2^-8 is exactly halfway between bf16 neighbours 1 and 1 + 2^-7: ties to even (1).
  // 1 + 3·2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6: ties to even (1 + 2^-6).
  const x = Float32Array.from([1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, -2.5, 0, -0, Infinity, NaN, 3.0e38]);
  const bits = new Uint16Array(x.length);
  K.cast(x, 'f32', bits, 'bf16');
  assert.deepEqual(Array.from(bits), Array.from(x, (v) => f32ToBf16(v)));
  assert.equal(bf16ToF32(bits[0]), 1);
  assert.equal(bf16ToF32(bits[1]), 1 + 2 ** -6);
  assert.equal(bf16ToF32(bits[2]), 1 + 2 ** -7);
  assert.ok(Number.isNaN(bf16ToF32(bits[7])));
  const back = new Float32Array(x.length);
  K.cast(bits, 'bf16', back, 'f32');
  assert.deepEqual(Array.from(back), Array.from(bits, (h) => bf16ToF32(h)));
  // Values already representable in bf16 round-trip exactly.
  const again = new Uint16Array(x.length);
  K.cast(back, 'f32', again, 'bf16');
  assert.deepEqual(again, bits);
  // Random values: round trip error ≤ half a bf16 ulp (2^-9 relative).
  const r = rand(1000, 41, -100, 100);
  const rb = new Uint16Array(1000);
  const rf = new Float32Array(1000);
  K.cast(r, 'f32', rb, 'bf16');
  K.cast(rb, 'bf16', rf, 'f32');
  for (let i = 0; i < 1000; i++) assert.ok(Math.abs(rf[i] - r[i]) <= Math.abs(r[i]) * 2 ** -8, `bf16 ${r[i]} -> ${rf[i]}`);
});

test('cast: f32 -> f16 rounds to nearest even, subnormals and overflow, round-trips', () => {
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1); 1 + 3·2^-11 -> 1 + 2^-9.
  const x = Float32Array.from([1 + 2 ** -11, 1 + 3 * 2 ** -11, 2 ** -24, 3 * 2 ** -26, 65504, 70000, -1e-9, NaN]);
  const bits = new Uint16Array(x.length);
  K.cast(x, 'f32', bits, 'f16');
  assert.deepEqual(Array.from(bits), Array.from(x, (v) => f32ToF16(v)));
  assert.equal(f16ToF32(bits[0]), 1);
  assert.equal(f16ToF32(bits[1]), 1 + 2 ** -9);
  assert.equal(f16ToF32(bits[2]), 2 ** -24);
  assert.equal(f16ToF32(bits[4]), 65504);
  assert.equal(f16ToF32(bits[5]), Infinity);
  const back = new Float32Array(x.length);
  K.cast(bits, 'f16', back, 'f32');
  assert.deepEqual(Array.from(back), Array.from(bits, (h) => f16ToF32(h)));
  const again = new Uint16Array(x.length);
  K.cast(back, 'f32', again, 'f16');
  assert.deepEqual(again, bits);
});

test('cast: i32 <-> f32, bf16 <-> f16 via f32, same-dtype copy', () => {
  const i = Int32Array.from([0, -7, 123456789, 2 ** 31 - 1]);
  const f = new Float32Array(4);
  K.cast(i, 'i32', f, 'f32');
  assert.deepEqual(Array.from(f), [0, -7, Math.fround(123456789), Math.fround(2 ** 31 - 1)]);
  const back = new Int32Array(6);
  K.cast(Float32Array.from([2.7, -2.7, -0.5, 1e10, -1e10, NaN]), 'f32', back, 'i32');
  assert.deepEqual(Array.from(back), [2, -2, 0, 2147483647, -2147483648, 0]);
  const h = Uint16Array.from([f32ToBf16(1.5), f32ToBf16(-3)]);
  const h16 = new Uint16Array(2);
  K.cast(h, 'bf16', h16, 'f16');
  assert.deepEqual(Array.from(h16, (b) => f16ToF32(b)), [1.5, -3]);
  const ib = new Uint16Array(2);
  K.cast(Int32Array.from([3, -256]), 'i32', ib, 'bf16');
  assert.deepEqual(Array.from(ib, (b) => bf16ToF32(b)), [3, -256]);
  const copy = new Int32Array(4);
  K.cast(i, 'i32', copy, 'i32');
  assert.deepEqual(copy, i);
});
