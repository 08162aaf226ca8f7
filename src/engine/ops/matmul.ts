// Matrix multiplication: batched, with either operand transposed, and `linear` (x·Wᵀ, the nn.Linear
// layout of Hugging Face weights) which also accepts bf16/f16 weights that the kernel widens.
// Batch rule: a is [..., m, k]; b is 2-D (shared by every batch) or has a's batch dimensions.

import { ShapeError, fmtShape } from '../../util/errors.js';
import { record } from '../autograd/primitives.js';
import type { Tensor } from '../tensor.js';
import { engineOf, expectDtype, expectStorage } from './check.js';

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

/** The product's shapes: op(a) m×k, op(b) k×n, the batch shape (a's leading axes), b shared or batched. */
interface Product {
  m: number;
  n: number;
  k: number;
  batchShape: number[];
  batch: number;
  bShared: boolean;
}

function product(what: string, a: Tensor, b: Tensor, transA: boolean, transB: boolean): Product {
  expectDtype(what, a, 'f32');
  expectStorage(what, 'gemm', b, 'operand');
  if (a.rank < 2 || b.rank < 2) {
    throw new ShapeError(`${what}: operands need rank ≥ 2, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  }
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const m = transA ? ac : ar;
  const k = transA ? ar : ac;
  const kb = transB ? bc : br;
  const n = transB ? br : bc;
  const batchShape = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const batch = batchShape.reduce((p, d) => p * d, 1);
  const bShared = b.rank === 2;
  const desc = `${fmtShape(a.shape)}${transA ? 'ᵀ' : ''} · ${fmtShape(b.shape)}${transB ? 'ᵀ' : ''}`;
  if (k !== kb) throw new ShapeError(`${what}: inner dimensions differ (${k} vs ${kb}) in ${desc}`);
  if (!bShared && (bBatch.length !== batchShape.length || bBatch.some((d, i) => d !== batchShape[i]))) {
    throw new ShapeError(`${what}: batch dimensions differ in ${desc} (b must be 2-D or share a's batch shape)`);
  }
  return { m, n, k, batchShape, batch, bShared };
}

/** C (+)= op(a)·op(b) into out's data, one GEMM (a shared weight with untransposed rows folds the batch into m). */
function gemmInto(a: Tensor, b: Tensor, out: Tensor, p: Product, transA: boolean, transB: boolean, accumulate: boolean): void {
  const { m, n, k, batch, bShared } = p;
  const fold = bShared && !transA;
  out.engine.k.gemm(a.f32(), b.data, out.f32(), {
    batch: fold ? 1 : batch,
    m: fold ? batch * m : m,
    n,
    k,
    transA,
    transB,
    aStride: m * k,
    bStride: bShared ? 0 : k * n,
    cStride: m * n,
    bDtype: b.dtype as 'f32' | 'bf16' | 'f16',
    accumulate,
  });
}

/** op(a) · op(b) over the last two axes; op transposes when the flag is set. */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const e = engineOf('matmul', a, b);
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const p = product('matmul', a, b, transA, transB);
  if (b.dtype !== 'f32' && b.requiresGrad && e.gradEnabled) {
    throw new ShapeError(`matmul: ${b.dtype} operand ${fmtShape(b.shape)} cannot be trained (cast it to f32)`);
  }
  const out = e.empty([...p.batchShape, p.m, p.n], 'f32', { zero: false }); // [..., m, n]
  gemmInto(a, b, out, p, transA, transB, false);
  return record('matmul', [a, b], out, { transA, transB }, null);
}

/**
 * acc += op(a) · op(b) in place (acc f32 of the product's shape [..., m, n]); records nothing. For
 * gradient accumulation: a weight gradient GEMM adds straight into the leaf's .grad (beta = 1)
 * instead of writing a temporary and adding it.
 */
export function matmulAccumulate(acc: Tensor, a: Tensor, b: Tensor, opts: MatmulOptions = {}): void {
  engineOf('matmulAccumulate', acc, a, b);
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const p = product('matmulAccumulate', a, b, transA, transB);
  expectDtype('matmulAccumulate', acc, 'f32');
  const want = [...p.batchShape, p.m, p.n];
  if (acc.rank !== want.length || acc.shape.some((d, i) => d !== want[i])) {
    throw new ShapeError(`matmulAccumulate: accumulator ${fmtShape(acc.shape)} does not match the product ${fmtShape(want)}`);
  }
  gemmInto(a, b, acc, p, transA, transB, true);
}

/** x [..., in] · Wᵀ with W [out, in] (Hugging Face nn.Linear layout) -> [..., out]. */
export function linear(x: Tensor, w: Tensor): Tensor {
  if (w.rank !== 2) throw new ShapeError(`linear: weight must be 2-D [out, in], got ${fmtShape(w.shape)}`);
  if (x.shape[x.rank - 1] !== w.shape[1]) {
    throw new ShapeError(`linear: input ${fmtShape(x.shape)} has ${x.shape[x.rank - 1]} features but weight ${fmtShape(w.shape)} expects ${w.shape[1]}`);
  }
  if (x.rank === 1) throw new ShapeError(`linear: input must have rank ≥ 2 ([rows, in]), got ${fmtShape(x.shape)}`);
  return matmul(x, w, { transB: true });
}
