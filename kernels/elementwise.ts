// Elementwise kernels over an element range [start, end): fill, affine, unary ops and their
// gradients, binary ops (operands contiguous, a row vector broadcast over rows, or a scalar),
// SwiGLU and its gradient, and dtype casts. Sigmoid, SiLU and SwiGLU run four lanes on simd.ts's
// exp4; other transcendentals and scalar tails use AS's f32 Math (about 1 ulp). Arbitrary stride
// patterns and bf16<->f16 casts are not here (the wasm wrapper falls back to the ref kernel).

import { DT_BF16, one4, f16x4 as f16x4w, f16ToF32 as f16w, sigmoid4 } from './simd';

export function fill_f32(out: usize, value: f32, start: i32, end: i32, _scratch: usize): void {
  const v = f32x4.splat(value);
  let i = start;
  for (; i + 4 <= end; i += 4) v128.store(out + (<usize>i << 2), v);
  for (; i < end; i++) store<f32>(out + (<usize>i << 2), value);
}

export function affine(x: usize, out: usize, mul: f32, add: f32, start: i32, end: i32, _scratch: usize): void {
  const m = f32x4.splat(mul), a = f32x4.splat(add);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.add(f32x4.mul(v128.load(x + o), m), a));
  }
  for (; i < end; i++) store<f32>(out + (<usize>i << 2), load<f32>(x + (<usize>i << 2)) * mul + add);
}

// Unary op codes (abi.ts UNARY_OPS order).
const NEG = 0, EXP = 1, LOG = 2, SQRT = 3, RSQRT = 4, SIGMOID = 5, SILU = 6, TANH = 7, SQUARE = 8, RELU = 9, ABS = 10;

@inline function sigm(v: f32): f32 {
  return 1 / (1 + Mathf.exp(-v));
}

function unaryScalar(op: i32, v: f32): f32 {
  switch (op) {
    case NEG: return -v;
    case EXP: return Mathf.exp(v);
    case LOG: return Mathf.log(v);
    case SQRT: return Mathf.sqrt(v);
    case RSQRT: return <f32>(1 / Math.sqrt(<f64>v));
    case SIGMOID: return sigm(v);
    case SILU: return v * sigm(v);
    case TANH: return Mathf.tanh(v);
    case SQUARE: return v * v;
    case RELU: return v > 0 ? v : 0;
    default: return Mathf.abs(v);
  }
}

export function unary(op: i32, x: usize, out: usize, start: i32, end: i32, _scratch: usize): void {
  let i = start;
  if (op == SIGMOID || op == SILU) {
    for (; i + 4 <= end; i += 4) {
      const o = <usize>i << 2;
      const v = v128.load(x + o);
      const sg = sigmoid4(v);
      v128.store(out + o, op == SILU ? f32x4.mul(v, sg) : sg);
    }
  } else if (op == NEG || op == SQRT || op == SQUARE || op == RELU || op == ABS) {
    const zero = f32x4.splat(0);
    for (; i + 4 <= end; i += 4) {
      const o = <usize>i << 2;
      const v = v128.load(x + o);
      let r: v128;
      if (op == NEG) r = f32x4.neg(v);
      else if (op == SQRT) r = f32x4.sqrt(v);
      else if (op == SQUARE) r = f32x4.mul(v, v);
      else if (op == RELU) r = v128.and(v, f32x4.gt(v, zero));
      else r = f32x4.abs(v);
      v128.store(out + o, r);
    }
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, unaryScalar(op, load<f32>(x + o)));
  }
}

export function unary_backward(op: i32, x: usize, y: usize, gy: usize, gx: usize, start: i32, end: i32, _scratch: usize): void {
  let i = start;
  if (op == SILU) {
    const one = one4();
    for (; i + 4 <= end; i += 4) {
      const o = <usize>i << 2;
      const v = v128.load(x + o);
      const sg = sigmoid4(v);
      v128.store(gx + o, f32x4.mul(f32x4.mul(v128.load(gy + o), sg), f32x4.add(one, f32x4.mul(v, f32x4.sub(one, sg)))));
    }
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(gy + o);
    let r: f32;
    switch (op) {
      case NEG: r = -g; break;
      case EXP: r = g * load<f32>(y + o); break;
      case LOG: r = g / load<f32>(x + o); break;
      case SQRT: r = (0.5 * g) / load<f32>(y + o); break;
      case RSQRT: { const v = load<f32>(y + o); r = -0.5 * g * v * v * v; break; }
      case SIGMOID: { const v = load<f32>(y + o); r = g * v * (1 - v); break; }
      case SILU: { const v = load<f32>(x + o); const s = sigm(v); r = g * s * (1 + v * (1 - s)); break; }
      case TANH: { const v = load<f32>(y + o); r = g * (1 - v * v); break; }
      case SQUARE: r = 2 * g * load<f32>(x + o); break;
      case RELU: r = load<f32>(x + o) > 0 ? g : 0; break;
      default: { const v = load<f32>(x + o); r = v > 0 ? g : v < 0 ? -g : 0; }
    }
    store<f32>(gx + o, r);
  }
}

// Binary op codes: add, sub, mul, div, max, min.
@inline function bin4(op: i32, a: v128, b: v128): v128 {
  switch (op) {
    case 0: return f32x4.add(a, b);
    case 1: return f32x4.sub(a, b);
    case 2: return f32x4.mul(a, b);
    case 3: return f32x4.div(a, b);
    case 4: return f32x4.max(a, b);
    default: return f32x4.min(a, b);
  }
}

@inline function bin1(op: i32, a: f32, b: f32): f32 {
  switch (op) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    case 3: return a / b;
    case 4: return Mathf.max(a, b);
    default: return Mathf.min(a, b);
  }
}

/**
 * out[e] = a[.] op b[.] for flat e in [start, end) of a [rows, d] output. Operand modes: 0 dense
 * (index e), 1 row vector (index e % d), 2 scalar (index 0).
 */
export function binary(op: i32, a: usize, b: usize, out: usize, d: i32, aMode: i32, bMode: i32, start: i32, end: i32, _scratch: usize): void {
  let e = start;
  while (e < end) {
    const r = e / d;
    const c0 = e - r * d;
    const len = min(d - c0, end - e);
    const pa = aMode == 0 ? a + (<usize>e << 2) : aMode == 1 ? a + (<usize>c0 << 2) : a;
    const pb = bMode == 0 ? b + (<usize>e << 2) : bMode == 1 ? b + (<usize>c0 << 2) : b;
    const po = out + (<usize>e << 2);
    const sa: usize = aMode == 2 ? 0 : 16, sb: usize = bMode == 2 ? 0 : 16;
    let j = 0;
    let qa = pa, qb = pb;
    for (; j + 4 <= len; j += 4) {
      const va = aMode == 2 ? v128.load32_splat(qa) : v128.load(qa);
      const vb = bMode == 2 ? v128.load32_splat(qb) : v128.load(qb);
      v128.store(po + (<usize>j << 2), bin4(op, va, vb));
      qa += sa;
      qb += sb;
    }
    for (; j < len; j++) {
      const va = load<f32>(aMode == 2 ? pa : pa + (<usize>j << 2));
      const vb = load<f32>(bMode == 2 ? pb : pb + (<usize>j << 2));
      store<f32>(po + (<usize>j << 2), bin1(op, va, vb));
    }
    e += len;
  }
}

export function swiglu(g: usize, u: usize, out: usize, start: i32, end: i32, _scratch: usize): void {
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(g + o);
    v128.store(out + o, f32x4.mul(f32x4.mul(v, sigmoid4(v)), v128.load(u + o)));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(g + o);
    store<f32>(out + o, v * sigm(v) * load<f32>(u + o));
  }
}

export function swiglu_backward(g: usize, u: usize, gy: usize, gg: usize, gu: usize, start: i32, end: i32, _scratch: usize): void {
  let i = start;
  const one = one4();
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(g + o);
    const sg = sigmoid4(v);
    const y = v128.load(gy + o);
    const yu = f32x4.mul(y, v128.load(u + o));
    v128.store(gg + o, f32x4.mul(f32x4.mul(yu, sg), f32x4.add(one, f32x4.mul(v, f32x4.sub(one, sg)))));
    v128.store(gu + o, f32x4.mul(f32x4.mul(y, v), sg));
  }
  for (; i < end; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(g + o);
    const s = sigm(v);
    const y = load<f32>(gy + o);
    const uu = load<f32>(u + o);
    store<f32>(gg + o, y * uu * s * (1 + v * (1 - s)));
    store<f32>(gu + o, y * v * s);
  }
}

// ---- casts ------------------------------------------------------------------------------------

export function cast_f32_bf16(x: usize, out: usize, start: i32, end: i32, _scratch: usize): void {
  for (let i = start; i < end; i++) {
    const u = load<u32>(x + (<usize>i << 2));
    let h: u32;
    if ((u & 0x7f800000) == 0x7f800000 && (u & 0x007fffff) != 0) h = (u >> 16) | 0x40;
    else h = (u + 0x7fff + ((u >> 16) & 1)) >> 16;
    store<u16>(out + (<usize>i << 1), <u16>h);
  }
}

@inline function toF16(x: f32): u32 {
  const u = reinterpret<u32>(x);
  const sign = (u >> 16) & 0x8000;
  const exp = <i32>((u >> 23) & 0xff);
  let mant = u & 0x7fffff;
  if (exp == 0xff) return sign | 0x7c00 | (mant != 0 ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = <u32>(14 - e);
    const half: u32 = 1 << (shift - 1);
    let r = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    if (rem > half || (rem == half && (r & 1) != 0)) r++;
    return sign | r;
  }
  let r = mant >> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (r & 1) != 0)) {
    r++;
    if (r == 0x400) {
      r = 0;
      e++;
      if (e >= 31) return sign | 0x7c00;
    }
  }
  return sign | (<u32>e << 10) | r;
}

export function cast_f32_f16(x: usize, out: usize, start: i32, end: i32, _scratch: usize): void {
  for (let i = start; i < end; i++) store<u16>(out + (<usize>i << 1), <u16>toF16(load<f32>(x + (<usize>i << 2))));
}

/** 16-bit storage (dt 1 bf16, 2 f16) -> f32. */
export function cast_h_f32(x: usize, out: usize, dt: i32, start: i32, end: i32, _scratch: usize): void {
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const u = v128.load16x4_u(x + (<usize>i << 1));
    v128.store(out + (<usize>i << 2), dt == DT_BF16 ? i32x4.shl(u, 16) : f16x4w(u));
  }
  for (; i < end; i++) {
    const h = <u32>load<u16>(x + (<usize>i << 1));
    store<f32>(out + (<usize>i << 2), dt == DT_BF16 ? reinterpret<f32>(h << 16) : f16w(h));
  }
}

export function cast_i32_f32(x: usize, out: usize, start: i32, end: i32, _scratch: usize): void {
  let i = start;
  for (; i + 4 <= end; i += 4) v128.store(out + (<usize>i << 2), f32x4.convert_i32x4_s(v128.load(x + (<usize>i << 2))));
  for (; i < end; i++) store<f32>(out + (<usize>i << 2), <f32>load<i32>(x + (<usize>i << 2)));
}

/** f32 -> i32 truncating toward zero, saturating, NaN -> 0 (i32.trunc_sat_f32_s). */
export function cast_f32_i32(x: usize, out: usize, start: i32, end: i32, _scratch: usize): void {
  let i = start;
  for (; i + 4 <= end; i += 4) v128.store(out + (<usize>i << 2), i32x4.trunc_sat_f32x4_s(v128.load(x + (<usize>i << 2))));
  for (; i < end; i++) store<i32>(out + (<usize>i << 2), <i32>load<f32>(x + (<usize>i << 2)));
}

/** Byte copy of [start, end) elements of size es. */
export function copy_elems(x: usize, out: usize, es: i32, start: i32, end: i32, _scratch: usize): void {
  memory.copy(out + <usize>start * <usize>es, x + <usize>start * <usize>es, <usize>(end - start) * <usize>es);
}
