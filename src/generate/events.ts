// The typed events of a generation stream, and the codec interfaces generation is given:
// a TextCodec (ids -> text) and an ImageRenderer (image codes -> PNG). Both are implemented by the
// tokenizer layer and its Node adapters; generate/ itself stays free of file and image libraries.

import type { StopReason } from './modality.js';

export interface TextCodec {
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

export interface RenderedImage {
  png: Uint8Array;
  width: number;
  height: number;
}

export interface ImageRenderer {
  /** Decodes a full grid of codes (raster order) to a PNG. */
  render(codes: Int32Array): Promise<RenderedImage>;
}

export type GenEvent =
  | { type: 'text'; request: number; delta: string }
  | { type: 'image-start'; request: number; index: number; tokens: number }
  | { type: 'image-progress'; request: number; index: number; tokens: number; total: number; preview?: RenderedImage }
  | { type: 'image'; request: number; index: number; codes: Int32Array; png?: Uint8Array; width?: number; height?: number }
  | {
      type: 'done';
      request: number;
      reason: StopReason;
      promptTokens: number;
      generatedTokens: number;
      images: number;
      prefillMs: number;
      decodeTokensPerSec: number;
      /** The whole sequence (prompt + generated ids). */
      ids: number[];
    };
