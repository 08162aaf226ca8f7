// Reference reductions and data movement: sum/max over the middle axis of [outer, len, inner] (and the
// max gradient), strided broadcast copies, permutes, axis-slice copies, and embedding gather/scatter.
// Movement kernels copy raw elements of any storage type; only gather widens bf16/f16 to f32.

import type { AnyArray, DType } from '../../dtype.js';
import type { F32, FamilyKernels, I32, ReduceOp } from '../../kernels.js';
import { coalesce, numel, widenRun } from './util.js';

/**
 * x viewed as [outer, len, inner]; out[o, i] = op over l of x[o, l, i]. Sums accumulate in float64;
 * max propagates NaN; an empty axis gives 0 (sum) or -Infinity (max).
 */
function reduce(op: ReduceOp, x: F32, out: F32, outer: number, len: number, inner: number): void {
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    const base = o * len * inner;
    if (op === 'sum') {
      acc.fill(0);
      for (let l = 0; l < len; l++) {
        const row = base + l * inner;
        for (let i = 0; i < inner; i++) acc[i] += x[row + i];
      }
    } else {
      acc.fill(-Infinity);
      for (let l = 0; l < len; l++) {
        const row = base + l * inner;
        for (let i = 0; i < inner; i++) {
          const v = x[row + i];
          // NaN wins: once acc is NaN, no comparison replaces it.
          if (v > acc[i] || v !== v) acc[i] = v;
        }
      }
    }
    const ob = o * inner;
    for (let i = 0; i < inner; i++) out[ob + i] = acc[i];
  }
}

/** gx[o, l, i] = gy[o, i] at the first l with x[o, l, i] == y[o, i], else 0. */
function reduceMaxBackward(x: F32, y: F32, gy: F32, gx: F32, outer: number, len: number, inner: number): void {
  const found = new Uint8Array(inner);
  for (let o = 0; o < outer; o++) {
    found.fill(0);
    const base = o * len * inner;
    const ob = o * inner;
    for (let l = 0; l < len; l++) {
      const row = base + l * inner;
      for (let i = 0; i < inner; i++) {
        if (found[i] === 0 && x[row + i] === y[ob + i]) {
          gx[row + i] = gy[ob + i];
          found[i] = 1;
        } else {
          gx[row + i] = 0;
        }
      }
    }
  }
}

/** out[idx] = x[idx·xStrides] over outShape, out dense. Shared by broadcast and permute. */
function stridedCopy(x: AnyArray, out: AnyArray, outShape: readonly number[], xStrides: readonly number[]): void {
  const total = numel(outShape);
  if (total === 0) return;
  const { shape, strides } = coalesce(outShape, [xStrides]);
  const xs = strides[0];
  const rank = shape.length;
  const len = shape[rank - 1];
  const sx = xs[rank - 1];
  const idx = new Array<number>(rank).fill(0);
  let xo = 0;
  for (let o = 0; o < total; o += len) {
    if (sx === 1) {
      for (let j = 0; j < len; j++) out[o + j] = x[xo + j];
    } else {
      for (let j = 0; j < len; j++) out[o + j] = x[xo + j * sx];
    }
    for (let d = rank - 2; d >= 0; d--) {
      xo += xs[d];
      if (++idx[d] < shape[d]) break;
      xo -= xs[d] * shape[d];
      idx[d] = 0;
    }
  }
}

/** out[idx] = x[idx·xStrides] over outShape (strides 0 on broadcast axes). */
function broadcast(x: AnyArray, out: AnyArray, outShape: readonly number[], xStrides: readonly number[]): void {
  stridedCopy(x, out, outShape, xStrides);
}

/** out = x permuted: out.shape[i] = inShape[perm[i]]. */
function permute(x: AnyArray, out: AnyArray, inShape: readonly number[], perm: readonly number[]): void {
  const rank = inShape.length;
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let d = rank - 1; d >= 0; d--) {
    inStrides[d] = s;
    s *= inShape[d];
  }
  const outShape = perm.map((p) => inShape[p]);
  const xStrides = perm.map((p) => inStrides[p]);
  stridedCopy(x, out, outShape, xStrides);
}

/** dst[o, dstStart + l, i] (+)= src[o, srcStart + l, i] for o < outer, l < count, i < inner. */
function copyAxis(
  src: AnyArray,
  dst: AnyArray,
  outer: number,
  inner: number,
  srcLen: number,
  srcStart: number,
  dstLen: number,
  dstStart: number,
  count: number,
  accumulate: boolean,
): void {
  const run = count * inner;
  for (let o = 0; o < outer; o++) {
    const so = (o * srcLen + srcStart) * inner;
    const d0 = (o * dstLen + dstStart) * inner;
    if (accumulate) {
      for (let j = 0; j < run; j++) dst[d0 + j] += src[so + j];
    } else {
      for (let j = 0; j < run; j++) dst[d0 + j] = src[so + j];
    }
  }
}

/** out[i, :] = table[ids[i], :] widened to f32; table is [rows, dim] of tableDtype. */
function gather(table: AnyArray, tableDtype: DType, ids: I32, out: F32, dim: number): void {
  const n = ids.length;
  for (let i = 0; i < n; i++) widenRun(table, tableDtype, ids[i] * dim, out, i * dim, dim);
}

/** Accumulates gTable[ids[i], :] += g[i, :] (repeated ids add up, in order of i). */
function scatterAdd(g: F32, ids: I32, gTable: F32, dim: number): void {
  const n = ids.length;
  for (let i = 0; i < n; i++) {
    const t = ids[i] * dim;
    const s = i * dim;
    for (let j = 0; j < dim; j++) gTable[t + j] += g[s + j];
  }
}

/** The movement family of the ref kernel table. */
export const movementKernels: FamilyKernels<'movement'> = { reduce, reduceMaxBackward, broadcast, permute, copyAxis, gather, scatterAdd };
