// Helpers shared by the ref kernel files: lazily built bf16/f16 -> f32 lookup tables, widening of a run of
// bf16/f16 bits to f32, and stride coalescing for the N-d strided loops (binary, broadcast, permute).
// No kernels live here.
import { bf16ToF32, f16ToF32 } from '../../dtype.js';
let f16Lut = null;
/** All 65536 f16 bit patterns widened to f32 (256 KiB, built on first use). */
export function f16Table() {
    if (f16Lut === null) {
        const t = new Float32Array(65536);
        for (let h = 0; h < 65536; h++)
            t[h] = f16ToF32(h);
        f16Lut = t;
    }
    return f16Lut;
}
let bf16Lut = null;
/** All 65536 bf16 bit patterns widened to f32 (256 KiB, built on first use). */
export function bf16Table() {
    if (bf16Lut === null) {
        const t = new Float32Array(65536);
        const u = new Uint32Array(t.buffer);
        for (let h = 0; h < 65536; h++)
            u[h] = h << 16;
        bf16Lut = t;
    }
    return bf16Lut;
}
/** out[outOff + j] = src[srcOff + j] read as dtype and widened to f32, for j < len. */
export function widenRun(src, srcDtype, srcOff, out, outOff, len) {
    const wide = out;
    if (srcDtype === 'bf16' && !(wide instanceof Float32Array)) {
        // Float64Array storage (the float64 gradient oracle): no bit tricks.
        for (let j = 0; j < len; j++)
            wide[outOff + j] = bf16ToF32(src[srcOff + j]);
    }
    else if (srcDtype === 'bf16') {
        const u = new Uint32Array(out.buffer, out.byteOffset + outOff * 4, len);
        for (let j = 0; j < len; j++)
            u[j] = src[srcOff + j] << 16;
    }
    else if (srcDtype === 'f16') {
        const t = f16Table();
        for (let j = 0; j < len; j++)
            out[outOff + j] = t[src[srcOff + j]];
    }
    else {
        for (let j = 0; j < len; j++)
            out[outOff + j] = src[srcOff + j];
    }
}
/**
 * Drops size-1 axes and merges adjacent axes that are contiguous with each other in every operand
 * (stride[d] = stride[d+1]·shape[d+1]), so strided loops run over as few, as long, axes as possible.
 * The output is assumed dense in `shape`. Returns rank ≥ 1 (a scalar becomes shape [1]).
 */
export function coalesce(shape, strides) {
    const outShape = [];
    const outStrides = strides.map(() => []);
    for (let d = 0; d < shape.length; d++) {
        if (shape[d] === 1)
            continue;
        const last = outShape.length - 1;
        let merge = last >= 0;
        if (merge) {
            for (let s = 0; s < strides.length; s++) {
                if (outStrides[s][last] !== strides[s][d] * shape[d]) {
                    merge = false;
                    break;
                }
            }
        }
        if (merge) {
            outShape[last] *= shape[d];
            for (let s = 0; s < strides.length; s++)
                outStrides[s][last] = strides[s][d];
        }
        else {
            outShape.push(shape[d]);
            for (let s = 0; s < strides.length; s++)
                outStrides[s].push(strides[s][d]);
        }
    }
    if (outShape.length === 0) {
        outShape.push(1);
        for (let s = 0; s < strides.length; s++)
            outStrides[s].push(0);
    }
    return { shape: outShape, strides: outStrides };
}
/** Number of elements of a shape (1 for a scalar). */
export function numel(shape) {
    let n = 1;
    for (let d = 0; d < shape.length; d++)
        n *= shape[d];
    return n;
}
//# sourceMappingURL=util.js.map