// Prompt layout (spec §5): BOS, then text and image segments in order (an image is BOI + N codes +
// EOI), and for chat an end-of-turn id after every user turn (and after earlier assistant turns), so
// the model answers the last user turn. `<image>` markers in a prompt's text place its images.
// Images arrive already tokenized (codes): turning files into codes is the image tokenizer's job.

import { ChameleonError } from '../util/errors.js';
import type { TextCodec } from './events.js';
import type { GenVocab } from './vocab.js';

export type Segment = { type: 'text'; text: string } | { type: 'image'; codes: ArrayLike<number> } | { type: 'ids'; ids: readonly number[] };

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string | Segment[];
}

export interface PromptParts {
  vocab: GenVocab;
  text: TextCodec;
  /** Tokens per image (grid side²). */
  imageTokens: number;
}

/** Ids of one segment (no BOS). */
function segmentIds(p: PromptParts, s: Segment): number[] {
  const v = p.vocab;
  switch (s.type) {
    case 'text':
      return p.text.encode(s.text);
    case 'ids':
      for (const id of s.ids) {
        if (!Number.isInteger(id) || id < 0 || id >= v.size) throw new ChameleonError(`prompt id ${id} is outside the vocabulary (size ${v.size})`);
      }
      return [...s.ids];
    case 'image': {
      if (s.codes.length !== p.imageTokens) {
        throw new ChameleonError(`an image segment needs exactly ${p.imageTokens} codes (this model's grid), got ${s.codes.length}`);
      }
      const ids = [v.boi];
      for (let i = 0; i < s.codes.length; i++) {
        const c = s.codes[i];
        if (!Number.isInteger(c) || c < 0 || c >= v.imageIds.length) throw new ChameleonError(`image code ${c} at ${i} is outside the codebook [0, ${v.imageIds.length})`);
        ids.push(v.imageIds[c]);
      }
      ids.push(v.eoi);
      return ids;
    }
  }
}

/** The marker that places an image inside prompt text. */
export const IMAGE_MARKER = '<image>';

/**
 * Splits prompt text at `<image>` markers and puts the images there, in order. Without a marker the
 * images come first, then the text; with markers their count must equal the number of images.
 */
export function imagePromptSegments(text: string, images: readonly ArrayLike<number>[]): Segment[] {
  const parts = text.split(IMAGE_MARKER);
  const markers = parts.length - 1;
  if (markers === 0) return [...images.map((codes) => ({ type: 'image' as const, codes })), ...(text ? [{ type: 'text' as const, text }] : [])];
  if (markers !== images.length) {
    throw new ChameleonError(`the prompt has ${markers} ${IMAGE_MARKER} marker${markers === 1 ? '' : 's'} but ${images.length} image${images.length === 1 ? ' was' : 's were'} given`);
  }
  const segs: Segment[] = [];
  parts.forEach((p, i) => {
    if (p) segs.push({ type: 'text', text: p });
    if (i < images.length) segs.push({ type: 'image', codes: images[i] });
  });
  return segs;
}

/** A completion prompt: BOS + segments, nothing appended. */
export function completionPrompt(p: PromptParts, segments: readonly Segment[]): number[] {
  return [p.vocab.bos, ...segments.flatMap((s) => segmentIds(p, s))];
}

/** A chat prompt: BOS, then each turn's content followed by end-of-turn; must end with a user turn. */
export function chatPrompt(p: PromptParts, messages: readonly ChatMessage[]): number[] {
  if (messages.length === 0) throw new ChameleonError('chat needs at least one message');
  if (messages[messages.length - 1].role !== 'user') throw new ChameleonError('the last chat message must come from the user');
  if (p.vocab.eot < 0) throw new ChameleonError('this vocabulary has no end-of-turn token, so it cannot hold a chat; use a completion prompt');
  return [p.vocab.bos, ...chatTurnIds(p, messages).flat()];
}

/**
 * The ids of each chat turn as chatPrompt lays them out (content, then end-of-turn), without BOS:
 * chatPrompt is BOS + these concatenated. Training data uses it to mask the loss by role.
 */
export function chatTurnIds(p: PromptParts, messages: readonly ChatMessage[]): number[][] {
  if (p.vocab.eot < 0) throw new ChameleonError('this vocabulary has no end-of-turn token, so it cannot hold a chat; use a completion prompt');
  return messages.map((m) => {
    const segs: Segment[] = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content;
    const ids = segs.flatMap((s) => segmentIds(p, s));
    ids.push(p.vocab.eot);
    return ids;
  });
}

