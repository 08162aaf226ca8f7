import { type DType } from '../engine/dtype.js';
/** Every dtype string the safetensors format defines (the names are the on-disk spelling). */
export type StDType = 'BOOL' | 'U8' | 'I8' | 'F8_E5M2' | 'F8_E4M3' | 'I16' | 'U16' | 'F16' | 'BF16' | 'I32' | 'U32' | 'F32' | 'F64' | 'I64' | 'U64';
export interface StDTypeInfo {
    /** Bytes per element. */
    readonly bytes: number;
    /** The engine dtype these bytes can be used as directly, or null when the engine has none. */
    readonly engine: DType | null;
}
export declare const ST_DTYPES: {
    readonly [K in StDType]: StDTypeInfo;
};
/** Safetensors refuses headers above 100 MB; so do we (a corrupt length must not allocate gigabytes). */
export declare const MAX_HEADER_BYTES = 100000000;
export declare function isStDType(s: string): s is StDType;
/** Engine dtype -> safetensors dtype name. */
export declare function stDTypeOf(d: DType): StDType;
/** Accepts either an engine dtype ('f32') or a safetensors name ('F32', case-insensitive). */
export declare function toStDType(d: string): StDType;
/** The engine dtype for a tensor's stored dtype; a clear error naming tensor and dtype when there is none. */
export declare function engineDType(dtype: StDType, tensor: string, file: string): DType;
/** One tensor entry of a parsed header. begin/end are byte offsets relative to the data section. */
export interface StTensorInfo {
    readonly name: string;
    readonly dtype: StDType;
    readonly shape: readonly number[];
    readonly begin: number;
    readonly end: number;
    readonly byteLength: number;
}
export interface StHeader {
    /** Where the data section starts in the file: 8 + JSON header length. */
    readonly dataStart: number;
    /** Tensors in data order (sorted by begin offset). */
    readonly tensors: readonly StTensorInfo[];
    readonly byName: ReadonlyMap<string, StTensorInfo>;
    readonly metadata: Readonly<Record<string, string>> | null;
}
export declare function numel(shape: readonly number[]): number;
/**
 * Reads the little-endian u64 header length from the first 8 bytes and checks it against the file size.
 * `fileSize` is the total file size in bytes.
 */
export declare function readHeaderLength(first8: Uint8Array, fileSize: number, file: string): number;
/**
 * Parses and validates the JSON header (the `headerLength` bytes after the first 8).
 * `fileSize` is the total file size so offsets can be checked against the data section.
 */
export declare function parseHeaderJson(json: Uint8Array, fileSize: number, file: string): StHeader;
/** Parses a complete in-memory safetensors file (header only is interpreted; data stays in `bytes`). */
export declare function parseSafetensors(bytes: Uint8Array, file?: string): StHeader;
/** What the serializer needs to know about each tensor (data is written separately). */
export interface StTensorSpec {
    readonly name: string;
    readonly dtype: StDType;
    readonly shape: readonly number[];
}
/** A tensor to write: dtype as engine ('f32') or safetensors ('F32') name; data raw LE bytes or a typed array. */
export interface TensorToWrite {
    readonly name: string;
    readonly dtype: DType | StDType;
    readonly shape: readonly number[];
    readonly data: Uint8Array | ArrayBufferView;
}
/** The raw little-endian bytes of a tensor's data, validated against its dtype and shape (no copy). */
export declare function tensorBytes(t: TensorToWrite): Uint8Array;
export interface SerializedHeader {
    /** 8-byte LE length + JSON padded with spaces to a multiple of 8. Data starts right after. */
    readonly bytes: Uint8Array;
    /** [begin, end] of each tensor relative to the data start, in input order. */
    readonly offsets: readonly (readonly [number, number])[];
    readonly dataBytes: number;
}
/**
 * Builds the header for tensors laid out back to back in the given order. A metadata object without
 * "format" gets format "pt" (transformers refuses safetensors metadata that lacks it).
 */
export declare function serializeHeader(tensors: readonly StTensorSpec[], metadata?: Record<string, string> | null): SerializedHeader;
/** Serializes a whole file into memory (tests and small files; the Node writer streams instead). */
export declare function serializeSafetensors(tensors: readonly TensorToWrite[], metadata?: Record<string, string> | null): Uint8Array;
/** Widens raw F32/BF16/F16/F64 bytes to a new Float32Array; any other dtype is a FormatError. */
export declare function widenToF32(bytes: Uint8Array, dtype: StDType, tensor: string, file: string): Float32Array;
/** Anything with a shape per tensor name (the result of tensors(), a parsed header's byName, ...). */
export type FoundTensors = ReadonlyMap<string, {
    readonly shape: readonly number[];
}>;
export interface TensorCheckOptions {
    /** Prefix of the error message, e.g. the checkpoint path. */
    readonly source?: string;
    /** Extra tensors that are fine to find (e.g. buffers like rope.freqs). Exact names or RegExps. */
    readonly allowUnexpected?: readonly (string | RegExp)[];
    /** Don't complain about unexpected tensors at all (loading a subset). */
    readonly ignoreUnexpected?: boolean;
}
/** The problems checkTensors would report, as lists (empty lists = all good). */
export declare function diffTensors(expected: ReadonlyMap<string, readonly number[]>, found: FoundTensors, opts?: TensorCheckOptions): {
    missing: string[];
    unexpected: string[];
    mismatched: string[];
};
/**
 * Compares the tensors a model expects (name -> shape) with what a checkpoint holds. Throws one FormatError
 * listing ALL missing tensors, ALL unexpected ones and every shape mismatch (with both shapes).
 */
export declare function checkTensors(expected: ReadonlyMap<string, readonly number[]>, found: FoundTensors, opts?: TensorCheckOptions): void;
