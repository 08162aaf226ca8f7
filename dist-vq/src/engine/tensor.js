// The Tensor record: shape, dtype, a contiguous typed-array view of backend memory, the scope that
// owns that memory, and the autograd links (the node that produced it, the gradient of a leaf).
// Tensors are always contiguous and row-major; views with strides do not exist (permute copies).
// No math lives here: ops are free functions in engine/ops.
import { ChameleonError, fmtShape } from '../util/errors.js';
import { bf16ToF32, f16ToF32 } from './dtype.js';
export class Tensor {
    engine;
    shape;
    dtype;
    data;
    scope;
    /** Set by ops when recording for autograd: the primitive application that produced this tensor. */
    node = null;
    /** For leaves that require grad: the accumulated gradient (lives in the engine's grads arena). */
    grad = null;
    requiresGrad = false;
    /** Optional name (parameters carry their checkpoint key). */
    name = '';
    constructor(engine, shape, dtype, data, 
    /** Id of the engine scope that owns the memory; 0 = never released by a scope. */
    scope) {
        this.engine = engine;
        this.shape = shape;
        this.dtype = dtype;
        this.data = data;
        this.scope = scope;
        if (data.length !== numel(shape)) {
            throw new ChameleonError(`Tensor: data length ${data.length} does not match shape ${fmtShape(shape)}`);
        }
    }
    get size() {
        return this.data.length;
    }
    get rank() {
        return this.shape.length;
    }
    /** The f32 data; throws if the tensor is not f32. */
    f32() {
        if (this.dtype !== 'f32')
            throw new ChameleonError(`expected an f32 tensor, got ${this.dtype} ${fmtShape(this.shape)}`);
        return this.data;
    }
    /** The i32 data; throws if the tensor is not i32. */
    i32() {
        if (this.dtype !== 'i32')
            throw new ChameleonError(`expected an i32 tensor, got ${this.dtype} ${fmtShape(this.shape)}`);
        return this.data;
    }
    /** A copy of the values as plain numbers (bf16/f16 widened). */
    toArray() {
        const out = new Array(this.size);
        const d = this.data;
        if (this.dtype === 'bf16')
            for (let i = 0; i < d.length; i++)
                out[i] = bf16ToF32(d[i]);
        else if (this.dtype === 'f16')
            for (let i = 0; i < d.length; i++)
                out[i] = f16ToF32(d[i]);
        else
            for (let i = 0; i < d.length; i++)
                out[i] = d[i];
        return out;
    }
    /** A copy of the values as f32 (widening bf16/f16, converting i32). */
    toFloat32() {
        return Float32Array.from(this.toArray());
    }
    /** The single value of a one-element tensor. */
    item() {
        if (this.size !== 1)
            throw new ChameleonError(`item(): tensor has shape ${fmtShape(this.shape)}, not one element`);
        return this.toArray()[0];
    }
    /** Marks a leaf as trainable (its gradient accumulates into `grad`). Returns this. */
    trainable(on = true) {
        this.requiresGrad = on;
        return this;
    }
    toString() {
        return `Tensor(${this.name ? this.name + ' ' : ''}${this.dtype} ${fmtShape(this.shape)})`;
    }
}
export function numel(shape) {
    let n = 1;
    for (const d of shape)
        n *= d;
    return n;
}
/** Row-major strides of a shape, in elements. */
export function stridesOf(shape) {
    const s = new Array(shape.length);
    let acc = 1;
    for (let i = shape.length - 1; i >= 0; i--) {
        s[i] = acc;
        acc *= shape[i];
    }
    return s;
}
export function sameShape(a, b) {
    if (a.length !== b.length)
        return false;
    for (let i = 0; i < a.length; i++)
        if (a[i] !== b[i])
            return false;
    return true;
}
//# sourceMappingURL=tensor.js.map