import { type DType, type AnyArray } from '../engine/dtype.js';
import { type StDType, type StHeader, type TensorToWrite } from './safetensors.js';
/** Largest byte count passed to one readSync/writeSync call. */
export declare const IO_CHUNK_BYTES: number;
export declare const SINGLE_FILE = "model.safetensors";
export declare const INDEX_FILE = "model.safetensors.index.json";
/** One tensor of an opened checkpoint. `offset` is the absolute byte position in `file`. */
export interface StEntry {
    readonly name: string;
    readonly dtype: StDType;
    readonly shape: readonly number[];
    readonly byteLength: number;
    readonly file: string;
    readonly offset: number;
}
export interface OpenOptions {
    /** Bytes per readSync call (default 1 GiB; tests use small values to exercise the loop). */
    readonly chunkBytes?: number;
}
interface OpenFile {
    readonly path: string;
    fd: number;
    readonly header: StHeader;
}
/** An opened checkpoint (one file, or all shards of an index). Only headers are in memory. */
export declare class SafetensorsArchive {
    /** What was opened (file, index file or directory). */
    readonly path: string;
    /** __metadata__ of a single file, or the index's "metadata" (stringified values) for sharded ones. */
    readonly metadata: Readonly<Record<string, string>> | null;
    /** Non-fatal findings (e.g. tensors in a shard that the index does not list). */
    readonly warnings: readonly string[];
    private readonly chunkBytes;
    private readonly entries;
    private readonly fds;
    private closed;
    private constructor();
    /** @internal */
    static create(p: string, files: OpenFile[], metadata: Record<string, string> | null, warnings: string[], chunk: number, assign?: Map<string, string>): SafetensorsArchive;
    /** The files backing this archive, in index order. */
    get files(): string[];
    /** name -> {dtype, shape, byteLength, file, offset}; a fresh Map the caller may keep. */
    tensors(): Map<string, StEntry>;
    has(name: string): boolean;
    /** The entry for a tensor; FormatError naming the tensor and the archive when absent. */
    get(name: string): StEntry;
    /**
     * Reads the tensor's raw little-endian bytes straight into `dest` (exactly byteLength bytes; may be a view
     * into WebAssembly memory). Positioned reads of at most 1 GiB each; a short read is a truncated-file error.
     */
    readInto(name: string, dest: Uint8Array): void;
    /** A fresh copy of the tensor's raw bytes. */
    readBytes(name: string): Uint8Array;
    /** The tensor as f32 (BF16/F16/F64 widened exactly, F32 as is); other dtypes are a FormatError. */
    readTensorF32(name: string): Float32Array;
    /** The tensor in its own engine dtype (F32/BF16/F16/I32); other dtypes are a FormatError naming it. */
    readTensor(name: string): {
        dtype: DType;
        shape: number[];
        data: AnyArray;
    };
    close(): void;
    private fdOf;
}
/**
 * Opens a `.safetensors` file, a `model.safetensors.index.json`, or a Hugging Face model directory
 * (model.safetensors preferred, else the index + shards). Reads headers only.
 */
export declare function openSafetensors(pathOrDir: string, opts?: OpenOptions): SafetensorsArchive;
/**
 * Writes a single safetensors file atomically: header (8-byte LE length + space-padded JSON), then the
 * tensors back to back in the given order. Metadata gets format "pt" unless it sets one.
 */
export declare function writeSafetensors(file: string, tensors: readonly TensorToWrite[], metadata?: Record<string, string> | null): void;
export interface SaveShardedOptions {
    /** Largest shard in bytes of tensor data (HF default "5GB" = 5e9). */
    readonly maxShardBytes?: number;
    /** Extra __metadata__ for every shard. */
    readonly metadata?: Record<string, string> | null;
}
export interface SaveShardedResult {
    /** Files written, relative to dir (model.safetensors, or the shards). */
    readonly files: string[];
    /** The index path, or null when everything fit in model.safetensors. */
    readonly index: string | null;
    readonly totalSize: number;
}
/**
 * Splits tensors the way huggingface_hub's split_state_dict_into_shards does (in order; start a new shard
 * when the next tensor would overflow it; a tensor larger than the limit gets a shard of its own).
 */
export declare function planShards<T extends {
    readonly bytes: Uint8Array;
}>(tensors: readonly T[], maxShardBytes: number): T[][];
/**
 * Saves a checkpoint directory like transformers' save_pretrained: `model.safetensors` when it fits in one
 * shard, else `model-0000i-of-0000N.safetensors` + `model.safetensors.index.json` ({metadata: {total_size},
 * weight_map}, keys sorted, indent 2). Every file goes through temp + rename; the index is renamed last.
 * Stale model files from an earlier save in the same directory are removed afterwards.
 */
export declare function saveSharded(dir: string, tensors: readonly TensorToWrite[], opts?: SaveShardedOptions): SaveShardedResult;
/** Bytes per element of a safetensors dtype (re-exported for callers that only import the Node side). */
export declare function dtypeBytes(d: StDType): number;
export {};
