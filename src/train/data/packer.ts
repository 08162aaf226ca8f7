// Packs documents into fixed-length training rows: a document of n tokens fills n − 1 positions
// (inputs = tokens[0..n−2], targets = tokens[1..n−1] where the loss mask is set), so every target
// appears exactly once; a document longer than a row is cut into row-sized pieces that overlap by one
// token (or was dropped by the caller). 'segments' packing gives each piece its own segment id and
// positions from 0; 'separators' leaves documents to their BOS/EOS and counts positions per row.
// A piece that does not fit the rest of a row starts the next row (the rest is padding).

import { ChameleonError } from '../../util/errors.js';
import { IGNORE_INDEX, type BatchSource, type TokenBatch } from './batch.js';
import type { DocSampler, SamplerState } from './sampler.js';

export type Packing = 'segments' | 'separators';

export interface PackerOptions {
  seqLen: number;
  batch: number;
  packing: Packing;
  padId: number;
  /** Image ids are [imageStart, imageEnd) (for the per-modality target counts). */
  imageStart: number;
  imageEnd: number;
}

/** Where documents' tokens come from. */
export interface DocReader {
  read(doc: number): { tokens: Int32Array; mask: Uint8Array };
}

export interface PackerState extends Record<string, unknown> {
  sampler: SamplerState;
  /** The document piece waiting for the next row, or null. */
  pending: { doc: number; piece: number } | null;
  /** Batches produced so far. */
  batches: number;
  /** "BxT packing": a state only restores into the same shape. */
  shape: string;
}

/** Positions a document of `length` tokens fills as rows of seqLen (pieces overlap by one token). */
export function piecesOf(length: number, seqLen: number): number {
  return Math.max(0, Math.ceil((length - 1) / seqLen));
}

export class PackedBatchSource implements BatchSource {
  private pending: { doc: number; piece: number } | null = null;
  private batches = 0;
  private cache: { doc: number; tokens: Int32Array; mask: Uint8Array } | null = null;

  constructor(
    private readonly sampler: DocSampler,
    private readonly reader: DocReader,
    private readonly opts: PackerOptions,
  ) {
    for (const k of ['seqLen', 'batch'] as const) {
      if (!Number.isInteger(opts[k]) || opts[k] < 1) throw new ChameleonError(`${k} must be a positive integer, got ${opts[k]}`);
    }
    if (opts.packing !== 'segments' && opts.packing !== 'separators') throw new ChameleonError(`packing must be segments or separators, got ${JSON.stringify(opts.packing)}`);
  }

  private doc(id: number): { tokens: Int32Array; mask: Uint8Array } {
    if (this.cache?.doc !== id) this.cache = { doc: id, ...this.reader.read(id) };
    return this.cache;
  }

  next(): TokenBatch {
    const { seqLen: T, batch: B, padId, imageStart, imageEnd } = this.opts;
    const segments = this.opts.packing === 'segments';
    const inputs = new Int32Array(B * T).fill(padId);
    const targets = new Int32Array(B * T).fill(IGNORE_INDEX);
    const segIds = segments ? new Int32Array(B * T) : null;
    const positions = new Int32Array(B * T);
    let textTargets = 0;
    let imageTargets = 0;
    for (let b = 0; b < B; b++) {
      const row = b * T;
      let pos = 0;
      let seg = 0;
      for (;;) {
        if (!this.pending) this.pending = { doc: this.sampler.next(), piece: 0 };
        const { doc, piece } = this.pending;
        const { tokens, mask } = this.doc(doc);
        const start = piece * T;
        const count = Math.min(T, tokens.length - 1 - start); // positions of this piece
        if (count <= 0) {
          this.pending = null; // a one-token document has no targets
          continue;
        }
        if (count > T - pos) break; // does not fit: the rest of the row is padding
        for (let i = 0; i < count; i++) {
          const at = row + pos + i;
          inputs[at] = tokens[start + i];
          const t = tokens[start + i + 1];
          if (mask[start + i + 1]) {
            targets[at] = t;
            if (t >= imageStart && t < imageEnd) imageTargets++;
            else textTargets++;
          }
          positions[at] = segments ? i : pos + i;
          if (segIds) segIds[at] = seg;
        }
        pos += count;
        seg++;
        this.pending = start + count < tokens.length - 1 ? { doc, piece: piece + 1 } : null;
        if (pos === T) break;
      }
      for (let i = pos; i < T; i++) {
        positions[row + i] = segments ? i - pos : i;
        if (segIds) segIds[row + i] = seg; // padding: a segment of its own
      }
    }
    this.batches++;
    return { inputs, targets, segIds, positions, batch: B, seqLen: T, textTargets, imageTargets };
  }

  private get shape(): string {
    return `${this.opts.batch}x${this.opts.seqLen} ${this.opts.packing}`;
  }

  state(): PackerState {
    return { sampler: this.sampler.state(), pending: this.pending ? { ...this.pending } : null, batches: this.batches, shape: this.shape };
  }

  restore(state: Record<string, unknown>): void {
    const s = state as Partial<PackerState>;
    if (!s || typeof s !== 'object' || !s.sampler || typeof s.batches !== 'number') throw new ChameleonError('data-loader state is not one this loader wrote (no sampler position)');
    if (s.shape !== this.shape) throw new ChameleonError(`data-loader state is for batches of ${String(s.shape)}, this loader makes ${this.shape}`);
    const p = s.pending;
    if (p !== null && (typeof p !== 'object' || !Number.isInteger(p?.doc) || !Number.isInteger(p?.piece))) throw new ChameleonError('data-loader state has a malformed pending document');
    this.sampler.restore(s.sampler);
    this.pending = p ? { doc: p.doc, piece: p.piece } : null;
    this.batches = s.batches;
    this.cache = null;
  }
}
