// Elementwise ops with numpy broadcasting: add/sub/mul/div/maximum/minimum, the unary functions,
// affine (x·a + b), and dtype casts. Each validates, allocates its output, runs one kernel and
// records one primitive. Gradients are in autograd/grad_rules.ts.
import { ShapeError, fmtShape } from '../../util/errors.js';
import { record } from '../autograd/primitives.js';
import { broadcastShapes, broadcastStrides, engineOf, expectDtype } from './check.js';
function binary(op, prim, a, b) {
    const e = engineOf(op, a, b);
    expectDtype(op, a, 'f32');
    expectDtype(op, b, 'f32');
    const shape = broadcastShapes(op, a.shape, b.shape); // [...broadcast]
    const out = e.empty(shape, 'f32', { zero: false });
    e.k.binary(op, a.f32(), b.f32(), out.f32(), shape, broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape));
    if (prim === 'minmax')
        return record('minmax', [a, b], out, { op: op }, null);
    return record(prim, [a, b], out, null, null);
}
export const add = (a, b) => binary('add', 'add', a, b);
export const sub = (a, b) => binary('sub', 'sub', a, b);
export const mul = (a, b) => binary('mul', 'mul', a, b);
export const div = (a, b) => binary('div', 'div', a, b);
export const maximum = (a, b) => binary('max', 'minmax', a, b);
export const minimum = (a, b) => binary('min', 'minmax', a, b);
export function unary(op, x) {
    const e = engineOf(op, x);
    expectDtype(op, x, 'f32');
    const out = e.empty(x.shape, 'f32', { zero: false });
    e.k.unary(op, x.f32(), out.f32());
    return record('unary', [x], out, { op }, null);
}
export const neg = (x) => unary('neg', x);
export const exp = (x) => unary('exp', x);
export const log = (x) => unary('log', x);
export const sqrt = (x) => unary('sqrt', x);
export const rsqrt = (x) => unary('rsqrt', x);
export const sigmoid = (x) => unary('sigmoid', x);
export const silu = (x) => unary('silu', x);
export const tanh = (x) => unary('tanh', x);
export const square = (x) => unary('square', x);
export const relu = (x) => unary('relu', x);
export const abs = (x) => unary('abs', x);
/** x · mul + add (scalars). */
export function affine(x, mulBy, addTo = 0) {
    const e = engineOf('affine', x);
    expectDtype('affine', x, 'f32');
    if (!Number.isFinite(mulBy) || !Number.isFinite(addTo)) {
        throw new ShapeError(`affine: scalars must be finite, got mul ${mulBy}, add ${addTo}`);
    }
    const out = e.empty(x.shape, 'f32', { zero: false });
    e.k.affine(x.f32(), out.f32(), mulBy, addTo);
    return record('affine', [x], out, { mul: mulBy, add: addTo }, null);
}
export const scale = (x, s) => affine(x, s, 0);
export const addScalar = (x, s) => affine(x, 1, s);
/** Converts between storage dtypes (bf16/f16 round to nearest even). Differentiable for float types. */
export function cast(x, dtype) {
    const e = engineOf('cast', x);
    if (x.dtype === dtype)
        return x;
    const out = e.empty(x.shape, dtype, { zero: false });
    e.k.cast(x.data, x.dtype, out.data, dtype);
    if (dtype === 'i32' || x.dtype === 'i32') {
        if (x.requiresGrad && e.gradEnabled)
            throw new ShapeError(`cast: cannot differentiate ${x.dtype} -> ${dtype} ${fmtShape(x.shape)}`);
        return out;
    }
    return record('cast', [x], out, { dtype }, null);
}
//# sourceMappingURL=elementwise.js.map