// What the LM trainer reads: the TokenBatch / BatchSource contract (re-exported from
// src/train/data/batch.ts, which owns it), and SyntheticSource, the seeded smoke-test source behind
// `--synthetic-data <seed>`: packed documents of a fixed random bigram chain over the text ids, and
// image blocks (BOI, codes, EOI) when the model knows its image ids. Real datasets are the loader's.

import { ChameleonError } from '../../util/errors.js';
import { IGNORE_INDEX, type BatchSource, type TokenBatch } from '../data/batch.js';
import { Rng } from '../../util/rng.js';

export { IGNORE_INDEX, type BatchSource, type TokenBatch } from '../data/batch.js';

export interface SyntheticOptions {
  seed: number;
  batch: number;
  seqLen: number;
  vocabSize: number;
  /** Image-token ids (empty: text only). */
  imageIds: Int32Array;
  /** Begin/end-image ids framing each image block (needed with imageIds). */
  boi?: number;
  eoi?: number;
  /** Image tokens per image block (default 16). */
  imageTokens?: number;
}

/**
 * Deterministic packed batches: documents of 8-64 tokens (or image blocks) follow each other in a
 * row; segIds number them, positions restart at 0, and the last token of each document takes no
 * loss. Within a text document each token follows the previous through a fixed random table 80 % of
 * the time, so a model can learn it; image codes are uniform. The cursor is the RNG state alone.
 */
export class SyntheticSource implements BatchSource {
  private readonly rng: Rng;
  private readonly table: Int32Array;
  private readonly textIds: Int32Array;
  private readonly isImage: Uint8Array;

  constructor(readonly opts: SyntheticOptions) {
    const { vocabSize, imageIds } = opts;
    if (imageIds.length > 0 && (opts.boi === undefined || opts.eoi === undefined)) throw new ChameleonError('synthetic data: image ids need begin/end-image ids');
    this.isImage = new Uint8Array(vocabSize);
    for (const id of imageIds) this.isImage[id] = 1;
    const special = new Set([opts.boi, opts.eoi]);
    const text: number[] = [];
    for (let i = 0; i < vocabSize; i++) if (!this.isImage[i] && !special.has(i)) text.push(i);
    if (text.length < 2) throw new ChameleonError(`synthetic data: vocabulary ${vocabSize} leaves fewer than 2 text ids`);
    this.textIds = Int32Array.from(text);
    const tableRng = new Rng(opts.seed ^ 0x7ab1e);
    this.table = Int32Array.from({ length: vocabSize }, () => this.textIds[tableRng.int(this.textIds.length)]);
    this.rng = new Rng(opts.seed);
  }

  private document(): number[] {
    const r = this.rng;
    const { imageIds, imageTokens = 16 } = this.opts;
    if (imageIds.length > 0 && r.uniform() < 0.3) {
      const doc = [this.opts.boi!];
      for (let i = 0; i < imageTokens; i++) doc.push(imageIds[r.int(imageIds.length)]);
      doc.push(this.opts.eoi!);
      return doc;
    }
    const len = 8 + r.int(57);
    const doc = [this.textIds[r.int(this.textIds.length)]];
    while (doc.length < len) doc.push(r.uniform() < 0.8 ? this.table[doc[doc.length - 1]] : this.textIds[r.int(this.textIds.length)]);
    return doc;
  }

  next(): TokenBatch {
    const { batch: B, seqLen: T } = this.opts;
    const inputs = new Int32Array(B * T);
    const targets = new Int32Array(B * T).fill(IGNORE_INDEX);
    const segIds = new Int32Array(B * T);
    const positions = new Int32Array(B * T);
    let textTargets = 0;
    let imageTargets = 0;
    for (let b = 0; b < B; b++) {
      let t = 0;
      let seg = 0;
      while (t < T) {
        const doc = this.document().slice(0, T - t);
        for (let i = 0; i < doc.length; i++) {
          const k = b * T + t + i;
          inputs[k] = doc[i];
          segIds[k] = seg;
          positions[k] = i;
          if (i + 1 < doc.length) {
            targets[k] = doc[i + 1];
            if (this.isImage[doc[i + 1]]) imageTargets++;
            else textTargets++;
          }
        }
        t += doc.length;
        seg++;
      }
    }
    return { inputs, targets, segIds, positions, batch: B, seqLen: T, textTargets, imageTargets };
  }

  state(): Record<string, unknown> {
    return { kind: 'synthetic', seed: this.opts.seed, rng: this.rng.getState() };
  }

  restore(state: Record<string, unknown>): void {
    if (state.kind !== 'synthetic' || state.seed !== this.opts.seed || !Array.isArray(state.rng)) {
      throw new ChameleonError(`resume: the checkpoint's data position (${JSON.stringify(state).slice(0, 80)}) is not synthetic data with seed ${this.opts.seed}`);
    }
    this.rng.setState(state.rng as number[]);
  }
}
