// The JSONL document format for mixed-modal training data (docs/data-format.md): one JSON object per
// line with a kind (text, caption, interleaved, chat) and ordered text/image segments (chat: turns of
// them), checked line by line; and the token layout of a document with its loss mask, built on the
// prompt layout of generate/prompt.ts (spec §5). Leaves out reading files and encoding images.

import { ChameleonError } from '../../util/errors.js';
import { chatTurnIds, completionPrompt, type PromptParts, type Segment } from '../../generate/prompt.js';

export const DOC_KINDS = ['text', 'caption', 'interleaved', 'chat'] as const;
export type DocKind = (typeof DOC_KINDS)[number];

/** One segment as written in the JSONL: text, or an image (path relative to the JSONL file, or a data: URL). */
export type DocSegment = { text: string } | { image: string };

export interface DocMessage {
  role: 'user' | 'assistant';
  content: DocSegment[];
}

export type RawDocument = { kind: Exclude<DocKind, 'chat'>; segments: DocSegment[] } | { kind: 'chat'; messages: DocMessage[] };

/** A line that is not a valid document; the message says why (the caller adds file and line). */
export class DocumentError extends ChameleonError {}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseSegments(v: unknown, where: string): DocSegment[] {
  if (typeof v === 'string') return [{ text: v }];
  if (!Array.isArray(v) || v.length === 0) throw new DocumentError(`${where} must be a non-empty array of {"text"} / {"image"} segments`);
  return v.map((s, i) => {
    if (!isObject(s)) throw new DocumentError(`${where}[${i}] is not an object`);
    const keys = Object.keys(s);
    if (keys.length !== 1 || (keys[0] !== 'text' && keys[0] !== 'image')) {
      throw new DocumentError(`${where}[${i}] must have exactly one key, "text" or "image" (got ${JSON.stringify(keys)})`);
    }
    const val = s[keys[0]];
    if (typeof val !== 'string') throw new DocumentError(`${where}[${i}].${keys[0]} must be a string`);
    if (keys[0] === 'image') {
      if (val === '') throw new DocumentError(`${where}[${i}].image is empty`);
      return { image: val };
    }
    return { text: val };
  });
}

const images = (segs: readonly DocSegment[]): number => segs.filter((s) => 'image' in s).length;

/** Parses and checks one JSONL line. Throws DocumentError naming the problem. */
export function parseDocumentLine(line: string): RawDocument {
  let j: unknown;
  try {
    j = JSON.parse(line);
  } catch (e) {
    throw new DocumentError(`not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(j)) throw new DocumentError('a document must be a JSON object');
  const kind = j.kind;
  if (typeof kind !== 'string' || !(DOC_KINDS as readonly string[]).includes(kind)) {
    throw new DocumentError(`"kind" must be one of ${DOC_KINDS.join(', ')} (got ${JSON.stringify(kind)})`);
  }
  if (kind === 'chat') {
    const msgs = j.messages;
    if (!Array.isArray(msgs) || msgs.length === 0) throw new DocumentError('a chat document needs a non-empty "messages" array');
    const messages = msgs.map((m, i): DocMessage => {
      if (!isObject(m)) throw new DocumentError(`messages[${i}] is not an object`);
      if (m.role !== 'user' && m.role !== 'assistant') throw new DocumentError(`messages[${i}].role must be "user" or "assistant" (got ${JSON.stringify(m.role)})`);
      return { role: m.role, content: parseSegments(m.content, `messages[${i}].content`) };
    });
    if (!messages.some((m) => m.role === 'assistant')) throw new DocumentError('a chat document needs at least one assistant turn (nothing would take loss)');
    return { kind, messages };
  }
  const segments = parseSegments(j.segments, '"segments"');
  if (kind === 'text' && images(segments) > 0) throw new DocumentError('a "text" document cannot hold images (use "interleaved" or "caption")');
  if (kind === 'caption' && (images(segments) === 0 || images(segments) === segments.length)) {
    throw new DocumentError('a "caption" document needs at least one image and one text segment');
  }
  return { kind: kind as Exclude<DocKind, 'chat'>, segments };
}

/** Every image reference of a document, in order. */
export function documentImages(doc: RawDocument): string[] {
  const segs = doc.kind === 'chat' ? doc.messages.flatMap((m) => m.content) : doc.segments;
  return segs.flatMap((s) => ('image' in s ? [s.image] : []));
}

export interface TokenizedDocument {
  tokens: Int32Array;
  /** 1 where the token is a target that takes loss (never the first token). */
  mask: Uint8Array;
}

function toSegments(segs: readonly DocSegment[], codes: (ref: string) => ArrayLike<number>): Segment[] {
  return segs.map((s) => ('image' in s ? { type: 'image' as const, codes: codes(s.image) } : { type: 'text' as const, text: s.text }));
}

/**
 * Token layout and loss mask. Non-chat: BOS, the segments (spec §5.2; images as §5.1 blocks), EOS;
 * every token after BOS takes loss. Chat: chatPrompt's layout (BOS, each turn's content then
 * end-of-turn); only assistant turns (their end-of-turn included) take loss.
 */
export function tokenizeDocument(doc: RawDocument, parts: PromptParts, codes: (ref: string) => ArrayLike<number>): TokenizedDocument {
  if (doc.kind !== 'chat') {
    const ids = completionPrompt(parts, toSegments(doc.segments, codes));
    ids.push(parts.vocab.eos);
    const mask = new Uint8Array(ids.length).fill(1);
    mask[0] = 0;
    return { tokens: Int32Array.from(ids), mask };
  }
  const turns = chatTurnIds(parts, doc.messages.map((m) => ({ role: m.role, content: toSegments(m.content, codes) })));
  const n = 1 + turns.reduce((a, t) => a + t.length, 0);
  const tokens = new Int32Array(n);
  const mask = new Uint8Array(n);
  tokens[0] = parts.vocab.bos;
  let at = 1;
  turns.forEach((t, i) => {
    tokens.set(t, at);
    if (doc.messages[i].role === 'assistant') mask.fill(1, at, at + t.length);
    at += t.length;
  });
  return { tokens, mask };
}
