// Movement and reduction ops: reshape and narrow (zero-copy views), permute/transpose (copies), slice, concat,
// broadcastTo, sum/mean/max over axes, and sumTo (the reduction that undoes a broadcast, used by
// gradient rules). In-place slice assignment for KV caches lives here too (no autograd).

import { ChameleonError, ShapeError, fmtShape } from '../../util/errors.js';
import { record } from '../autograd/primitives.js';
import { Tensor, numel, sameShape } from '../tensor.js';
import { TYPE_TRAITS, bytesFor, checkBlockShape } from '../dtype.js';
import { broadcastShapes, broadcastStrides, engineOf, expectDtype, expectKernelType, normAxis } from './check.js';
import { scale as affineScale } from './elementwise.js';

/** Same data, new shape (one dimension may be -1). Zero-copy. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  engineOf('reshape', x);
  const s = [...shape];
  const neg = s.indexOf(-1);
  if (neg >= 0) {
    const rest = s.reduce((p, d, i) => (i === neg ? p : p * d), 1);
    if (rest === 0 || x.size % rest !== 0) throw new ShapeError(`reshape: cannot reshape ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
    s[neg] = x.size / rest;
  }
  if (s.some((d) => !Number.isInteger(d) || d < 0) || numel(s) !== x.size) {
    throw new ShapeError(`reshape: cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)}`);
  }
  checkBlockShape('reshape', x.dtype, s);
  const out = new Tensor(x.engine, s, x.dtype, x.data, x.scope, x.memory);
  return record('reshape', [x], out, { shape: s }, null);
}

/** out.shape[i] = x.shape[perm[i]] (a copy). */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const e = engineOf('permute', x);
  expectKernelType('permute', 'permute', x);
  const r = x.rank;
  const seen = new Set(perm);
  if (perm.length !== r || seen.size !== r || perm.some((p) => !Number.isInteger(p) || p < 0 || p >= r)) {
    throw new ShapeError(`permute: [${perm.join(', ')}] is not a permutation of the axes of ${fmtShape(x.shape)}`);
  }
  const shape = perm.map((p) => x.shape[p]);
  if (perm.every((p, i) => p === i)) return x;
  const out = e.empty(shape, x.dtype, { zero: false });
  e.k.permute(x.data, out.data, x.shape, perm);
  return record('permute', [x], out, { perm: [...perm] }, null);
}

/** Swaps two axes (a copy). */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const r = x.rank;
  const i = normAxis('transpose', a, r);
  const j = normAxis('transpose', b, r);
  const perm = [...Array(r).keys()];
  perm[i] = j;
  perm[j] = i;
  return permute(x, perm);
}

/** Elements [start, end) along an axis (a copy). */
export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  const e = engineOf('slice', x);
  expectKernelType('slice', 'copyAxis', x);
  const ax = normAxis('slice', axis, x.rank);
  const len = x.shape[ax];
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > len || start > end) {
    throw new ShapeError(`slice: range [${start}, ${end}) out of bounds for axis ${ax} of ${fmtShape(x.shape)}`);
  }
  const shape = [...x.shape];
  shape[ax] = end - start;
  const out = e.empty(shape, x.dtype, { zero: false });
  const outer = numel(x.shape.slice(0, ax));
  const inner = numel(x.shape.slice(ax + 1));
  e.k.copyAxis(x.data, out.data, outer, inner, len, start, end - start, 0, end - start, false);
  return record('slice', [x], out, { axis: ax, start, end }, null);
}

/**
 * Rows [start, end) of axis 0 as a zero-copy view (e.g. the LM-head rows of the image ids). The
 * gradient is slice's. Writing into the view writes into x, so it is for reading only.
 */
export function narrow(x: Tensor, start: number, end: number): Tensor {
  engineOf('narrow', x);
  if (x.rank < 1) throw new ShapeError(`narrow: needs at least one axis, got ${fmtShape(x.shape)}`);
  const len = x.shape[0];
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > len || start > end) {
    throw new ShapeError(`narrow: rows [${start}, ${end}) out of bounds for ${fmtShape(x.shape)}`);
  }
  // Storage slots per row: elements for scalar types, block bytes for blocked ones.
  const inner = numel(x.shape.slice(1));
  const row = TYPE_TRAITS[x.dtype].blockSize === 1 ? inner : bytesFor(x.dtype, inner);
  const shape = [end - start, ...x.shape.slice(1)];
  const out = new Tensor(x.engine, shape, x.dtype, x.data.subarray(start * row, end * row), x.scope, x.memory);
  return record('slice', [x], out, { axis: 0, start, end }, null);
}

/** Joins tensors along an axis; all other dimensions must match. */
export function concat(xs: readonly Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new ShapeError('concat: needs at least one tensor');
  const e = engineOf('concat', ...xs);
  for (const t of xs) expectKernelType('concat', 'copyAxis', t);
  const first = xs[0];
  const ax = normAxis('concat', axis, first.rank);
  let total = 0;
  for (const t of xs) {
    const ok = t.rank === first.rank && t.dtype === first.dtype && t.shape.every((d, i) => i === ax || d === first.shape[i]);
    if (!ok) {
      throw new ShapeError(`concat: ${t.dtype} ${fmtShape(t.shape)} does not match ${first.dtype} ${fmtShape(first.shape)} outside axis ${ax}`);
    }
    total += t.shape[ax];
  }
  const shape = [...first.shape];
  shape[ax] = total;
  const out = e.empty(shape, first.dtype, { zero: false });
  const outer = numel(first.shape.slice(0, ax));
  const inner = numel(first.shape.slice(ax + 1));
  let at = 0;
  for (const t of xs) {
    const n = t.shape[ax];
    e.k.copyAxis(t.data, out.data, outer, inner, n, 0, total, at, n, false);
    at += n;
  }
  return record('concat', xs, out, { axis: ax }, null);
}

/** Writes src into dst[..., start:start+n, ...] along an axis, in place (KV caches). Not differentiable. */
export function assignSlice(dst: Tensor, src: Tensor, axis: number, start: number): void {
  const e = engineOf('assignSlice', dst, src);
  expectKernelType('assignSlice', 'copyAxis', dst);
  const ax = normAxis('assignSlice', axis, dst.rank);
  const n = src.shape[ax];
  const ok = src.rank === dst.rank && src.dtype === dst.dtype && src.shape.every((d, i) => i === ax || d === dst.shape[i]);
  if (!ok || start < 0 || start + n > dst.shape[ax]) {
    throw new ShapeError(`assignSlice: cannot write ${src.dtype} ${fmtShape(src.shape)} at ${start} along axis ${ax} of ${dst.dtype} ${fmtShape(dst.shape)}`);
  }
  if (e.gradEnabled && (dst.requiresGrad || src.requiresGrad)) throw new ChameleonError('assignSlice: in-place writes are not differentiable; use noGrad');
  const outer = numel(dst.shape.slice(0, ax));
  const inner = numel(dst.shape.slice(ax + 1));
  e.k.copyAxis(src.data, dst.data, outer, inner, n, 0, dst.shape[ax], start, n, false);
}

/** Broadcast copy to a larger shape (numpy rules). */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  const e = engineOf('broadcastTo', x);
  expectKernelType('broadcastTo', 'broadcast', x);
  const target = broadcastShapes('broadcastTo', x.shape, shape);
  if (!sameShape(target, shape)) throw new ShapeError(`broadcastTo: cannot broadcast ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
  if (sameShape(x.shape, shape)) return x;
  const out = e.empty(shape, x.dtype, { zero: false });
  e.k.broadcast(x.data, out.data, shape, broadcastStrides(x.shape, shape));
  return record('broadcastTo', [x], out, { shape: [...shape] }, null);
}

/** Sum over the given axes (all axes when omitted). */
export function sum(x: Tensor, axes?: number | readonly number[], keepdims = false): Tensor {
  const e = engineOf('sum', x);
  expectDtype('sum', x, 'f32');
  const list = axes === undefined ? [...x.shape.keys()] : typeof axes === 'number' ? [axes] : [...axes];
  const norm = [...new Set(list.map((a) => normAxis('sum', a, x.rank)))].sort((a, b) => a - b);
  // Reduce one axis at a time, highest first, so earlier axis indices stay valid.
  let cur = x.f32();
  const shape = [...x.shape];
  for (let i = norm.length - 1; i >= 0; i--) {
    const ax = norm[i];
    const outer = numel(shape.slice(0, ax));
    const inner = numel(shape.slice(ax + 1));
    const len = shape[ax];
    const next = e.empty([outer * inner], 'f32', { zero: false }).f32();
    e.k.reduce('sum', cur, next, outer, len, inner);
    cur = next;
    shape[ax] = 1;
  }
  if (norm.length === 0) {
    const copy = e.empty(shape, 'f32', { zero: false });
    copy.f32().set(cur);
    cur = copy.f32();
  }
  const outShape = keepdims ? shape : shape.filter((_, i) => !norm.includes(i));
  const out = new Tensor(e, outShape, 'f32', cur, e.currentScope, x.memory);
  return record('sum', [x], out, { axes: norm, keepdims }, null);
}

/** Mean over the given axes (all when omitted). */
export function mean(x: Tensor, axes?: number | readonly number[], keepdims = false): Tensor {
  const s = sum(x, axes, keepdims);
  const count = x.size / Math.max(1, s.size);
  return affineScale(s, 1 / count);
}


/** Max over one axis. */
export function max(x: Tensor, axis: number, keepdims = false): Tensor {
  const e = engineOf('max', x);
  expectDtype('max', x, 'f32');
  const ax = normAxis('max', axis, x.rank);
  if (x.shape[ax] === 0) throw new ShapeError(`max: axis ${ax} of ${fmtShape(x.shape)} is empty`);
  const outer = numel(x.shape.slice(0, ax));
  const inner = numel(x.shape.slice(ax + 1));
  const shape = [...x.shape];
  shape[ax] = 1;
  const outShape = keepdims ? shape : shape.filter((_, i) => i !== ax);
  const out = e.empty(outShape, 'f32', { zero: false });
  e.k.reduce('max', x.f32(), out.f32(), outer, x.shape[ax], inner);
  return record('max', [x], out, { axis: ax, keepdims }, null);
}

/** Sums a broadcast result back down to `shape` (the gradient of broadcasting). */
export function sumTo(x: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(x.shape, shape)) return x;
  const lead = x.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < x.rank; i++) {
    if (i < lead) axes.push(i);
    else if (shape[i - lead] === 1 && x.shape[i] !== 1) axes.push(i);
  }
  const s = sum(x, axes, true);
  return reshape(s, shape);
}
