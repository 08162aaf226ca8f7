// The backend's one shared WebAssembly.Memory and its allocator: reserve() hands out 64-byte-aligned,
// zero-filled (or, on request, uninitialised) regions (first fit over a free list that coalesces neighbours, else bump the top and
// grow the memory), unreserve() returns them. Also answers "is this typed array inside me?": native
// kernels refuse operands outside it by name. Memory never shrinks; 4 GiB is the wasm32 cap.

import { labelBuffer, type Memory, type MemoryRegion } from '../../memory.js';
import { ChameleonError } from '../../../util/errors.js';

const PAGE = 65536;
const MAX_PAGES = 65536;
const ALIGN = 64;

interface Block {
  off: number;
  size: number;
}

export class SharedHeap implements Memory {
  readonly name = 'wasm';
  readonly memory: WebAssembly.Memory;
  private readonly base: number;
  private top: number;
  /** Every byte at or above this offset has never been handed out, so it is still zero. */
  private clean: number;
  private free: Block[] = [];
  private readonly live = new Map<number, number>();
  private readonly buffers = new WeakSet<object>();
  private reserved = 0;

  /** `base`: first byte the heap may use (after static data, control block and scratch). */
  constructor(base: number, initialPages: number) {
    const pages = Math.max(initialPages, Math.ceil((base + PAGE) / PAGE));
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: MAX_PAGES, shared: true });
    this.base = roundUp(base);
    this.top = this.base;
    this.clean = this.base;
    this.buffers.add(this.memory.buffer);
    labelBuffer(this.memory.buffer, this.name);
  }

  /** The current SharedArrayBuffer of the memory (a new object after every grow). */
  get buffer(): ArrayBufferLike {
    const b = this.memory.buffer;
    if (!this.buffers.has(b)) {
      this.buffers.add(b);
      labelBuffer(b, this.name);
    }
    return b;
  }

  reserve(bytes: number, zero = true): MemoryRegion {
    const size = roundUp(Math.max(1, Math.ceil(bytes)));
    let off = -1;
    for (let i = 0; i < this.free.length; i++) {
      const blk = this.free[i];
      if (blk.size < size) continue;
      off = blk.off;
      if (blk.size === size) this.free.splice(i, 1);
      else {
        blk.off += size;
        blk.size -= size;
      }
      break;
    }
    if (off < 0) {
      off = this.top;
      this.ensure(off + size);
      this.top = off + size;
    }
    // Only bytes handed out before can be dirty. Sizes and offsets are multiples of 64, so the fill
    // runs on 32-bit words (a Uint8Array fill on shared memory is ~3x slower: 2.9 vs 7.9 GB/s).
    if (zero && off < this.clean) new Uint32Array(this.buffer, off, Math.min(size, this.clean - off) >>> 2).fill(0);
    this.clean = Math.max(this.clean, off + size);
    this.live.set(off, size);
    this.reserved += size;
    return { buffer: this.buffer, byteOffset: off, byteLength: bytes };
  }

  unreserve(region: MemoryRegion): void {
    const size = this.live.get(region.byteOffset);
    if (size === undefined || !this.owns(region.buffer)) return;
    this.live.delete(region.byteOffset);
    this.reserved -= size;
    this.release(region.byteOffset, size);
  }

  capacityBytes(): number {
    return this.memory.buffer.byteLength;
  }

  reservedBytes(): number {
    return this.reserved;
  }

  /** Whether a typed array (or region) lies inside this memory, so wasm can address it at byteOffset. */
  owns(buffer: ArrayBufferLike): boolean {
    return this.buffers.has(buffer);
  }

  private release(off: number, size: number): void {
    const list = this.free;
    let i = 0;
    while (i < list.length && list[i].off < off) i++;
    list.splice(i, 0, { off, size });
    // Coalesce with the next, then with the previous block.
    if (i + 1 < list.length && list[i].off + list[i].size === list[i + 1].off) {
      list[i].size += list[i + 1].size;
      list.splice(i + 1, 1);
    }
    if (i > 0 && list[i - 1].off + list[i - 1].size === list[i].off) {
      list[i - 1].size += list[i].size;
      list.splice(i, 1);
      i--;
    }
    // A free block at the top lowers the top.
    const last = list[list.length - 1];
    if (last.off + last.size === this.top) {
      this.top = last.off;
      list.pop();
    }
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const pages = Math.ceil((end - have) / PAGE);
    if (have / PAGE + pages > MAX_PAGES) {
      throw new ChameleonError(`wasm backend: out of memory: ${end} bytes needed, the wasm32 limit is 4 GiB (${this.reserved} bytes reserved)`);
    }
    this.memory.grow(pages);
    this.buffers.add(this.memory.buffer);
    labelBuffer(this.memory.buffer, this.name);
  }
}

function roundUp(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}
