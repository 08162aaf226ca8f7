// KV cache for prefill and decode: per layer, keys and values [B, Smax, Hk, D] after QK-norm and
// RoPE, in an arena of its own so a finished request returns its memory (dispose). Stored as f32, or
// as bf16 at half the memory and read bandwidth (rounded once on append, as a bf16 model's cache is).
// Row ranges can be copied between caches (a shared prompt prefix computed once, batch re-layouts),
// moved between rows of one cache, and a cache may hold more rows than the forward uses (setBatch:
// a decode batch's slots, whose rows join and leave without a new cache). Paging and eviction are
// left out.

import { ChameleonError, ShapeError } from '../util/errors.js';
import { bytesFor } from '../engine/dtype.js';
import { Arena } from '../engine/arena.js';
import type { Engine } from '../engine/engine.js';
import { Tensor } from '../engine/tensor.js';
import { ops } from '../engine/index.js';
import type { ChameleonConfig } from './config.js';

export type KVDType = 'f32' | 'bf16';

export class KVCache {
  /** Per layer, keys / values of the rows in use: [batch, Smax, Hk, D] views of the full buffers. */
  readonly k: Tensor[] = [];
  readonly v: Tensor[] = [];
  /** Positions filled so far (the same for every row; rows differ only by left padding). */
  length = 0;
  /** Rows the forward reads and writes (the first `batch` of `capacity`). */
  private rows: number;
  private readonly kFull: Tensor[] = [];
  private readonly vFull: Tensor[] = [];
  private readonly arena: Arena;
  private disposed = false;

  constructor(
    readonly engine: Engine,
    cfg: ChameleonConfig,
    /** Rows the cache holds (all in use until setBatch says otherwise). */
    readonly capacity: number,
    readonly maxLen: number,
    readonly dtype: KVDType = 'f32',
  ) {
    const batch = capacity;
    if (!Number.isInteger(batch) || batch < 1 || !Number.isInteger(maxLen) || maxLen < 1) {
      throw new ShapeError(`KVCache: invalid batch ${batch} or length ${maxLen}`);
    }
    if (dtype !== 'f32' && dtype !== 'bf16') throw new ShapeError(`KVCache: dtype must be f32 or bf16, got ${String(dtype)}`);
    const shape = [batch, maxLen, cfg.numKeyValueHeads, cfg.headDim]; // [B, Smax, Hk, D]
    const per = shape.reduce((a, b) => a * b, 1);
    const bytes = bytesFor(dtype, per) * 2 * cfg.numHiddenLayers;
    this.arena = new Arena('kv-cache', engine.memory, engine.backend.storage, Math.max(1 << 20, bytes + 64 * cfg.numHiddenLayers + 4096));
    for (let l = 0; l < cfg.numHiddenLayers; l++) {
      this.kFull.push(new Tensor(engine, shape, dtype, this.arena.alloc(dtype, per, true), 0, this.arena.memory));
      this.vFull.push(new Tensor(engine, shape, dtype, this.arena.alloc(dtype, per, true), 0, this.arena.memory));
    }
    this.rows = batch;
    this.k.push(...this.kFull);
    this.v.push(...this.vFull);
  }

  /** Rows in use (the batch a forward through this cache must have). */
  get batch(): number {
    return this.rows;
  }

  /** Uses the first n of the cache's rows from now on (their contents are kept). */
  setBatch(n: number): void {
    if (!Number.isInteger(n) || n < 1 || n > this.capacity) throw new ShapeError(`KVCache.setBatch: ${n} rows, the cache holds 1..${this.capacity}`);
    if (n === this.rows) return;
    this.rows = n;
    for (let l = 0; l < this.kFull.length; l++) {
      for (const [full, views] of [[this.kFull[l], this.k], [this.vFull[l], this.v]] as const) {
        const [, s, hk, d] = full.shape;
        views[l] = new Tensor(this.engine, [n, s, hk, d], this.dtype, full.data.subarray(0, n * s * hk * d), 0, full.memory); // [n, Smax, Hk, D]
      }
    }
  }

  /** Throws unless T new tokens of batch B fit. */
  check(batch: number, t: number): void {
    if (this.disposed) throw new ChameleonError('KVCache used after dispose()');
    if (batch !== this.batch) throw new ShapeError(`KVCache: batch ${batch} does not match the cache's ${this.batch}`);
    if (this.length + t > this.maxLen) throw new ShapeError(`KVCache: ${this.length} + ${t} tokens exceed the cache length ${this.maxLen}`);
  }

  /** Writes new keys/values [B, T, Hk, D] of layer l at the current length; returns the full buffers. */
  append(l: number, k: Tensor, v: Tensor): { k: Tensor; v: Tensor } {
    this.engine.noGrad(() => {
      const store = (t: Tensor): Tensor => (this.dtype === 'f32' ? t : ops.cast(t, this.dtype)); // [B, T, Hk, D]
      ops.assignSlice(this.k[l], store(k), 1, this.length);
      ops.assignSlice(this.v[l], store(v), 1, this.length);
    });
    return { k: this.k[l], v: this.v[l] };
  }

  /** Called by the model after every layer has appended T tokens. */
  advance(t: number): void {
    this.length += t;
  }

  /** Forgets positions ≥ n (e.g. to re-decode from a shared prefix). */
  truncate(n: number): void {
    if (n < 0 || n > this.length) throw new ShapeError(`KVCache: cannot truncate to ${n} (length ${this.length})`);
    this.length = n;
  }

  /**
   * Copies positions [srcStart, srcStart + len) of row `srcRow` of `src` into row `dstRow` of this
   * cache at dstStart (keys keep the rotation of their own positions, so rows may move).
   */
  copyRange(src: KVCache, srcRow: number, srcStart: number, dstRow: number, dstStart: number, len: number): void {
    if (src.k.length !== this.k.length || src.dtype !== this.dtype || srcStart < 0 || dstStart < 0 || srcStart + len > src.maxLen || dstStart + len > this.maxLen || srcRow >= src.capacity || dstRow >= this.capacity) {
      throw new ShapeError('KVCache.copyRange: incompatible caches or range');
    }
    const [, , hk, d] = this.kFull[0].shape;
    const row = hk * d;
    const from = (srcRow * src.maxLen + srcStart) * row;
    const to = (dstRow * this.maxLen + dstStart) * row;
    for (let l = 0; l < this.kFull.length; l++) {
      for (const [a, b] of [[src.kFull[l], this.kFull[l]], [src.vFull[l], this.vFull[l]]] as const) {
        if (a === b) b.data.copyWithin(to, from, from + len * row); // overlapping ranges of one cache
        else b.data.set(a.data.subarray(from, from + len * row) as never, to);
      }
    }
  }

  /** Moves positions [srcStart, srcStart + len) of row srcRow to row dstRow at dstStart (ranges may overlap). */
  moveRange(srcRow: number, srcStart: number, dstRow: number, dstStart: number, len: number): void {
    this.copyRange(this, srcRow, srcStart, dstRow, dstStart, len);
  }

  /** Bytes of keys and values the cache holds (all its rows). */
  bytes(): number {
    return this.kFull.reduce((s, t) => s + t.data.byteLength * 2, 0);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.arena.dispose();
  }
}
