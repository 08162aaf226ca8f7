// Input validation shared by every op: liveness, dtype and shape checks, broadcasting rules.
// Every check throws ShapeError naming the op and the shapes involved, before any kernel runs.
// No computation happens here.
import { ShapeError, fmtShape } from '../../util/errors.js';
/** Checks that all tensors are live, share one engine, and returns it. */
export function engineOf(op, ...ts) {
    const e = ts[0].engine;
    for (const t of ts)
        e.assertLive(op, t);
    return e;
}
export function expectDtype(op, t, ...dtypes) {
    if (!dtypes.includes(t.dtype)) {
        throw new ShapeError(`${op}: expected ${dtypes.join(' or ')}, got ${t.dtype} tensor ${fmtShape(t.shape)}`);
    }
}
export function expectRank(op, t, rank, what = 'input') {
    if (t.rank !== rank)
        throw new ShapeError(`${op}: ${what} must have rank ${rank}, got ${fmtShape(t.shape)}`);
}
export function expectShape(op, t, shape, what = 'input') {
    const ok = t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
    if (!ok)
        throw new ShapeError(`${op}: ${what} must have shape ${fmtShape(shape)}, got ${fmtShape(t.shape)}`);
}
/** Normalises a possibly negative axis for a tensor of the given rank. */
export function normAxis(op, axis, rank) {
    const a = axis < 0 ? axis + rank : axis;
    if (!Number.isInteger(a) || a < 0 || a >= rank)
        throw new ShapeError(`${op}: axis ${axis} out of range for rank ${rank}`);
    return a;
}
/** numpy broadcasting of two shapes. */
export function broadcastShapes(op, a, b) {
    const r = Math.max(a.length, b.length);
    const out = new Array(r);
    for (let i = 0; i < r; i++) {
        const da = a[a.length - r + i] ?? 1;
        const db = b[b.length - r + i] ?? 1;
        if (da !== db && da !== 1 && db !== 1) {
            throw new ShapeError(`${op}: shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast together`);
        }
        out[i] = da === 1 ? db : da;
    }
    return out;
}
/** Element strides of `shape` read as `outShape` (0 on broadcast axes). */
export function broadcastStrides(shape, outShape) {
    const r = outShape.length;
    const s = new Array(r).fill(0);
    let acc = 1;
    for (let i = shape.length - 1; i >= 0; i--) {
        const oi = r - shape.length + i;
        s[oi] = shape[i] === 1 && outShape[oi] !== 1 ? 0 : acc;
        acc *= shape[i];
    }
    return s;
}
/** Checks an i32 index tensor's values lie in [0, limit) (ignoring `ignore`), naming the first bad one. */
export function checkIndices(op, ids, limit, what, ignore) {
    for (let i = 0; i < ids.length; i++) {
        const v = ids[i];
        if ((v < 0 || v >= limit) && v !== ignore) {
            throw new ShapeError(`${op}: ${what} ${v} at position ${i} is out of range [0, ${limit})`);
        }
    }
}
//# sourceMappingURL=check.js.map