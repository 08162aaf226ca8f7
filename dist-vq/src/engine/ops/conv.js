// Image ops for the VQGAN: 2-D convolution (NCHW, any kernel size, stride, asymmetric zero padding)
// and nearest-neighbour upsampling by an integer factor. Pooling and transposed convolutions are
// not needed by Chameleon and are left out.
import { ShapeError, fmtShape } from '../../util/errors.js';
import { record } from '../autograd/primitives.js';
import { engineOf, expectDtype, expectRank } from './check.js';
/** Full kernel parameters from tensor shapes and geometry. */
export function convParams(x, w, g) {
    const [n, cin, h, wd] = x;
    const [cout, , kh, kw] = w;
    const outH = Math.floor((h + g.padT + g.padB - kh) / g.stride) + 1;
    const outW = Math.floor((wd + g.padL + g.padR - kw) / g.stride) + 1;
    return { n, cin, h, w: wd, cout, kh, kw, outH, outW, ...g };
}
/** x [N, Cin, H, W] * w [Cout, Cin, kh, kw] (+ b [Cout]) -> [N, Cout, outH, outW]. */
export function conv2d(x, w, b, opts = {}) {
    const e = engineOf('conv2d', x, w, ...(b ? [b] : []));
    expectDtype('conv2d', x, 'f32');
    expectDtype('conv2d', w, 'f32');
    expectRank('conv2d', x, 4, 'input');
    expectRank('conv2d', w, 4, 'weight');
    const stride = opts.stride ?? 1;
    const pad = opts.padding ?? 0;
    const [padT, padL, padB, padR] = typeof pad === 'number' ? [pad, pad, pad, pad] : pad;
    const g = { stride, padT, padL, padB, padR };
    const desc = `input ${fmtShape(x.shape)}, weight ${fmtShape(w.shape)}`;
    if (!Number.isInteger(stride) || stride < 1 || [padT, padL, padB, padR].some((v) => !Number.isInteger(v) || v < 0)) {
        throw new ShapeError(`conv2d: invalid stride ${stride} or padding [${padT}, ${padL}, ${padB}, ${padR}] (${desc})`);
    }
    if (x.shape[1] !== w.shape[1])
        throw new ShapeError(`conv2d: input has ${x.shape[1]} channels, weight expects ${w.shape[1]} (${desc})`);
    if (b) {
        expectDtype('conv2d', b, 'f32');
        if (b.rank !== 1 || b.shape[0] !== w.shape[0])
            throw new ShapeError(`conv2d: bias ${fmtShape(b.shape)} must be [${w.shape[0]}] (${desc})`);
    }
    const p = convParams(x.shape, w.shape, g);
    if (p.outH <= 0 || p.outW <= 0)
        throw new ShapeError(`conv2d: kernel larger than padded input (${desc})`);
    const out = e.empty([p.n, p.cout, p.outH, p.outW], 'f32', { zero: false }); // [N, Cout, oh, ow]
    e.k.conv2d(x.f32(), w.f32(), b ? b.f32() : null, out.f32(), p);
    return record('conv2d', b ? [x, w, b] : [x, w], out, { geometry: g, bias: b !== null }, null);
}
/** Nearest-neighbour upsampling of x [N, C, H, W] by an integer factor. */
export function upsampleNearest(x, factor = 2) {
    const e = engineOf('upsampleNearest', x);
    expectDtype('upsampleNearest', x, 'f32');
    expectRank('upsampleNearest', x, 4);
    if (!Number.isInteger(factor) || factor < 1)
        throw new ShapeError(`upsampleNearest: factor ${factor} must be a positive integer`);
    const [n, c, h, w] = x.shape;
    const out = e.empty([n, c, h * factor, w * factor], 'f32', { zero: false }); // [N, C, fH, fW]
    e.k.upsampleNearest(x.f32(), out.f32(), n * c, h, w, factor);
    return record('upsample', [x], out, { factor }, null);
}
//# sourceMappingURL=conv.js.map