// The conversation the page keeps: turns of text and image parts, how a stream of /api/generate
// events grows the assistant's turn (text appended, each image from start through previews to the
// final PNG), the OpenAI-form messages sent back to the server (newest images kept within the
// server's per-request limit), and the localStorage form with its checked reload. No DOM here.

export type ImageState = 'drawing' | 'preview' | 'final';

export interface TextPart {
  kind: 'text';
  text: string;
}

export interface ImagePart {
  kind: 'image';
  /** A data: URL ('' while drawing before any preview, or when the model has no VQGAN decoder). */
  url: string;
  state: ImageState;
  /** The image's number within its answer (generated images; uploads have 0, 1, …). */
  index: number;
  /** Image tokens drawn so far, of `total`. */
  tokens: number;
  total: number;
  width?: number;
  height?: number;
  /** File name of an uploaded image. */
  name?: string;
}

export type Part = TextPart | ImagePart;

export type TurnStatus = 'streaming' | 'done' | 'stopped' | 'error';

export interface TurnError {
  message: string;
  code: string | null;
  /** HTTP status (null for an error inside the stream or a network failure). */
  status: number | null;
}

export interface TurnMeta {
  reason: string;
  promptTokens: number;
  generatedTokens: number;
  tokensPerSec: number;
  seed: number;
  mode: string;
}

export interface Turn {
  id: string;
  role: 'user' | 'assistant';
  parts: Part[];
  status: TurnStatus;
  error?: TurnError;
  meta?: TurnMeta;
}

/** The events of /api/generate (docs/serving.md, "Native"). */
export type GenerateEvent =
  | { type: 'text'; delta: string }
  | { type: 'image-start'; index: number; tokens: number }
  | { type: 'image-progress'; index: number; tokens: number; total: number; preview?: { url: string; width: number; height: number } }
  | { type: 'image'; index: number; codes: number[]; url?: string; width?: number; height?: number }
  | { type: 'done'; reason: string; promptTokens: number; generatedTokens: number; images: number; prefillMs: number; decodeTokensPerSec: number };

/** Grows an assistant turn by one event (mutates it). `seed` and `mode` go into the meta on done. */
export function applyEvent(turn: Turn, ev: GenerateEvent, request: { seed: number; mode: string }): void {
  const image = (index: number): ImagePart | undefined => turn.parts.find((p): p is ImagePart => p.kind === 'image' && p.index === index);
  switch (ev.type) {
    case 'text': {
      const last = turn.parts[turn.parts.length - 1];
      if (last && last.kind === 'text') last.text += ev.delta;
      else turn.parts.push({ kind: 'text', text: ev.delta });
      break;
    }
    case 'image-start':
      turn.parts.push({ kind: 'image', url: '', state: 'drawing', index: ev.index, tokens: 0, total: ev.tokens });
      break;
    case 'image-progress': {
      const p = image(ev.index);
      if (!p) break;
      p.tokens = ev.tokens;
      p.total = ev.total;
      if (ev.preview) {
        p.url = ev.preview.url;
        p.width = ev.preview.width;
        p.height = ev.preview.height;
        p.state = 'preview';
      }
      break;
    }
    case 'image': {
      let p = image(ev.index);
      if (!p) {
        p = { kind: 'image', url: '', state: 'drawing', index: ev.index, tokens: 0, total: ev.codes.length };
        turn.parts.push(p);
      }
      p.url = ev.url ?? '';
      p.width = ev.width;
      p.height = ev.height;
      p.tokens = p.total = ev.codes.length;
      p.state = 'final';
      break;
    }
    case 'done':
      turn.status = 'done';
      turn.meta = { reason: ev.reason, promptTokens: ev.promptTokens, generatedTokens: ev.generatedTokens, tokensPerSec: ev.decodeTokensPerSec, seed: request.seed, mode: request.mode };
      break;
  }
}

/** The turn has something to show or send (text that is not blank, or an image). */
export function hasContent(turn: Turn): boolean {
  return turn.parts.some((p) => (p.kind === 'text' ? p.text.trim() !== '' : true));
}

type ContentPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: ContentPart[];
}

/**
 * The conversation as OpenAI chat messages for /api/generate. Assistant turns without content are
 * left out; of the images only the newest `maxImages` go (older ones are dropped, the server takes
 * at most that many per request); images without a URL (codes only) cannot be sent back.
 */
export function toMessages(turns: readonly Turn[], maxImages: number): ChatMessage[] {
  let budget = maxImages;
  const keep = new Set<ImagePart>();
  for (let t = turns.length - 1; t >= 0; t--) {
    const parts = turns[t].parts;
    for (let i = parts.length - 1; i >= 0; i--) {
      const p = parts[i];
      if (p.kind === 'image' && p.url.startsWith('data:') && budget > 0) {
        keep.add(p);
        budget--;
      }
    }
  }
  const out: ChatMessage[] = [];
  for (const t of turns) {
    if (t.role === 'assistant' && !hasContent(t)) continue;
    const content: ContentPart[] = [];
    for (const p of t.parts) {
      if (p.kind === 'text') {
        if (p.text === '') continue;
        const last = content[content.length - 1];
        if (last && last.type === 'text') last.text += p.text;
        else content.push({ type: 'text', text: p.text });
      } else if (keep.has(p)) content.push({ type: 'image_url', image_url: { url: p.url } });
    }
    if (content.length === 0) content.push({ type: 'text', text: '' });
    out.push({ role: t.role, content });
  }
  return out;
}

/** A new user turn: the attached images first, then the text (the layout of "<image> what is this?"). */
export function userTurn(id: string, text: string, images: readonly { url: string; name: string }[]): Turn {
  const parts: Part[] = images.map((im, i) => ({ kind: 'image', url: im.url, state: 'final', index: i, tokens: 0, total: 0, name: im.name }));
  if (text !== '') parts.push({ kind: 'text', text });
  return { id, role: 'user', parts, status: 'done' };
}

export interface Conversation {
  turns: Turn[];
  /**
   * Id of the first turn still sent to the model (null: all). Older turns stay on the page but no
   * longer fit the model's context, so requests leave them out.
   */
  contextFrom: string | null;
}

/** The storage form of a conversation (a JSON string). */
export function serialize(c: Conversation): string {
  return JSON.stringify({ version: 1, turns: c.turns, contextFrom: c.contextFrom });
}

/** The turns a request sends: from contextFrom on (all when it is null or no longer there). */
export function inContext(c: Conversation): Turn[] {
  const i = c.contextFrom === null ? -1 : c.turns.findIndex((t) => t.id === c.contextFrom);
  return i < 0 ? c.turns : c.turns.slice(i);
}

/**
 * Moves the context start past the oldest exchange still sent (to the next user turn after it), so
 * a conversation too long for the model's context fits again. False when only the newest user turn
 * and what follows it are left: nothing more can go.
 */
export function forgetOldest(c: Conversation): boolean {
  const turns = inContext(c);
  const next = turns.findIndex((t, i) => i > 0 && t.role === 'user');
  if (next < 0) return false;
  c.contextFrom = turns[next].id;
  return true;
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function checkPart(v: unknown): Part | null {
  if (!isObj(v)) return null;
  if (v.kind === 'text' && typeof v.text === 'string') return { kind: 'text', text: v.text };
  if (v.kind !== 'image' || typeof v.url !== 'string') return null;
  if (v.url !== '' && !v.url.startsWith('data:image/')) return null;
  const num = (x: unknown): number => (typeof x === 'number' && Number.isFinite(x) ? x : 0);
  const state: ImageState = v.state === 'final' || v.state === 'preview' ? v.state : 'drawing';
  const p: ImagePart = { kind: 'image', url: v.url, state, index: num(v.index), tokens: num(v.tokens), total: num(v.total) };
  if (typeof v.width === 'number') p.width = v.width;
  if (typeof v.height === 'number') p.height = v.height;
  if (typeof v.name === 'string') p.name = v.name;
  return p;
}

/**
 * Reads a stored conversation; anything malformed is dropped (null or garbage: no turns). A turn
 * that was still streaming when the page went away comes back as stopped, its unfinished images too.
 */
export function deserialize(json: string | null): Conversation {
  const empty: Conversation = { turns: [], contextFrom: null };
  if (!json) return empty;
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return empty;
  }
  if (!isObj(raw) || raw.version !== 1 || !Array.isArray(raw.turns)) return empty;
  const turns: Turn[] = [];
  for (const t of raw.turns) {
    if (!isObj(t) || typeof t.id !== 'string' || (t.role !== 'user' && t.role !== 'assistant') || !Array.isArray(t.parts)) continue;
    const parts = t.parts.map(checkPart).filter((p): p is Part => p !== null);
    const status: TurnStatus = t.status === 'done' || t.status === 'stopped' || t.status === 'error' ? t.status : 'stopped';
    const turn: Turn = { id: t.id, role: t.role, parts, status };
    if (t.status !== status) {
      for (const p of parts) if (p.kind === 'image' && p.state !== 'final') p.state = p.url ? 'preview' : 'drawing';
    }
    if (isObj(t.error) && typeof t.error.message === 'string') {
      turn.error = { message: t.error.message, code: typeof t.error.code === 'string' ? t.error.code : null, status: typeof t.error.status === 'number' ? t.error.status : null };
    }
    if (isObj(t.meta) && typeof t.meta.generatedTokens === 'number') turn.meta = t.meta as unknown as TurnMeta;
    turns.push(turn);
  }
  const from = typeof raw.contextFrom === 'string' && turns.some((t) => t.id === raw.contextFrom) ? raw.contextFrom : null;
  return { turns, contextFrom: from };
}
