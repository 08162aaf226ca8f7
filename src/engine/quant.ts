// Blocked integer storage types, reference quantize/dequantize only: q8_0 (32 values per block:
// one f16 scale d = max|x|/127, then 32 int8 q with x ≈ q·d; 34 bytes) and q4_0 (32 values per
// block: one f16 scale d = m/-8 where m is the value of largest magnitude, then 16 bytes of nibbles,
// value j in the low nibble of byte j and value j+16 in the high one, x ≈ (q-8)·d; 18 bytes). The
// byte layouts are GGUF's, so a GGUF reader can hand its blocks over unchanged. No kernel math here.

import { f16ToF32, f32ToF16 } from './half.js';

export const QK = 32;
export const Q8_0_BYTES = 2 + QK;
export const Q4_0_BYTES = 2 + QK / 2;

function writeScale(out: Uint8Array, at: number, d: number): number {
  const bits = f32ToF16(d);
  out[at] = bits & 0xff;
  out[at + 1] = bits >>> 8;
  // Quantize against the scale as stored, so dequantize(quantize(x)) uses the same d.
  return f16ToF32(bits);
}

function readScale(src: Uint8Array, at: number): number {
  return f16ToF32(src[at] | (src[at + 1] << 8));
}

/** Quantizes n values (n a multiple of 32) into q8_0 blocks. */
export function quantizeQ8_0(src: ArrayLike<number>, out: Uint8Array, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    const x0 = b * QK;
    const o = b * Q8_0_BYTES;
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(src[x0 + j]));
    const d = writeScale(out, o, amax / 127);
    const id = d !== 0 ? 1 / d : 0;
    for (let j = 0; j < QK; j++) {
      const q = Math.max(-127, Math.min(127, Math.round(src[x0 + j] * id)));
      out[o + 2 + j] = q & 0xff;
    }
  }
}

/** Dequantizes n values (n a multiple of 32) of q8_0 blocks into f32. */
export function dequantizeQ8_0(src: Uint8Array, out: Float32Array, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    const o = b * Q8_0_BYTES;
    const d = readScale(src, o);
    for (let j = 0; j < QK; j++) out[b * QK + j] = ((src[o + 2 + j] << 24) >> 24) * d;
  }
}

/** Quantizes n values (n a multiple of 32) into q4_0 blocks. */
export function quantizeQ4_0(src: ArrayLike<number>, out: Uint8Array, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    const x0 = b * QK;
    const o = b * Q4_0_BYTES;
    let m = 0;
    for (let j = 0; j < QK; j++) if (Math.abs(src[x0 + j]) > Math.abs(m)) m = src[x0 + j];
    const d = writeScale(out, o, m / -8);
    const id = d !== 0 ? 1 / d : 0;
    for (let j = 0; j < QK / 2; j++) {
      const lo = Math.min(15, Math.max(0, Math.floor(src[x0 + j] * id + 8.5)));
      const hi = Math.min(15, Math.max(0, Math.floor(src[x0 + j + QK / 2] * id + 8.5)));
      out[o + 2 + j] = lo | (hi << 4);
    }
  }
}

/** Dequantizes n values (n a multiple of 32) of q4_0 blocks into f32. */
export function dequantizeQ4_0(src: Uint8Array, out: Float32Array, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    const o = b * Q4_0_BYTES;
    const d = readScale(src, o);
    for (let j = 0; j < QK / 2; j++) {
      const byte = src[o + 2 + j];
      out[b * QK + j] = ((byte & 0x0f) - 8) * d;
      out[b * QK + j + QK / 2] = ((byte >>> 4) - 8) * d;
    }
  }
}
