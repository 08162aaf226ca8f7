// Elementwise ops with numpy broadcasting: add/sub/mul/div/maximum/minimum, the unary functions,
// affine (x·a + b), and dtype casts. Each validates, allocates its output, runs one kernel and
// records one primitive. Gradients are in autograd/grad_rules.ts.

import { ShapeError, fmtShape } from '../../util/errors.js';
import { TYPE_TRAITS, checkBlockShape, type DType } from '../dtype.js';
import type { BinaryOp, UnaryOp } from '../kernels.js';
import { record } from '../autograd/primitives.js';
import type { Tensor } from '../tensor.js';
import { broadcastShapes, broadcastStrides, engineOf, expectDtype } from './check.js';

function binary(op: BinaryOp, prim: 'add' | 'sub' | 'mul' | 'div' | 'minmax', a: Tensor, b: Tensor): Tensor {
  const e = engineOf(op, a, b);
  expectDtype(op, a, 'f32');
  expectDtype(op, b, 'f32');
  const shape = broadcastShapes(op, a.shape, b.shape); // [...broadcast]
  const out = e.empty(shape, 'f32', { zero: false });
  e.k.binary(op, a.f32(), b.f32(), out.f32(), shape, broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape));
  if (prim === 'minmax') return record('minmax', [a, b], out, { op: op as 'max' | 'min' }, null);
  return record(prim, [a, b], out, null, null);
}

export const add = (a: Tensor, b: Tensor): Tensor => binary('add', 'add', a, b);
export const sub = (a: Tensor, b: Tensor): Tensor => binary('sub', 'sub', a, b);
export const mul = (a: Tensor, b: Tensor): Tensor => binary('mul', 'mul', a, b);
export const div = (a: Tensor, b: Tensor): Tensor => binary('div', 'div', a, b);
export const maximum = (a: Tensor, b: Tensor): Tensor => binary('max', 'minmax', a, b);
export const minimum = (a: Tensor, b: Tensor): Tensor => binary('min', 'minmax', a, b);

export function unary(op: UnaryOp, x: Tensor): Tensor {
  const e = engineOf(op, x);
  expectDtype(op, x, 'f32');
  const out = e.empty(x.shape, 'f32', { zero: false });
  e.k.unary(op, x.f32(), out.f32());
  return record('unary', [x], out, { op }, null);
}

export const neg = (x: Tensor): Tensor => unary('neg', x);
export const exp = (x: Tensor): Tensor => unary('exp', x);
export const log = (x: Tensor): Tensor => unary('log', x);
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', x);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
export const silu = (x: Tensor): Tensor => unary('silu', x);
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
export const square = (x: Tensor): Tensor => unary('square', x);
export const relu = (x: Tensor): Tensor => unary('relu', x);
export const abs = (x: Tensor): Tensor => unary('abs', x);

/** x · mul + add (scalars). */
export function affine(x: Tensor, mulBy: number, addTo = 0): Tensor {
  const e = engineOf('affine', x);
  expectDtype('affine', x, 'f32');
  if (!Number.isFinite(mulBy) || !Number.isFinite(addTo)) {
    throw new ShapeError(`affine: scalars must be finite, got mul ${mulBy}, add ${addTo}`);
  }
  const out = e.empty(x.shape, 'f32', { zero: false });
  e.k.affine(x.f32(), out.f32(), mulBy, addTo);
  return record('affine', [x], out, { mul: mulBy, add: addTo }, null);
}

export const scale = (x: Tensor, s: number): Tensor => affine(x, s, 0);
export const addScalar = (x: Tensor, s: number): Tensor => affine(x, 1, s);

/** Converts between storage dtypes (bf16/f16 round to nearest even). Differentiable for float types. */
export function cast(x: Tensor, dtype: DType): Tensor {
  const e = engineOf('cast', x);
  if (x.dtype === dtype) return x;
  checkBlockShape('cast', dtype, x.shape);
  const out = e.empty(x.shape, dtype, { zero: false });
  e.k.cast(x.data, x.dtype, out.data, dtype);
  if (TYPE_TRAITS[dtype].kind !== 'float' || TYPE_TRAITS[x.dtype].kind !== 'float') {
    if (x.requiresGrad && e.gradEnabled) throw new ShapeError(`cast: cannot differentiate ${x.dtype} -> ${dtype} ${fmtShape(x.shape)}`);
    return out;
  }
  return record('cast', [x], out, { dtype }, null);
}
