// Native (wasm) elementwise kernels: binary (operand-mode detection: dense, row vector or scalar;
// other stride patterns go to ref), unary and its backward, affine, fill, cast (dtype routing to the
// cast exports; bf16<->f16 goes to ref) and SwiGLU. Falls back to ref for arrays outside wasm memory.

import { isScalarDType, type AnyArray, type DType } from '../../../dtype.js';
import type { BinaryOp, F32, UnaryOp } from '../../../kernels.js';
import { BINARY_CODE, DTYPE_CODE, MODE_DENSE, MODE_ROW, MODE_SCALAR, UNARY_CODE } from '../abi.js';
import { DYNAMIC_STREAM, requireHeap, PAR_ELEMS, type NativeContext } from './context.js';

/** Operand mode for binary: dense, row vector over the last axis, scalar, or -1 (unsupported). */
function operandMode(shape: readonly number[], strides: readonly number[]): number {
  const rank = shape.length;
  let dense = true;
  let scalar = true;
  let row = true;
  let expect = 1;
  for (let d = rank - 1; d >= 0; d--) {
    if (shape[d] === 1) continue;
    const s = strides[d];
    if (s !== expect) dense = false;
    if (s !== 0) scalar = false;
    if (d === rank - 1 ? s !== 1 : s !== 0) row = false;
    expect *= shape[d];
  }
  return dense ? MODE_DENSE : scalar ? MODE_SCALAR : row ? MODE_ROW : -1;
}

export function binary(ctx: NativeContext, op: BinaryOp, a: F32, b: F32, out: F32, outShape: readonly number[], aStrides: readonly number[], bStrides: readonly number[]): void {
  const am = operandMode(outShape, aStrides);
  const bm = operandMode(outShape, bStrides);
  requireHeap(ctx, 'binary', a, b, out);
  if (am < 0 || bm < 0) return ctx.ref.binary(op, a, b, out, outShape, aStrides, bStrides);
  let total = 1;
  for (const s of outShape) total *= s;
  const d = outShape.length > 0 ? Math.max(1, outShape[outShape.length - 1]) : 1;
  ctx.pool.run('binary', 'binary', [BINARY_CODE[op], a.byteOffset, b.byteOffset, out.byteOffset, d, am, bm], total, 16, total >= PAR_ELEMS, DYNAMIC_STREAM);
}

export function unary(ctx: NativeContext, op: UnaryOp, x: F32, out: F32): void {
  requireHeap(ctx, 'unary', x, out);
  const n = x.length;
  ctx.pool.run('unary', 'unary', [UNARY_CODE[op], x.byteOffset, out.byteOffset], n, 16, n >= PAR_ELEMS / 4, DYNAMIC_STREAM);
}

export function unaryBackward(ctx: NativeContext, op: UnaryOp, x: F32, y: F32, gy: F32, gx: F32): void {
  requireHeap(ctx, 'unaryBackward', x, y, gy, gx);
  const n = gy.length;
  ctx.pool.run('unaryBackward', 'unary_backward', [UNARY_CODE[op], x.byteOffset, y.byteOffset, gy.byteOffset, gx.byteOffset], n, 16, n >= PAR_ELEMS / 4, DYNAMIC_STREAM);
}

export function affine(ctx: NativeContext, x: F32, out: F32, mul: number, add: number): void {
  requireHeap(ctx, 'affine', x, out);
  const n = x.length;
  ctx.pool.run('affine', 'affine', [x.byteOffset, out.byteOffset, mul, add], n, 16, n >= PAR_ELEMS, DYNAMIC_STREAM);
}

export function fill(ctx: NativeContext, out: AnyArray, value: number): void {
  requireHeap(ctx, 'fill', out);
  if (!(out instanceof Float32Array)) return ctx.ref.fill(out, value);
  const n = out.length;
  ctx.pool.run('fill', 'fill_f32', [out.byteOffset, value], n, 16, n >= PAR_ELEMS);
}

export function cast(ctx: NativeContext, x: AnyArray, xDtype: DType, out: AnyArray, outDtype: DType): void {
  requireHeap(ctx, 'cast', x, out);
  // Blocked types convert through the type traits' reference quantize/dequantize (no wasm kernel yet).
  if (!isScalarDType(xDtype) || !isScalarDType(outDtype)) return ctx.ref.cast(x, xDtype, out, outDtype);
  const n = x.length;
  const par = n >= PAR_ELEMS;
  const args = [x.byteOffset, out.byteOffset];
  if (xDtype === outDtype) ctx.pool.run('cast', 'copy_elems', [...args, xDtype === 'f32' || xDtype === 'i32' ? 4 : 2], n, 16, par);
  else if (xDtype === 'f32' && outDtype === 'bf16') ctx.pool.run('cast', 'cast_f32_bf16', args, n, 16, par);
  else if (xDtype === 'f32' && outDtype === 'f16') ctx.pool.run('cast', 'cast_f32_f16', args, n, 16, par);
  else if ((xDtype === 'bf16' || xDtype === 'f16') && outDtype === 'f32') ctx.pool.run('cast', 'cast_h_f32', [...args, DTYPE_CODE[xDtype]], n, 16, par);
  else if (xDtype === 'i32' && outDtype === 'f32') ctx.pool.run('cast', 'cast_i32_f32', args, n, 16, par);
  else if (xDtype === 'f32' && outDtype === 'i32') ctx.pool.run('cast', 'cast_f32_i32', args, n, 16, par);
  else ctx.ref.cast(x, xDtype, out, outDtype);
}

export function swiglu(ctx: NativeContext, g: F32, u: F32, out: F32): void {
  requireHeap(ctx, 'swiglu', g, u, out);
  const n = g.length;
  ctx.pool.run('swiglu', 'swiglu', [g.byteOffset, u.byteOffset, out.byteOffset], n, 16, n >= PAR_ELEMS / 4, DYNAMIC_STREAM);
}

export function swigluBackward(ctx: NativeContext, g: F32, u: F32, gy: F32, gg: F32, gu: F32): void {
  requireHeap(ctx, 'swigluBackward', g, u, gy, gg, gu);
  const n = g.length;
  ctx.pool.run('swigluBackward', 'swiglu_backward', [g.byteOffset, u.byteOffset, gy.byteOffset, gg.byteOffset, gu.byteOffset], n, 16, n >= PAR_ELEMS / 4, DYNAMIC_STREAM);
}
