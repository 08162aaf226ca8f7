// The dtype table: every storage type the engine knows, with its byte size and typed-array class,
// plus exact bf16/f16 <-> f32 conversions. Compute is always f32; bf16/f16 are storage formats
// (weights) that kernels widen in registers or that are converted on load. No math beyond conversion.
export const DTYPES = {
    f32: { bytes: 4, float: true, make: (b, o, n) => new Float32Array(b, o, n) },
    bf16: { bytes: 2, float: true, make: (b, o, n) => new Uint16Array(b, o, n) },
    f16: { bytes: 2, float: true, make: (b, o, n) => new Uint16Array(b, o, n) },
    i32: { bytes: 4, float: false, make: (b, o, n) => new Int32Array(b, o, n) },
};
export function isDType(s) {
    return s === 'f32' || s === 'bf16' || s === 'f16' || s === 'i32';
}
const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);
/** bf16 bits -> f32 value (exact). */
export function bf16ToF32(h) {
    u32buf[0] = (h & 0xffff) << 16;
    return f32buf[0];
}
/** f32 value -> bf16 bits, round to nearest even (NaN stays NaN), as PyTorch does. */
export function f32ToBf16(x) {
    f32buf[0] = x;
    const u = u32buf[0];
    if ((u & 0x7f800000) === 0x7f800000 && (u & 0x007fffff) !== 0)
        return ((u >>> 16) | 0x40) & 0xffff;
    const rounded = u + 0x7fff + ((u >>> 16) & 1);
    return (rounded >>> 16) & 0xffff;
}
/** IEEE half bits -> f32 value (exact, subnormals included). */
export function f16ToF32(h) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0)
        return s * m * 2 ** -24;
    if (e === 31)
        return m ? NaN : s * Infinity;
    return s * (1 + m / 1024) * 2 ** (e - 15);
}
/** f32 value -> IEEE half bits, round to nearest even, overflow to infinity. */
export function f32ToF16(x) {
    f32buf[0] = x;
    const u = u32buf[0];
    const sign = (u >>> 16) & 0x8000;
    const exp = (u >>> 23) & 0xff;
    let mant = u & 0x7fffff;
    if (exp === 0xff)
        return sign | 0x7c00 | (mant ? 0x200 : 0);
    let e = exp - 127 + 15;
    if (e >= 31)
        return sign | 0x7c00;
    if (e <= 0) {
        if (e < -10)
            return sign;
        mant |= 0x800000;
        const shift = 14 - e;
        const half = 1 << (shift - 1);
        let r = mant >>> shift;
        const rem = mant & ((1 << shift) - 1);
        if (rem > half || (rem === half && r & 1))
            r++;
        return sign | r;
    }
    let r = mant >>> 13;
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && r & 1)) {
        r++;
        if (r === 0x400) {
            r = 0;
            e++;
            if (e >= 31)
                return sign | 0x7c00;
        }
    }
    return sign | (e << 10) | r;
}
/** Reads element i of a float-storage array as an f32 number. */
export function readFloat(a, dtype, i) {
    if (dtype === 'bf16')
        return bf16ToF32(a[i]);
    if (dtype === 'f16')
        return f16ToF32(a[i]);
    return a[i];
}
//# sourceMappingURL=dtype.js.map