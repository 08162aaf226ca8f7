// The Tensor record: shape, dtype, a contiguous typed-array view of backend memory, the scope that
// owns that memory, and the autograd links (the node that produced it, the gradient of a leaf).
// Tensors are always contiguous and row-major; views with strides do not exist (permute copies).
// No math lives here: ops are free functions in engine/ops.

import { ChameleonError, fmtShape } from '../util/errors.js';
import { bf16ToF32, f16ToF32, type AnyArray, type DType } from './dtype.js';
import type { Engine } from './engine.js';
import type { Node } from './autograd/primitives.js';

export class Tensor {
  /** Set by ops when recording for autograd: the primitive application that produced this tensor. */
  node: Node | null = null;
  /** For leaves that require grad: the accumulated gradient (lives in the engine's grads arena). */
  grad: Tensor | null = null;
  requiresGrad = false;
  /** Optional name (parameters carry their checkpoint key). */
  name = '';

  constructor(
    readonly engine: Engine,
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly data: AnyArray,
    /** Id of the engine scope that owns the memory; 0 = never released by a scope. */
    readonly scope: number,
  ) {
    if (data.length !== numel(shape)) {
      throw new ChameleonError(`Tensor: data length ${data.length} does not match shape ${fmtShape(shape)}`);
    }
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** The f32 data; throws if the tensor is not f32. */
  f32(): Float32Array {
    if (this.dtype !== 'f32') throw new ChameleonError(`expected an f32 tensor, got ${this.dtype} ${fmtShape(this.shape)}`);
    return this.data as Float32Array;
  }

  /** The i32 data; throws if the tensor is not i32. */
  i32(): Int32Array {
    if (this.dtype !== 'i32') throw new ChameleonError(`expected an i32 tensor, got ${this.dtype} ${fmtShape(this.shape)}`);
    return this.data as Int32Array;
  }

  /** A copy of the values as plain numbers (bf16/f16 widened). */
  toArray(): number[] {
    const out = new Array<number>(this.size);
    const d = this.data;
    if (this.dtype === 'bf16') for (let i = 0; i < d.length; i++) out[i] = bf16ToF32(d[i]);
    else if (this.dtype === 'f16') for (let i = 0; i < d.length; i++) out[i] = f16ToF32(d[i]);
    else for (let i = 0; i < d.length; i++) out[i] = d[i];
    return out;
  }

  /** A copy of the values as f32 (widening bf16/f16, converting i32). */
  toFloat32(): Float32Array {
    return Float32Array.from(this.toArray());
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new ChameleonError(`item(): tensor has shape ${fmtShape(this.shape)}, not one element`);
    return this.toArray()[0];
  }

  /** Marks a leaf as trainable (its gradient accumulates into `grad`). Returns this. */
  trainable(on = true): this {
    this.requiresGrad = on;
    return this;
  }

  toString(): string {
    return `Tensor(${this.name ? this.name + ' ' : ''}${this.dtype} ${fmtShape(this.shape)})`;
  }
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a shape, in elements. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
