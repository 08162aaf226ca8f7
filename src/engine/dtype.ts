// The type-traits table (ggml style): every storage type the engine knows, with its block size,
// bytes per block, typed-array view, a reference dequantize/quantize pair, and the kernels whose
// contract takes it as a storage operand. Scalar types (f32, bf16, f16, i32) are blocks of one;
// q8_0 and q4_0 are GGUF-layout blocks of 32 (quant.ts). Compute is always f32: other float types
// are storage that kernels widen in registers or that ops convert. Conversions are in half.ts.

import type { KernelName } from './kernels.js';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from './half.js';
import { Q4_0_BYTES, Q8_0_BYTES, QK, dequantizeQ4_0, dequantizeQ8_0, quantizeQ4_0, quantizeQ8_0 } from './quant.js';
import { ShapeError, fmtShape } from '../util/errors.js';

export { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from './half.js';

/** Types stored one element per typed-array slot. */
export type ScalarDType = 'f32' | 'bf16' | 'f16' | 'i32';
/** Types stored as blocks of several elements (viewed as bytes). */
export type BlockDType = 'q8_0' | 'q4_0';
export type DType = ScalarDType | BlockDType;

export type TypedArrayFor<D extends DType> = D extends 'f32'
  ? Float32Array
  : D extends 'i32'
    ? Int32Array
    : D extends BlockDType
      ? Uint8Array
      : Uint16Array;

export type AnyArray = Float32Array | Uint16Array | Int32Array | Uint8Array;

export interface TypeTraits {
  readonly name: DType;
  /** float: f32 and half storage; int: i32 indices; quant: blocked integers with scales. */
  readonly kind: 'float' | 'int' | 'quant';
  /** Elements per block (1 for scalar types). A tensor's last dimension is a multiple of it. */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly blockBytes: number;
  /** A typed-array view of n elements' storage (scalar: n slots; blocked: the bytes of n/blockSize blocks). */
  view(buffer: ArrayBufferLike, byteOffset: number, n: number): AnyArray;
  /** Reference dequantize: n elements of storage `src` -> f32 (exact for scalar float types). */
  toF32(src: AnyArray, out: Float32Array, n: number): void;
  /** Reference quantize: n f32 values -> storage `out` (round to nearest even for half types). */
  fromF32(src: ArrayLike<number>, out: AnyArray, n: number): void;
  /** Kernels whose contract takes this type as a storage operand ('all': every kernel, f32 only). */
  readonly kernels: 'all' | readonly KernelName[];
}

/** Kernels every scalar type passes through unchanged (fills, copies, casts). */
const MOVES: readonly KernelName[] = ['cast', 'fill', 'broadcast', 'permute', 'copyAxis'];

function scalar(
  name: ScalarDType,
  bytes: number,
  make: (b: ArrayBufferLike, o: number, n: number) => AnyArray,
  toF32: (v: number) => number,
  fromF32: (v: number) => number,
  kernels: TypeTraits['kernels'],
  kind: 'float' | 'int' = 'float',
): TypeTraits {
  return {
    name,
    kind,
    blockSize: 1,
    blockBytes: bytes,
    view: make,
    toF32: (src, out, n) => {
      for (let i = 0; i < n; i++) out[i] = toF32(src[i]);
    },
    fromF32: (src, out, n) => {
      for (let i = 0; i < n; i++) out[i] = fromF32(src[i]);
    },
    kernels,
  };
}

function blocked(
  name: BlockDType,
  blockBytes: number,
  dequantize: (src: Uint8Array, out: Float32Array, n: number) => void,
  quantize: (src: ArrayLike<number>, out: Uint8Array, n: number) => void,
): TypeTraits {
  return {
    name,
    kind: 'quant',
    blockSize: QK,
    blockBytes,
    view: (b, o, n) => new Uint8Array(b, o, (n / QK) * blockBytes),
    toF32: (src, out, n) => dequantize(src as Uint8Array, out, n),
    fromF32: (src, out, n) => quantize(src, out as Uint8Array, n),
    // Only conversion so far; a kernel that learns to read the blocks (gemm, gather) joins the list.
    kernels: ['cast'],
  };
}

const identity = (v: number): number => v;

export const TYPE_TRAITS: { readonly [D in DType]: TypeTraits } = {
  f32: scalar('f32', 4, (b, o, n) => new Float32Array(b, o, n), identity, Math.fround, 'all'),
  bf16: scalar('bf16', 2, (b, o, n) => new Uint16Array(b, o, n), bf16ToF32, f32ToBf16, ['gemm', 'gather', 'attention', ...MOVES]),
  f16: scalar('f16', 2, (b, o, n) => new Uint16Array(b, o, n), f16ToF32, f32ToF16, ['gemm', 'gather', ...MOVES]),
  i32: scalar('i32', 4, (b, o, n) => new Int32Array(b, o, n), identity, (v) => Math.trunc(v) | 0, ['gather', 'scatterAdd', 'crossEntropy', 'crossEntropyBackward', 'rope', 'attention', ...MOVES], 'int'),
  q8_0: blocked('q8_0', Q8_0_BYTES, dequantizeQ8_0, quantizeQ8_0),
  q4_0: blocked('q4_0', Q4_0_BYTES, dequantizeQ4_0, quantizeQ4_0),
};

/** Element bytes and views of the scalar types (what safetensors and the kernels deal in). */
export interface DTypeInfo {
  readonly bytes: number;
  /** Floating-point storage that ops may read as numbers (f32 compute after widening). */
  readonly float: boolean;
  readonly make: (buffer: ArrayBufferLike, byteOffset: number, length: number) => AnyArray;
}

const scalarInfo = (d: ScalarDType): DTypeInfo => ({ bytes: TYPE_TRAITS[d].blockBytes, float: TYPE_TRAITS[d].kind === 'float', make: TYPE_TRAITS[d].view });

/** Derived from TYPE_TRAITS (the one place each type's size is stated). */
export const DTYPES: { readonly [D in ScalarDType]: DTypeInfo } = {
  f32: scalarInfo('f32'),
  bf16: scalarInfo('bf16'),
  f16: scalarInfo('f16'),
  i32: scalarInfo('i32'),
};

export function isDType(s: string): s is DType {
  return Object.prototype.hasOwnProperty.call(TYPE_TRAITS, s);
}

export function isScalarDType(d: DType): d is ScalarDType {
  return TYPE_TRAITS[d].blockSize === 1;
}

/** Bytes that n elements of a type occupy (n a multiple of the block size). */
export function bytesFor(dtype: DType, n: number): number {
  const t = TYPE_TRAITS[dtype];
  return (n / t.blockSize) * t.blockBytes;
}

/** Throws unless `shape` can be stored as `dtype` (blocked types: last dimension a multiple of the block). */
export function checkBlockShape(op: string, dtype: DType, shape: readonly number[]): void {
  const bs = TYPE_TRAITS[dtype].blockSize;
  if (bs === 1) return;
  const last = shape.length ? shape[shape.length - 1] : 1;
  if (last % bs !== 0) {
    throw new ShapeError(`${op}: a ${dtype} tensor stores blocks of ${bs} along its last dimension; shape ${fmtShape(shape)} does not divide`);
  }
}

/** Whether the contract of `kernel` takes `dtype` as a storage operand. */
export function kernelTakes(kernel: KernelName, dtype: DType): boolean {
  const k = TYPE_TRAITS[dtype].kernels;
  return k === 'all' || k.includes(kernel);
}

/** Reads element i of a scalar float-storage array as an f32 number. */
export function readFloat(a: AnyArray, dtype: DType, i: number): number {
  if (dtype === 'bf16') return bf16ToF32(a[i]);
  if (dtype === 'f16') return f16ToF32(a[i]);
  return a[i];
}
