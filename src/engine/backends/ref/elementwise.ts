// Reference elementwise kernels: strided binary ops with broadcasting, unary ops and their gradients,
// affine, fill, dtype casts and SwiGLU (forward and backward). The op switch sits outside every
// element loop. Not here: reductions (movement.ts), row-wise ops such as softmax (attention.ts).

import type { AnyArray, DType } from '../../dtype.js';
import { TYPE_TRAITS, f32ToBf16, f32ToF16, isScalarDType } from '../../dtype.js';
import type { BinaryOp, F32, FamilyKernels, UnaryOp } from '../../kernels.js';
import { coalesce, numel, widenRun } from './util.js';

/** out[o + j] = a[ao + j·sa] op b[bo + j·sb] for j < len. */
function binaryRun(op: BinaryOp, a: F32, ao: number, sa: number, b: F32, bo: number, sb: number, out: F32, o: number, len: number): void {
  switch (op) {
    case 'add':
      for (let j = 0; j < len; j++) out[o + j] = a[ao + j * sa] + b[bo + j * sb];
      return;
    case 'sub':
      for (let j = 0; j < len; j++) out[o + j] = a[ao + j * sa] - b[bo + j * sb];
      return;
    case 'mul':
      for (let j = 0; j < len; j++) out[o + j] = a[ao + j * sa] * b[bo + j * sb];
      return;
    case 'div':
      for (let j = 0; j < len; j++) out[o + j] = a[ao + j * sa] / b[bo + j * sb];
      return;
    case 'max':
      // Math.max/min propagate NaN, as torch.maximum/minimum do.
      for (let j = 0; j < len; j++) out[o + j] = Math.max(a[ao + j * sa], b[bo + j * sb]);
      return;
    case 'min':
      for (let j = 0; j < len; j++) out[o + j] = Math.min(a[ao + j * sa], b[bo + j * sb]);
      return;
  }
}

/** out[idx] = a[idx·aStrides] op b[idx·bStrides] over outShape (out dense). */
function binary(
  op: BinaryOp,
  a: F32,
  b: F32,
  out: F32,
  outShape: readonly number[],
  aStrides: readonly number[],
  bStrides: readonly number[],
): void {
  const total = numel(outShape);
  if (total === 0) return;
  const { shape, strides } = coalesce(outShape, [aStrides, bStrides]);
  const [as, bs] = strides;
  const rank = shape.length;
  const len = shape[rank - 1];
  const sa = as[rank - 1];
  const sb = bs[rank - 1];
  const idx = new Array<number>(rank).fill(0);
  let ao = 0;
  let bo = 0;
  for (let o = 0; o < total; o += len) {
    binaryRun(op, a, ao, sa, b, bo, sb, out, o, len);
    // Odometer step over the outer axes.
    for (let d = rank - 2; d >= 0; d--) {
      ao += as[d];
      bo += bs[d];
      if (++idx[d] < shape[d]) break;
      ao -= as[d] * shape[d];
      bo -= bs[d] * shape[d];
      idx[d] = 0;
    }
  }
}

function unary(op: UnaryOp, x: F32, out: F32): void {
  const n = x.length;
  switch (op) {
    case 'neg':
      for (let i = 0; i < n; i++) out[i] = -x[i];
      return;
    case 'exp':
      for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]);
      return;
    case 'log':
      for (let i = 0; i < n; i++) out[i] = Math.log(x[i]);
      return;
    case 'sqrt':
      for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]);
      return;
    case 'rsqrt':
      for (let i = 0; i < n; i++) out[i] = 1 / Math.sqrt(x[i]);
      return;
    case 'sigmoid':
      for (let i = 0; i < n; i++) out[i] = 1 / (1 + Math.exp(-x[i]));
      return;
    case 'silu':
      for (let i = 0; i < n; i++) {
        const v = x[i];
        out[i] = v / (1 + Math.exp(-v));
      }
      return;
    case 'tanh':
      for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]);
      return;
    case 'square':
      for (let i = 0; i < n; i++) out[i] = x[i] * x[i];
      return;
    case 'relu':
      for (let i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : 0;
      return;
    case 'abs':
      for (let i = 0; i < n; i++) out[i] = Math.abs(x[i]);
      return;
  }
}

/**
 * gx = gy · f'(x). The derivative is taken from y = f(x) for exp, sqrt, rsqrt, sigmoid and tanh, and
 * from x for log, silu, square, relu and abs (neg reads neither). relu'(0) = 0 and abs'(0) = 0.
 */
function unaryBackward(op: UnaryOp, x: F32, y: F32, gy: F32, gx: F32): void {
  const n = gy.length;
  switch (op) {
    case 'neg':
      for (let i = 0; i < n; i++) gx[i] = -gy[i];
      return;
    case 'exp':
      for (let i = 0; i < n; i++) gx[i] = gy[i] * y[i];
      return;
    case 'log':
      for (let i = 0; i < n; i++) gx[i] = gy[i] / x[i];
      return;
    case 'sqrt':
      for (let i = 0; i < n; i++) gx[i] = (0.5 * gy[i]) / y[i];
      return;
    case 'rsqrt':
      // d(x^-1/2)/dx = -x^-3/2 / 2 = -y³ / 2.
      for (let i = 0; i < n; i++) {
        const v = y[i];
        gx[i] = -0.5 * gy[i] * v * v * v;
      }
      return;
    case 'sigmoid':
      for (let i = 0; i < n; i++) gx[i] = gy[i] * y[i] * (1 - y[i]);
      return;
    case 'silu':
      // silu'(x) = s · (1 + x · (1 - s)) with s = sigmoid(x).
      for (let i = 0; i < n; i++) {
        const v = x[i];
        const s = 1 / (1 + Math.exp(-v));
        gx[i] = gy[i] * s * (1 + v * (1 - s));
      }
      return;
    case 'tanh':
      for (let i = 0; i < n; i++) gx[i] = gy[i] * (1 - y[i] * y[i]);
      return;
    case 'square':
      for (let i = 0; i < n; i++) gx[i] = 2 * gy[i] * x[i];
      return;
    case 'relu':
      for (let i = 0; i < n; i++) gx[i] = x[i] > 0 ? gy[i] : 0;
      return;
    case 'abs':
      for (let i = 0; i < n; i++) gx[i] = x[i] > 0 ? gy[i] : x[i] < 0 ? -gy[i] : 0;
      return;
  }
}

/** out = x · mul + add. */
function affine(x: F32, out: F32, mul: number, add: number): void {
  const n = x.length;
  for (let i = 0; i < n; i++) out[i] = x[i] * mul + add;
}

/** Sets every element of out to value, stored as the array's element type (raw bits for bf16/f16). */
function fill(out: AnyArray, value: number): void {
  out.fill(value);
}

/** f32 -> i32 the way wasm's i32.trunc_sat_f32_s does: truncate toward zero, saturate, NaN -> 0. */
function truncSat(v: number): number {
  if (v !== v) return 0;
  if (v >= 2147483647) return 2147483647;
  if (v <= -2147483648) return -2147483648;
  return Math.trunc(v);
}

/** x (f32 values) -> out of outDtype. */
function castFromF32(x: F32, out: AnyArray, outDtype: DType): void {
  const n = x.length;
  switch (outDtype) {
    case 'f32':
      (out as F32).set(x);
      return;
    case 'bf16': {
      const xs = x as F32 | Float64Array;
      if (!(xs instanceof Float32Array)) {
        // Float64Array storage (the float64 gradient oracle): no bit tricks.
        for (let i = 0; i < n; i++) out[i] = f32ToBf16(xs[i]);
        return;
      }
      // Same rounding as f32ToBf16 (nearest even, NaN kept NaN), on the bits directly.
      const u = new Uint32Array(x.buffer, x.byteOffset, n);
      for (let i = 0; i < n; i++) {
        const v = u[i];
        if ((v & 0x7f800000) === 0x7f800000 && (v & 0x007fffff) !== 0) out[i] = ((v >>> 16) | 0x40) & 0xffff;
        else out[i] = ((v + 0x7fff + ((v >>> 16) & 1)) >>> 16) & 0xffff;
      }
      return;
    }
    case 'f16':
      for (let i = 0; i < n; i++) out[i] = f32ToF16(x[i]);
      return;
    case 'i32':
      for (let i = 0; i < n; i++) out[i] = truncSat(x[i]);
      return;
  }
}

/** Casts where either side is a blocked type: the type traits' reference dequantize/quantize, through f32. */
function castBlocked(x: AnyArray, xDtype: DType, out: AnyArray, outDtype: DType): void {
  if (xDtype === outDtype) {
    (out as Uint8Array).set(x as Uint8Array);
    return;
  }
  const xt = TYPE_TRAITS[xDtype];
  const n = xt.blockSize === 1 ? x.length : (x.length / xt.blockBytes) * xt.blockSize;
  let wide: ArrayLike<number>;
  if (xDtype === 'f32') wide = x;
  else {
    const w = new Float32Array(n);
    xt.toF32(x, w, n);
    wide = w;
  }
  if (outDtype === 'f32') (out as F32).set(wide);
  else if (isScalarDType(outDtype)) cast(wide as F32, 'f32', out, outDtype);
  else TYPE_TRAITS[outDtype].fromF32(wide, out, n);
}

/**
 * Converts x (xDtype) into out (outDtype): blocked types go through f32 with the type traits'
 * reference quantize/dequantize; f32 -> bf16/f16 round to nearest even, bf16/f16 -> f32
 * exact, f32 -> i32 truncates toward zero (saturating, NaN -> 0), i32 -> f32 rounds to nearest.
 * Other pairs go through f32; equal dtypes copy.
 */
function cast(x: AnyArray, xDtype: DType, out: AnyArray, outDtype: DType): void {
  if (!isScalarDType(xDtype) || !isScalarDType(outDtype)) {
    castBlocked(x, xDtype, out, outDtype);
    return;
  }
  const n = x.length;
  if (xDtype === outDtype) {
    (out as Float32Array).set(x as Float32Array);
    return;
  }
  if (xDtype === 'f32') {
    castFromF32(x as F32, out, outDtype);
    return;
  }
  // Widen to f32 first (directly into out when out is f32).
  if (outDtype === 'f32') {
    widenRun(x, xDtype, 0, out as F32, 0, n);
    return;
  }
  const wide = new Float32Array(n);
  widenRun(x, xDtype, 0, wide, 0, n);
  castFromF32(wide, out, outDtype);
}

/** out = silu(g) · u = g·u / (1 + e^−g). */
function swiglu(g: F32, u: F32, out: F32): void {
  const n = g.length;
  for (let i = 0; i < n; i++) {
    const v = g[i];
    out[i] = (v / (1 + Math.exp(-v))) * u[i];
  }
}

/** gg = gy · u · silu'(g) with silu'(g) = s·(1 + g·(1 − s)), s = sigmoid(g); gu = gy · silu(g). Both written. */
function swigluBackward(g: F32, u: F32, gy: F32, gg: F32, gu: F32): void {
  const n = g.length;
  for (let i = 0; i < n; i++) {
    const v = g[i];
    const s = 1 / (1 + Math.exp(-v));
    gg[i] = gy[i] * u[i] * s * (1 + v * (1 - s));
    gu[i] = gy[i] * v * s;
  }
}

/** The elementwise family of the ref kernel table. */
export const elementwiseKernels: FamilyKernels<'elementwise'> = { binary, unary, unaryBackward, affine, fill, cast, swiglu, swigluBackward };
