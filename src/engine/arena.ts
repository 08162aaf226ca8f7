// Arenas: bump allocators over chunks of one Memory (the backend's, or a second one). The engine
// keeps one arena per lifetime // (parameters, gradients, optimizer state, long-lived state such as KV caches, per-step scratch).
// Scratch is released to a mark at the end of each scope; the others live until disposed.
// No free of individual tensors: see docs/memory.md for the ownership rule.

import type { Backend } from './backend.js';
import { TYPE_TRAITS, bytesFor, type AnyArray, type DType } from './dtype.js';
import type { Memory, MemoryRegion } from './memory.js';

const ALIGN = 64;
const MIN_CHUNK = 16 << 20;

interface Chunk {
  region: MemoryRegion;
  used: number;
}

/** Position of an arena at some moment; release(mark) frees everything allocated after it. */
export interface ArenaMark {
  chunk: number;
  used: number;
}

export class Arena {
  private readonly chunks: Chunk[] = [];
  private current = -1;
  /** Bytes handed out (after alignment) and not yet released. */
  private live = 0;
  private peak = 0;

  constructor(
    readonly name: string,
    readonly memory: Memory,
    /** The backend's storage override (the float64 test oracle), when the memory is the backend's. */
    private readonly storage: Backend['storage'] = undefined,
    private readonly minChunk = MIN_CHUNK,
  ) {}

  /**
   * A typed-array view of n elements' storage in this arena's memory (blocked types: n a multiple of
   * the block size, viewed as bytes). Contents are zero when `zero` is true (default), otherwise
   * unspecified (the caller's kernel must overwrite every element).
   */
  alloc(dtype: DType, n: number, zero = true): AnyArray {
    const storage = this.storage;
    const size = storage ? storage.bytes(dtype) * n : bytesFor(dtype, n);
    const bytes = Math.max(ALIGN, Math.ceil(size / ALIGN) * ALIGN);
    let c = this.current >= 0 ? this.chunks[this.current] : undefined;
    if (!c || c.used + bytes > c.region.byteLength) {
      c = this.nextChunk(bytes);
    }
    const off = c.region.byteOffset + c.used;
    c.used += bytes;
    this.live += bytes;
    if (this.live > this.peak) this.peak = this.live;
    const arr = storage ? storage.make(dtype, c.region.buffer, off, n) : TYPE_TRAITS[dtype].view(c.region.buffer, off, n);
    if (zero) arr.fill(0);
    return arr;
  }

  private nextChunk(bytes: number): Chunk {
    // Reuse a later, already reserved chunk if it is big enough (after a release), else reserve.
    for (let i = this.current + 1; i < this.chunks.length; i++) {
      const c = this.chunks[i];
      if (c.used === 0 && c.region.byteLength >= bytes) {
        if (i !== this.current + 1) {
          // keep chunk order = allocation order so marks stay meaningful
          this.chunks.splice(i, 1);
          this.chunks.splice(this.current + 1, 0, c);
        }
        this.current++;
        return c;
      }
    }
    const size = Math.max(this.minChunk, bytes);
    const region = this.memory.reserve(size, false); // alloc() zeroes what it hands out when asked
    const chunk: Chunk = { region, used: 0 };
    this.chunks.splice(this.current + 1, 0, chunk);
    this.current++;
    return chunk;
  }

  mark(): ArenaMark {
    return { chunk: this.current, used: this.current >= 0 ? this.chunks[this.current].used : 0 };
  }

  /** Frees everything allocated after `m` (the memory is reused by later allocations). */
  release(m: ArenaMark): void {
    for (let i = this.chunks.length - 1; i > m.chunk; i--) {
      this.live -= this.chunks[i].used;
      this.chunks[i].used = 0;
    }
    if (m.chunk >= 0) {
      const c = this.chunks[m.chunk];
      this.live -= c.used - m.used;
      c.used = m.used;
    }
    this.current = m.chunk;
  }

  /** Frees everything; chunks stay reserved for reuse. */
  reset(): void {
    this.release({ chunk: -1, used: 0 });
  }

  /** Returns all chunks to the memory. */
  dispose(): void {
    for (const c of this.chunks) this.memory.unreserve(c.region);
    this.chunks.length = 0;
    this.current = -1;
    this.live = 0;
  }

  stats(): { name: string; liveBytes: number; peakBytes: number; reservedBytes: number } {
    const reservedBytes = this.chunks.reduce((s, c) => s + c.region.byteLength, 0);
    return { name: this.name, liveBytes: this.live, peakBytes: this.peak, reservedBytes };
  }
}
