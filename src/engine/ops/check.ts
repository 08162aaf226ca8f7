// Input validation shared by every op: liveness, dtype and shape checks, broadcasting rules.
// Every check throws ShapeError naming the op and the shapes involved, before any kernel runs.
// No computation happens here.

import { ShapeError, fmtShape } from '../../util/errors.js';
import { TYPE_TRAITS, kernelTakes, type DType } from '../dtype.js';
import type { KernelName } from '../kernels.js';
import type { Engine } from '../engine.js';
import type { Tensor } from '../tensor.js';

/** Checks that all tensors are live, share one engine, and returns it. */
export function engineOf(op: string, ...ts: Tensor[]): Engine {
  const e = ts[0].engine;
  for (const t of ts) e.assertLive(op, t);
  return e;
}

export function expectDtype(op: string, t: Tensor, ...dtypes: DType[]): void {
  if (!dtypes.includes(t.dtype)) {
    throw new ShapeError(`${op}: expected ${dtypes.join(' or ')}, got ${t.dtype} tensor ${fmtShape(t.shape)}`);
  }
}

/**
 * Checks that a float storage operand (a weight or table) has a type the kernel's contract takes,
 * from the type-traits table; a blocked type no kernel reads yet is refused with what to do.
 */
export function expectStorage(op: string, kernel: KernelName, t: Tensor, what: string): void {
  if (TYPE_TRAITS[t.dtype].kind !== 'int' && kernelTakes(kernel, t.dtype)) return;
  const takes = (Object.keys(TYPE_TRAITS) as DType[]).filter((d) => TYPE_TRAITS[d].kind !== 'int' && kernelTakes(kernel, d));
  const hint = TYPE_TRAITS[t.dtype].kind === 'quant' ? `; dequantize it first (ops.cast(t, 'f32'))` : '';
  throw new ShapeError(`${op}: the ${kernel} kernel does not take a ${t.dtype} ${what} ${fmtShape(t.shape)} (it takes ${takes.join(', ')})${hint}`);
}

/** Checks that the kernel's contract takes the tensor's storage type at all (movement ops on blocked types). */
export function expectKernelType(op: string, kernel: KernelName, t: Tensor): void {
  if (kernelTakes(kernel, t.dtype)) return;
  throw new ShapeError(`${op}: the ${kernel} kernel does not take ${t.dtype} tensors (${fmtShape(t.shape)}); convert with ops.cast first`);
}

export function expectRank(op: string, t: Tensor, rank: number, what = 'input'): void {
  if (t.rank !== rank) throw new ShapeError(`${op}: ${what} must have rank ${rank}, got ${fmtShape(t.shape)}`);
}


/** Normalises a possibly negative axis for a tensor of the given rank. */
export function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new ShapeError(`${op}: axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** numpy broadcasting of two shapes. */
export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out = new Array<number>(r);
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
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const r = outShape.length;
  const s = new Array<number>(r).fill(0);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const oi = r - shape.length + i;
    s[oi] = shape[i] === 1 && outShape[oi] !== 1 ? 0 : acc;
    acc *= shape[i];
  }
  return s;
}

/** Checks an i32 index tensor's values lie in [0, limit) (ignoring `ignore`), naming the first bad one. */
export function checkIndices(op: string, ids: Int32Array, limit: number, what: string, ignore?: number): void {
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i];
    if ((v < 0 || v >= limit) && v !== ignore) {
      throw new ShapeError(`${op}: ${what} ${v} at position ${i} is out of range [0, ${limit})`);
    }
  }
}
