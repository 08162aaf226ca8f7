// The Tensor record: shape, dtype, its storage handle (which memory, byte offset, byte length) with a
// typed-array view of those bytes, the scope that owns the memory, and the autograd links (the node
// that produced it, the gradient of a leaf). Tensors are always contiguous and row-major; views with
// strides do not exist (permute copies). No math lives here: ops are free functions in engine/ops.

import { ChameleonError, fmtShape } from '../util/errors.js';
import { TYPE_TRAITS, type AnyArray, type DType } from './dtype.js';
import type { Memory, Storage } from './memory.js';
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

  /** Number of elements (for blocked types, not the length of `data`, which counts bytes). */
  readonly size: number;

  constructor(
    readonly engine: Engine,
    readonly shape: readonly number[],
    readonly dtype: DType,
    /** View of the storage: one slot per element for scalar types, the block bytes for blocked ones. */
    readonly data: AnyArray,
    /** Id of the engine scope that owns the memory; 0 = never released by a scope. */
    readonly scope: number,
    /** The memory that holds `data`. */
    readonly memory: Memory,
  ) {
    this.size = numel(shape);
    const t = TYPE_TRAITS[dtype];
    const expect = t.blockSize === 1 ? this.size : (this.size / t.blockSize) * t.blockBytes;
    if (data.length !== expect) {
      throw new ChameleonError(`Tensor: ${dtype} data length ${data.length} does not match shape ${fmtShape(shape)} (expected ${expect})`);
    }
  }

  /** The storage handle: which memory, and where in it, this tensor's bytes are. */
  get storage(): Storage {
    return { memory: this.memory, byteOffset: this.data.byteOffset, byteLength: this.data.byteLength };
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

  /** A copy of the values as plain numbers (bf16/f16 widened, blocked types dequantized). */
  toArray(): number[] {
    if (this.dtype === 'f32' || this.dtype === 'i32') return Array.from(this.data);
    return Array.from(this.toFloat32());
  }

  /** A copy of the values as f32 (widening bf16/f16, dequantizing blocked types, converting i32). */
  toFloat32(): Float32Array {
    const out = new Float32Array(this.size);
    TYPE_TRAITS[this.dtype].toF32(this.data, out, this.size);
    return out;
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
