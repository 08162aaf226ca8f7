// The table of native (wasm) kernels, by family: every kernel listed here runs a wrapper of
// ./<family>.ts (native-or-ref decision, thread split, argument packing) over the exports of
// kernels/<family>.ts; every kernel not listed is the ref kernel run over views of wasm memory.

import type { KernelName, Kernels } from '../../../kernels.js';
import * as attention from './attention.js';
import type { NativeContext } from './context.js';
import * as conv from './conv.js';
import * as elementwise from './elementwise.js';
import * as loss from './loss.js';
import * as matmul from './matmul.js';
import * as movement from './movement.js';
import * as norm from './norm.js';
import * as optim from './optim.js';

/** The kernel table: native where implemented, the ref kernel (over views of wasm memory) elsewhere. */
export function buildKernels(ctx: NativeContext): { kernels: Kernels; native: ReadonlySet<KernelName> } {
  const native: Partial<Kernels> = {
    // matmul
    gemm: (a, b, c, p) => matmul.gemm(ctx, a, b, c, p),
    // elementwise
    binary: (op, a, b, out, s, as, bs) => elementwise.binary(ctx, op, a, b, out, s, as, bs),
    unary: (op, x, out) => elementwise.unary(ctx, op, x, out),
    unaryBackward: (op, x, y, gy, gx) => elementwise.unaryBackward(ctx, op, x, y, gy, gx),
    affine: (x, out, mul, add) => elementwise.affine(ctx, x, out, mul, add),
    fill: (out, value) => elementwise.fill(ctx, out, value),
    cast: (x, xd, out, od) => elementwise.cast(ctx, x, xd, out, od),
    swiglu: (g, u, out) => elementwise.swiglu(ctx, g, u, out),
    swigluBackward: (g, u, gy, gg, gu) => elementwise.swigluBackward(ctx, g, u, gy, gg, gu),
    // movement
    reduce: (op, x, out, outer, len, inner) => movement.reduce(ctx, op, x, out, outer, len, inner),
    gather: (table, dt, ids, out, dim) => movement.gather(ctx, table, dt, ids, out, dim),
    scatterAdd: (g, ids, gt, dim) => movement.scatterAdd(ctx, g, ids, gt, dim),
    // norm
    rmsnorm: (x, w, out, rstd, rows, dim, eps) => norm.rmsnorm(ctx, x, w, out, rstd, rows, dim, eps),
    rmsnormBackward: (x, w, rstd, gy, gx, gw, rows, dim) => norm.rmsnormBackward(ctx, x, w, rstd, gy, gx, gw, rows, dim),
    layernorm: (x, w, b, out, mean, rstd, rows, dim, ar, eps) => norm.layernorm(ctx, x, w, b, out, mean, rstd, rows, dim, ar, eps),
    layernormBackward: (x, w, mean, rstd, gy, gx, gw, gb, rows, dim, ar) => norm.layernormBackward(ctx, x, w, mean, rstd, gy, gx, gw, gb, rows, dim, ar),
    groupnorm: (x, w, b, out, mean, rstd, n, c, hw, groups, eps) => norm.groupnorm(ctx, x, w, b, out, mean, rstd, n, c, hw, groups, eps),
    // attention
    softmax: (x, out, rows, dim) => attention.softmax(ctx, x, out, rows, dim),
    softmaxBackward: (y, gy, gx, rows, dim) => attention.softmaxBackward(ctx, y, gy, gx, rows, dim),
    attention: (q, k, v, out, lse, p) => attention.attention(ctx, q, k, v, out, lse, p),
    attentionBackward: (q, k, v, out, lse, gOut, gq, gk, gv, p) => attention.attentionBackward(ctx, q, k, v, out, lse, gOut, gq, gk, gv, p),
    rope: (x, out, pos, b, t, h, d, theta, inv) => attention.rope(ctx, x, out, pos, b, t, h, d, theta, inv),
    // conv
    conv2d: (x, w, b, out, p) => conv.conv2d(ctx, x, w, b, out, p),
    conv2dBackward: (x, w, gy, gx, gw, gb, p) => conv.conv2dBackward(ctx, x, w, gy, gx, gw, gb, p),
    // loss
    crossEntropy: (l, t, losses, lse, rows, vocab, ig) => loss.crossEntropy(ctx, l, t, losses, lse, rows, vocab, ig),
    crossEntropyBackward: (l, t, lse, g, rows, vocab, ig, ce, z) => loss.crossEntropyBackward(ctx, l, t, lse, g, rows, vocab, ig, ce, z),
    crossEntropyWithGrad: (l, t, losses, lse, g, rows, vocab, ig, ce, z) => loss.crossEntropyWithGrad(ctx, l, t, losses, lse, g, rows, vocab, ig, ce, z),
    dropout: (x, out, p, seed) => loss.dropout(ctx, x, out, p, seed),
    // optim
    adamw: (param, grad, m, v, p) => optim.adamw(ctx, param, grad, m, v, p),
    sumSquares: (x) => optim.sumSquares(ctx, x),
  };
  const kernels: Kernels = { ...ctx.ref, ...native };
  return { kernels, native: new Set(Object.keys(native) as KernelName[]) };
}
