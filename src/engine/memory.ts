// Memories and storage handles. A Memory is a named allocator of byte regions (the wasm backend's
// one shared WebAssembly.Memory, the ref backend's ArrayBuffers, or a HostMemory an engine adds as a
// second place for tensors); a Storage is where one tensor's bytes are: which memory, byte offset,
// byte length. Kernels that can only address their own memory use `memoryName` to say, by name,
// which memory an array they were given lives in. No allocation policy beyond regions lives here.

import { ChameleonError } from '../util/errors.js';

/** A byte range of some memory; typed-array views are made over `buffer` at `byteOffset`. */
export interface MemoryRegion {
  readonly buffer: ArrayBufferLike;
  readonly byteOffset: number;
  readonly byteLength: number;
}

/** A named allocator of byte regions. Arenas sit on top of one. */
export interface Memory {
  /** Short, unique within an engine: 'wasm', 'host', 'ref', or a name given by the user. */
  readonly name: string;
  /**
   * Reserves a region of at least `bytes` bytes, 64-byte aligned: zero-filled, or with unspecified
   * contents when `zero` is false (for callers that overwrite all of it).
   */
  reserve(bytes: number, zero?: boolean): MemoryRegion;
  /** Returns a region obtained from reserve(); unknown or already returned regions are ignored. */
  unreserve(region: MemoryRegion): void;
  /** Total bytes currently reserved. */
  reservedBytes(): number;
  /** Bytes of the address space behind it, where it has a fixed one (wasm memory: grows, never shrinks). */
  capacityBytes?(): number;
  /** Whether an ArrayBuffer (the buffer of a typed array or region) belongs to this memory. */
  owns(buffer: ArrayBufferLike): boolean;
}

/** Where a tensor's bytes live: the storage handle of the type-traits design (docs/storage.md). */
export interface Storage {
  readonly memory: Memory;
  readonly byteOffset: number;
  readonly byteLength: number;
}

/**
 * Buffer -> owning memory, for error messages only ("lives in memory 'host'"). A WeakMap keyed by
 * the buffers themselves: it holds no memory alive and changes no behaviour.
 */
const owners = new WeakMap<object, string>();

/** Records that `buffer` belongs to the memory called `name` (memories call this for their buffers). */
export function labelBuffer(buffer: ArrayBufferLike, name: string): void {
  owners.set(buffer, name);
}

/** The name of the memory a buffer belongs to, or a description of a buffer no memory owns. */
export function memoryName(buffer: ArrayBufferLike): string {
  const n = owners.get(buffer);
  if (n !== undefined) return n;
  return buffer instanceof ArrayBuffer ? 'an unregistered ArrayBuffer' : 'an unregistered SharedArrayBuffer';
}

/** Raised by a kernel given an operand it cannot address (never a silent fallback). */
export class KernelMemoryError extends ChameleonError {
  constructor(
    readonly kernel: string,
    readonly backend: string,
    readonly memory: string,
  ) {
    super(
      `${backend} kernel ${kernel} cannot address an operand in memory '${memory}': it reads only its own memory; ` +
        `copy the tensor there first (engine.toMemory)`,
    );
    this.name = 'KernelMemoryError';
  }
}

const ALIGN = 64;

/**
 * Memory made of ordinary (or shared) ArrayBuffers, one per region: the ref backend's memory, and a
 * second memory an engine can place tensors in (what a wasm kernel cannot address, by design).
 */
export class HostMemory implements Memory {
  private reserved = 0;
  private readonly live = new WeakSet<MemoryRegion>();
  private readonly buffers = new WeakSet<object>();

  constructor(
    readonly name: string,
    private readonly shared = false,
  ) {}

  reserve(bytes: number): MemoryRegion {
    if (!Number.isFinite(bytes) || bytes < 0) throw new ChameleonError(`memory ${this.name}: cannot reserve ${bytes} bytes`);
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    // New buffers are zero-filled by the platform, so `zero` needs no work here.
    const buffer = this.shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size);
    this.buffers.add(buffer);
    labelBuffer(buffer, this.name);
    const region: MemoryRegion = { buffer, byteOffset: 0, byteLength: bytes };
    this.live.add(region);
    this.reserved += bytes;
    return region;
  }

  unreserve(region: MemoryRegion): void {
    if (this.live.delete(region)) this.reserved -= region.byteLength;
  }

  reservedBytes(): number {
    return this.reserved;
  }

  owns(buffer: ArrayBufferLike): boolean {
    return this.buffers.has(buffer);
  }
}
