// Turning request bodies into prompts: the server's per-request limits, data URLs and strict
// base64, image URLs (http(s) only when the server allows them, with the same byte limit), OpenAI
// chat messages (text and image_url parts; system/developer turns become a leading user turn) into
// the library's ChatMessage list, the native {prompt, images} form, and the token budget check
// (OpenAI's context_length_exceeded). Every refusal is a 400 ApiError naming its field.

import { z } from 'zod';
import { chatPrompt, completionPrompt, imagePromptSegments, type ChatMessage, type Segment } from '../generate/prompt.js';
import { badRequest } from './errors.js';
import { imageCodes, type ServedModel } from './model.js';

export interface ServerLimits {
  /** Largest request body in bytes (images arrive inside it as base64). */
  bodyBytes: number;
  /** Largest input image in pixels (width × height, read from its header). */
  imagePixels: number;
  /** Input images per request, all messages together. */
  imagesPerRequest: number;
  /** Largest max_tokens a request may ask for (the context caps it too). */
  maxTokens: number;
  /** Largest `n` (choices per request). */
  maxChoices: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  bodyBytes: 16 * 1024 * 1024,
  imagePixels: 4096 * 4096,
  imagesPerRequest: 4,
  maxTokens: 4096,
  maxChoices: 4,
};

/** How image URLs are fetched: data URLs always, http(s) only when allowed. */
export interface ImageSource {
  allowHttp: boolean;
  maxBytes: number;
  maxPixels: number;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict standard base64 (no whitespace, no URL-safe alphabet, correct padding) -> bytes. */
export function decodeBase64(s: string, param: string): Uint8Array {
  if (s.length === 0 || !BASE64.test(s) || s.length % 4 === 1 || (s.includes('=') && s.length % 4 !== 0)) {
    throw badRequest('the image data is not valid base64', param, 'invalid_base64');
  }
  return Buffer.from(s, 'base64');
}

/** `data:image/...;base64,...` -> bytes. */
export function parseDataUrl(url: string, param: string): Uint8Array {
  const m = /^data:([^,;]*)((?:;[^,;]*)*),(.*)$/s.exec(url);
  if (!m) throw badRequest('a data URL must look like data:image/png;base64,...', param, 'invalid_image_url');
  const mime = m[1].toLowerCase();
  if (mime !== '' && !mime.startsWith('image/')) throw badRequest(`a data URL of type ${mime} is not an image`, param, 'invalid_image_url');
  if (!m[2].split(';').includes('base64')) throw badRequest('an image data URL must be base64-encoded (data:image/png;base64,...)', param, 'invalid_image_url');
  return decodeBase64(m[3], param);
}

/** The bytes an image URL names: a data URL, or an http(s) URL when the server allows it. */
async function imageBytes(url: string, src: ImageSource, param: string): Promise<Uint8Array> {
  if (url.startsWith('data:')) {
    const bytes = parseDataUrl(url, param);
    if (bytes.length > src.maxBytes) throw badRequest(`the image is ${bytes.length} bytes, more than the limit of ${src.maxBytes}`, param, 'image_too_large');
    return bytes;
  }
  if (!/^https?:\/\//i.test(url)) throw badRequest('an image URL must be a data URL (data:image/png;base64,...) or http(s)', param, 'invalid_image_url');
  if (!src.allowHttp) throw badRequest('this server does not fetch http(s) image URLs (start it with --allow-http-images); send the image as a data URL', param, 'image_url_not_allowed');
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(15_000), redirect: 'follow' });
  } catch (err) {
    throw badRequest(`could not fetch the image URL (${(err as Error).message})`, param, 'image_fetch_failed');
  }
  if (!res.ok || !res.body) throw badRequest(`fetching the image URL gave HTTP ${res.status}`, param, 'image_fetch_failed');
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
    n += c.length;
    if (n > src.maxBytes) throw badRequest(`the image at the URL is more than the limit of ${src.maxBytes} bytes`, param, 'image_too_large');
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** Codes of the image an URL names. */
async function loadImage(m: ServedModel, url: string, src: ImageSource, param: string): Promise<Int32Array> {
  return imageCodes(m, await imageBytes(url, src, param), src.maxPixels, param);
}

type Part = { kind: 'text'; text: string } | { kind: 'image'; url: string; param: string };

/** One message's parts, checked; images are URLs still. */
function messageParts(raw: unknown, at: string): { role: 'user' | 'assistant'; parts: Part[]; lead: boolean } {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw badRequest(`${at} must be an object with role and content`, at);
  const msg = raw as Record<string, unknown>;
  const role = msg.role;
  if (role === 'tool' || role === 'function') throw badRequest(`${at}: role '${role}' is not supported (this model has no tool calls)`, `${at}.role`, 'unsupported_value');
  if (role !== 'user' && role !== 'assistant' && role !== 'system' && role !== 'developer') {
    throw badRequest(`${at}.role must be user, assistant, system or developer, got ${JSON.stringify(role)}`, `${at}.role`);
  }
  const content = msg.content;
  const parts: Part[] = [];
  if (typeof content === 'string') parts.push({ kind: 'text', text: content });
  else if (Array.isArray(content)) {
    content.forEach((p: unknown, j) => {
      const pa = `${at}.content[${j}]`;
      const part = (p ?? {}) as Record<string, unknown>;
      if (part.type === 'text') {
        if (typeof part.text !== 'string') throw badRequest(`${pa}.text must be a string`, `${pa}.text`);
        parts.push({ kind: 'text', text: part.text });
      } else if (part.type === 'image_url') {
        const iu = part.image_url;
        const url = typeof iu === 'string' ? iu : iu !== null && typeof iu === 'object' ? (iu as Record<string, unknown>).url : undefined;
        if (typeof url !== 'string') throw badRequest(`${pa}.image_url.url must be a string`, `${pa}.image_url.url`);
        if (role === 'system' || role === 'developer') throw badRequest(`${pa}: a ${role} message cannot hold images`, pa, 'unsupported_value');
        parts.push({ kind: 'image', url, param: `${pa}.image_url.url` });
      } else {
        throw badRequest(`${pa}.type must be text or image_url, got ${JSON.stringify(part.type)}`, `${pa}.type`, 'unsupported_content_type');
      }
    });
  } else if (!(role === 'assistant' && (content === null || content === undefined))) {
    throw badRequest(`${at}.content must be a string or an array of content parts`, `${at}.content`);
  }
  const lead = role === 'system' || role === 'developer';
  return { role: lead ? 'user' : role, parts, lead };
}

/**
 * OpenAI chat messages -> the library's ChatMessage list, images tokenized. System and developer
 * messages are joined into one user turn at the front (Chameleon has no system role).
 */
export async function chatMessages(m: ServedModel, raw: unknown, src: ImageSource, maxImages: number): Promise<{ messages: ChatMessage[]; images: number }> {
  if (!Array.isArray(raw) || raw.length === 0) throw badRequest('messages must be a non-empty array', 'messages');
  const parsed = raw.map((r, i) => messageParts(r, `messages[${i}]`));
  const images = parsed.reduce((n, p) => n + p.parts.filter((x) => x.kind === 'image').length, 0);
  if (images > maxImages) throw badRequest(`the request has ${images} images; this server takes at most ${maxImages} per request`, 'messages', 'too_many_images');
  if (parsed[parsed.length - 1].role !== 'user' || parsed[parsed.length - 1].lead) throw badRequest('the last message must come from the user', `messages[${parsed.length - 1}].role`);
  const lead = parsed.filter((p) => p.lead).map((p) => p.parts.map((x) => (x.kind === 'text' ? x.text : '')).join('')).filter(Boolean);
  const messages: ChatMessage[] = lead.length ? [{ role: 'user', content: lead.join('\n\n') }] : [];
  for (const p of parsed) {
    if (p.lead) continue;
    const segs: Segment[] = [];
    for (const x of p.parts) segs.push(x.kind === 'text' ? { type: 'text', text: x.text } : { type: 'image', codes: await loadImage(m, x.url, src, x.param) });
    messages.push({ role: p.role, content: segs.length ? segs : [{ type: 'text', text: '' }] });
  }
  return { messages, images };
}

const nativePromptSchema = z.object({ prompt: z.string(), images: z.array(z.string()).optional(), chat: z.boolean().optional() });

/**
 * The native prompt of /api/generate and /api/tokenize: either `messages` (as chat) or `prompt`
 * text whose `<image>` markers place `images` (data URLs), as a chat turn unless `chat` is false.
 */
export async function nativePrompt(m: ServedModel, body: Record<string, unknown>, src: ImageSource, maxImages: number): Promise<number[]> {
  if (body.messages !== undefined) return chatPrompt(m.prompt, (await chatMessages(m, body.messages, src, maxImages)).messages);
  const r = nativePromptSchema.safeParse({ prompt: body.prompt, images: body.images, chat: body.chat });
  if (!r.success) {
    const issue = r.error.issues[0];
    throw badRequest(`${issue.path.join('.') || 'body'}: ${issue.message} (send prompt, a string, or messages)`, issue.path.map(String).join('.') || null);
  }
  const urls = r.data.images ?? [];
  if (urls.length > maxImages) throw badRequest(`the request has ${urls.length} images; this server takes at most ${maxImages} per request`, 'images', 'too_many_images');
  const codes: Int32Array[] = [];
  for (let i = 0; i < urls.length; i++) codes.push(await loadImage(m, urls[i], src, `images[${i}]`));
  const segs = imagePromptSegments(r.data.prompt, codes);
  const chat = r.data.chat ?? m.prompt.vocab.eot >= 0;
  return chat ? chatPrompt(m.prompt, [{ role: 'user', content: segs }]) : completionPrompt(m.prompt, segs);
}

/**
 * New tokens a request may generate: `requested` (or, when absent, all the context leaves, capped by
 * the server's maxTokens). Refuses a prompt or a request that does not fit, as OpenAI does.
 */
export function tokenAllowance(m: ServedModel, promptTokens: number, requested: number | undefined, limit: number, param = 'max_tokens'): number {
  const room = m.context - promptTokens;
  if (room <= 0) {
    throw badRequest(`This model's maximum context length is ${m.context} tokens. However, your messages resulted in ${promptTokens} tokens. Please reduce the length of the messages.`, 'messages', 'context_length_exceeded');
  }
  if (requested === undefined) return Math.min(room, limit);
  if (requested > limit) throw badRequest(`${param} is ${requested}, more than this server's limit of ${limit}`, param, 'invalid_value');
  if (requested > room) {
    throw badRequest(
      `This model's maximum context length is ${m.context} tokens. However, you requested ${promptTokens + requested} tokens (${promptTokens} in the messages, ${requested} in the completion). Please reduce the length of the messages or completion.`,
      'messages',
      'context_length_exceeded',
    );
  }
  return requested;
}
