// The SIMD shim every kernel is written against: 4-lane f32 load/store/fma/horizontal sum and max,
// e^x and sigmoid, bf16/f16 -> f32 widening (scalar and 4-lane), a 4x4 transpose and a row max.
// The same sources build twice: with relaxed SIMD enabled fma4 is f32x4.relaxed_madd (a real FMA),
// otherwise mul + add. No kernels live here; nothing here touches memory beyond the pointers given
// and the read-only e^x constant table in static data.

@inline export function load4(p: usize): v128 {
  return v128.load(p);
}

@inline export function store4(p: usize, v: v128): void {
  v128.store(p, v);
}

@inline export function splat4(x: f32): v128 {
  return f32x4.splat(x);
}

/** a·b + c. */
@inline export function fma4(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(f32x4.mul(a, b), c);
  }
}

@inline export function hsum4(v: v128): f32 {
  const s = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  const t = f32x4.add(s, v128.shuffle<f32>(s, s, 1, 0, 3, 2));
  return f32x4.extract_lane(t, 0);
}

@inline export function hmax4(v: v128): f32 {
  const s = f32x4.max(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  const t = f32x4.max(s, v128.shuffle<f32>(s, s, 1, 0, 3, 2));
  return f32x4.extract_lane(t, 0);
}

// ---- storage types: 0 = f32, 1 = bf16, 2 = f16 ------------------------------------------------

export const DT_F32: i32 = 0;
export const DT_BF16: i32 = 1;
export const DT_F16: i32 = 2;

@inline export function bf16ToF32(h: u32): f32 {
  return reinterpret<f32>(h << 16);
}

/** Exact IEEE half -> f32 (subnormals via the 2^112 scale, inf/NaN by exponent fix-up). */
@inline export function f16ToF32(h: u32): f32 {
  const m = reinterpret<f32>((h & 0x7fff) << 13) * reinterpret<f32>(0x77800000); // 2^112
  let u = reinterpret<u32>(m);
  if ((h & 0x7c00) == 0x7c00) u |= 0x7f800000;
  return reinterpret<f32>(u | ((h & 0x8000) << 16));
}

/** Four u16 lanes already zero-extended to u32 (bf16 bits) -> f32x4. */
@inline export function bf16x4(u: v128): v128 {
  return i32x4.shl(u, 16);
}

// ---- e^x ----------------------------------------------------------------------------------
// The constants of the e^x family live in one static table and are read with load32_splat where
// they are used: a v128.const (binaryen folds every splat of a literal into one) costs V8 three
// instructions (imm64 move, movq, unpack) each time it appears in a loop body, a splat load one
// (measured: sigmoid over L2-resident data 7.3 -> 4.6 ms per 4M elements).

const EXP_K = memory.data<f32>([
  1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5, 1, // 0..5: Taylor coefficients of e^r, degree 6 down to 1
  -87.33654, 88.37626, 1.44269504, 12582912.0, 0.693359375, -2.12194440e-4, // 6..11: clamp, log2 e, 1.5·2^23, ln 2 hi/lo
  -Infinity, // 12: the attention kernels' mask test
]);

/** Entry i of EXP_K in all four lanes (one splat load). */
@inline export function expK(i: i32): v128 {
  return v128.load32_splat(EXP_K + (<usize>i << 2));
}

/** 1.0 in all four lanes, from the table (a splat load: cheaper in a loop than the literal). */
@inline export function one4(): v128 {
  return expK(5);
}

/** e^r for |r| ≤ 0.35 by its degree-6 Taylor polynomial in Horner form (plain mul/add: both builds round alike). */
@inline export function expPoly6(r: v128): v128 {
  let p = expK(0);
  p = f32x4.add(f32x4.mul(p, r), expK(1));
  p = f32x4.add(f32x4.mul(p, r), expK(2));
  p = f32x4.add(f32x4.mul(p, r), expK(3));
  p = f32x4.add(f32x4.mul(p, r), expK(4));
  p = f32x4.add(f32x4.mul(p, r), expK(5));
  p = f32x4.add(f32x4.mul(p, r), expK(5));
  return p;
}

/**
 * e^v per lane, for the sigmoid family and cross entropy: v clamped to [−87.34, 88.38] (results stay
 * normal, so sigmoid saturates instead of producing denormals); e^v = 2^n · e^r with
 * n = round(v·log2 e), r = v − n·ln 2 in two parts, e^r by its degree-6 Taylor polynomial (|r| ≤ 0.35:
 * relative error < 2e-7, about 1 ulp). Plain mul/add so both builds round alike. The clamp is
 * pmin/pmax (one instruction each; wasm min/max cost several for their NaN rules; NaN still stays NaN
 * as the value is the first operand) and n is rounded by adding 1.5·2^23 (round to nearest even, as
 * f32x4.nearest; its bits hold n, so no float-int conversion): the same values as nearest + trunc.
 */
@inline export function exp4(v: v128): v128 {
  const x = f32x4.pmin(f32x4.pmax(v, expK(6)), expK(7));
  return expClamped4(x);
}

/**
 * e^x per lane for x already within [−87.34, 88.38] (exp4 after its clamp; the attention kernels
 * clamp only below, their arguments being ≤ 0).
 */
@inline export function expClamped4(x: v128): v128 {
  const t = f32x4.add(f32x4.mul(x, expK(8)), expK(9));
  const n = f32x4.sub(t, expK(9));
  const r = f32x4.sub(f32x4.sub(x, f32x4.mul(n, expK(10))), f32x4.mul(n, expK(11)));
  const p = expPoly6(r);
  // 2^n: (n + 127) << 23, formed as (t << 23) + bits(1.0) (the same integer mod 2^32, no extra constant).
  return f32x4.mul(p, i32x4.add(i32x4.shl(t, 23), expK(5)));
}

/** 1 / (1 + e^−v) per lane (exp4). */
@inline export function sigmoid4(v: v128): v128 {
  const one = one4();
  return f32x4.div(one, f32x4.add(one, exp4(f32x4.neg(v))));
}

/** Four u16 lanes already zero-extended to u32 (f16 bits) -> f32x4, exact. */
@inline export function f16x4(u: v128): v128 {
  const mag = i32x4.shl(v128.and(u, i32x4.splat(0x7fff)), 13);
  let f = f32x4.mul(mag, f32x4.splat(reinterpret<f32>(0x77800000)));
  const e = v128.and(u, i32x4.splat(0x7c00));
  f = v128.or(f, v128.and(i32x4.eq(e, i32x4.splat(0x7c00)), i32x4.splat(0x7f800000)));
  return v128.or(f, i32x4.shl(v128.and(u, i32x4.splat(0x8000)), 16));
}

/** Four consecutive elements of storage type dt at p, widened to f32x4. */
@inline export function loadW4(p: usize, dt: i32): v128 {
  if (dt == DT_F32) return v128.load(p);
  const u = v128.load16x4_u(p);
  return dt == DT_BF16 ? bf16x4(u) : f16x4(u);
}

/** One element of storage type dt at p, widened to f32. */
@inline export function loadW1(p: usize, dt: i32): f32 {
  if (dt == DT_F32) return load<f32>(p);
  const h = <u32>load<u16>(p);
  return dt == DT_BF16 ? bf16ToF32(h) : f16ToF32(h);
}

/** Element size in bytes of storage type dt. */
@inline export function dtSize(dt: i32): usize {
  return dt == DT_F32 ? 4 : 2;
}

// ---- 4x4 transpose (rows r0..r3 -> columns) ----------------------------------------------------

@inline export function tr0(r0: v128, r1: v128, r2: v128, r3: v128): v128 {
  return v128.shuffle<f32>(v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), 0, 1, 4, 5);
}
@inline export function tr1(r0: v128, r1: v128, r2: v128, r3: v128): v128 {
  return v128.shuffle<f32>(v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), 2, 3, 6, 7);
}
@inline export function tr2(r0: v128, r1: v128, r2: v128, r3: v128): v128 {
  return v128.shuffle<f32>(v128.shuffle<f32>(r0, r1, 2, 6, 3, 7), v128.shuffle<f32>(r2, r3, 2, 6, 3, 7), 0, 1, 4, 5);
}
@inline export function tr3(r0: v128, r1: v128, r2: v128, r3: v128): v128 {
  return v128.shuffle<f32>(v128.shuffle<f32>(r0, r1, 2, 6, 3, 7), v128.shuffle<f32>(r2, r3, 2, 6, 3, 7), 2, 3, 6, 7);
}

// ---- row helpers shared by kernel families -------------------------------------------------

/** Max over one f32 row of dim elements (-Infinity for an empty row). */
@inline export function rowMax(p: usize, dim: i32): f32 {
  let m = f32x4.splat(-Infinity);
  let j = 0;
  for (; j + 4 <= dim; j += 4) m = f32x4.max(m, v128.load(p + (<usize>j << 2)));
  let s = hmax4(m);
  for (; j < dim; j++) s = max(s, load<f32>(p + (<usize>j << 2)));
  return s;
}
