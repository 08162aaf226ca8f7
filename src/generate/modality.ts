// The modality state machine of spec §6.2: a value (not a model flag) that says which ids may come
// next. Text state: text ids, EOS, end-of-turn, and BOI when images are allowed and N + 2 positions
// remain. Image state: only image ids, exactly N of them, then EOI is forced. Mode 'image' forces
// BOI at once and stops after the requested images. Pure logic, tested with random logits.

import type { GenVocab } from './vocab.js';
import type { Mode } from './options.js';

export type StopReason = 'eos' | 'end-of-turn' | 'length' | 'images' | 'abort';

export interface ModalityConfig {
  mode: Mode;
  /** Tokens per image (grid size: 1024 for the real model). */
  imageTokens: number;
  maxImages: number;
  /** Absolute sequence-length budget (context). */
  maxLength: number;
  stopOnEndOfTurn: boolean;
}

export type Step =
  | { kind: 'text'; token: number }
  | { kind: 'image-start'; index: number }
  | { kind: 'image-token'; index: number; position: number; code: number }
  | { kind: 'image-end'; index: number }
  | { kind: 'stop'; reason: StopReason };

export class ModalityMachine {
  state: 'text' | 'image' | 'done' = 'text';
  images = 0;
  /** Codes emitted in the current image. */
  codes = 0;
  stopReason: StopReason | null = null;

  constructor(
    readonly vocab: GenVocab,
    readonly cfg: ModalityConfig,
    /** Current sequence length (prompt included). */
    public length: number,
  ) {
    if (cfg.mode === 'image' && cfg.maxImages < 1) this.finish('images');
  }

  /** The id that must come next regardless of logits (BOI in image mode, EOI after N codes), or -1. */
  forced(): number {
    if (this.state === 'image' && this.codes === this.cfg.imageTokens) return this.vocab.eoi;
    if (this.state === 'text' && this.cfg.mode === 'image') return this.vocab.boi;
    return -1;
  }

  /** Whether a new image may start now (budget and count). */
  canStartImage(): boolean {
    if (this.cfg.mode === 'text') return false;
    if (this.images >= this.cfg.maxImages) return false;
    return this.length + this.cfg.imageTokens + 2 <= this.cfg.maxLength;
  }

  /** Sets disallowed logits to -Infinity in place, for the current state. */
  mask(logits: Float32Array): void {
    const v = this.vocab;
    if (this.state === 'image') {
      const keep = new Float32Array(v.imageIds.length);
      for (let c = 0; c < keep.length; c++) keep[c] = logits[v.imageIds[c]];
      logits.fill(-Infinity);
      for (let c = 0; c < keep.length; c++) logits[v.imageIds[c]] = keep[c];
      return;
    }
    const tm = v.textMask;
    for (let i = 0; i < logits.length; i++) if (!tm[i]) logits[i] = -Infinity;
  }

  /**
   * Full text-state mask with the original values of the special ids restored: call with the raw
   * logits; equivalent to mask() plus re-allowing EOS/EOT/BOI where the rules permit.
   */
  maskText(logits: Float32Array): void {
    const v = this.vocab;
    const eos = logits[v.eos];
    const eot = v.eot >= 0 ? logits[v.eot] : -Infinity;
    const boi = logits[v.boi];
    this.mask(logits);
    if (this.state !== 'text') return;
    logits[v.eos] = eos;
    if (v.eot >= 0) logits[v.eot] = this.cfg.stopOnEndOfTurn ? eot : -Infinity;
    logits[v.boi] = this.canStartImage() ? boi : -Infinity;
  }

  /** Applies the state's mask to raw logits. */
  apply(logits: Float32Array): void {
    if (this.state === 'text') this.maskText(logits);
    else this.mask(logits);
  }

  /** Consumes the chosen id; returns what it meant. */
  advance(id: number): Step[] {
    const v = this.vocab;
    if (this.state === 'done') throw new Error('ModalityMachine: advance after stop');
    this.length++;
    const out: Step[] = [];
    if (this.state === 'image') {
      if (this.codes === this.cfg.imageTokens) {
        if (id !== v.eoi) throw new Error(`ModalityMachine: expected EOI after ${this.codes} codes, got ${id}`);
        this.state = 'text';
        this.images++;
        this.codes = 0;
        out.push({ kind: 'image-end', index: this.images - 1 });
        if (this.cfg.mode === 'image' && this.images >= this.cfg.maxImages) out.push(this.finish('images'));
      } else {
        const code = v.codeOf(id);
        if (code < 0) throw new Error(`ModalityMachine: non-image id ${id} inside an image`);
        out.push({ kind: 'image-token', index: this.images, position: this.codes, code });
        this.codes++;
      }
    } else if (id === v.boi) {
      this.state = 'image';
      this.codes = 0;
      out.push({ kind: 'image-start', index: this.images });
    } else if (id === v.eos) {
      out.push(this.finish('eos'));
    } else if (id === v.eot && v.eot >= 0 && this.cfg.stopOnEndOfTurn) {
      out.push(this.finish('end-of-turn'));
    } else {
      out.push({ kind: 'text', token: id });
    }
    if (!this.isDone() && this.length >= this.cfg.maxLength) out.push(this.finish('length'));
    return out;
  }

  isDone(): boolean {
    return this.state === 'done';
  }

  /** Ends generation with a reason (also used for the token budget and aborts). */
  finish(reason: StopReason): Step {
    this.state = 'done';
    this.stopReason = reason;
    return { kind: 'stop', reason };
  }
}
