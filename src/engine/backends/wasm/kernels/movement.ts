// Native (wasm) reductions and embedding movement: reduce (split over outer rows, or over inner
// columns when there are fewer rows than threads), gather over ids and scatterAdd over columns (so
// no two threads write one element). Broadcast, permute, copyAxis and reduceMaxBackward stay ref.

import type { AnyArray, DType } from '../../../dtype.js';
import type { F32, I32, ReduceOp } from '../../../kernels.js';
import { DTYPE_CODE } from '../abi.js';
import { requireHeap, PAR_ELEMS, par, type NativeContext } from './context.js';

export function reduce(ctx: NativeContext, op: ReduceOp, x: F32, out: F32, outer: number, len: number, inner: number): void {
  requireHeap(ctx, 'reduce', x, out);
  const p = outer * len * inner >= PAR_ELEMS;
  const args = [op === 'sum' ? 0 : 1, x.byteOffset, out.byteOffset, outer, len, inner];
  if (outer >= ctx.pool.threads || inner === 1) ctx.pool.run('reduce', 'reduce', [...args, 0], outer, 1, p);
  else ctx.pool.run('reduce', 'reduce', [...args, 1], inner, 4, p);
}

export function gather(ctx: NativeContext, table: AnyArray, tableDtype: DType, ids: I32, out: F32, dim: number): void {
  requireHeap(ctx, 'gather', table, ids, out);
  // The native gather widens f32/bf16/f16 rows; an i32 table takes the ref kernel over this memory.
  if (tableDtype !== 'f32' && tableDtype !== 'bf16' && tableDtype !== 'f16') return ctx.ref.gather(table, tableDtype, ids, out, dim);
  const n = ids.length;
  ctx.pool.run('gather', 'gather', [table.byteOffset, DTYPE_CODE[tableDtype], ids.byteOffset, out.byteOffset, dim], n, 1, par(n, dim));
}

export function scatterAdd(ctx: NativeContext, g: F32, ids: I32, gTable: F32, dim: number): void {
  requireHeap(ctx, 'scatterAdd', g, ids, gTable);
  const n = ids.length;
  ctx.pool.run('scatterAdd', 'scatter_add', [g.byteOffset, ids.byteOffset, gTable.byteOffset, n, dim], dim, 4, n * dim >= PAR_ELEMS && dim >= 64);
}
