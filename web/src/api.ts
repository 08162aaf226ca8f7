// The page's calls to the chameleon server with plain fetch: GET /api/info (the model and the
// limits) and POST /api/generate read as server-sent events (EventSource cannot POST: an SSE parser
// by the WHATWG rules the server uses, without reconnection, id or retry). Every failure becomes an
// ApiFailure with the server's message and code (OpenAI's error body), HTTP status and Retry-After,
// or a plain line for a network failure or a stream cut short. Aborting the signal stops the request.

import type { GenerateEvent } from './conversation.js';

export interface SseMessage {
  /** The `event:` field ('message' when absent). */
  event: string;
  /** The `data:` lines joined with newlines. */
  data: string;
}

/** Incremental SSE parser. */
export class SseParser {
  private buf = '';
  private event = '';
  private data: string[] = [];

  /** Feeds a chunk; returns the messages it completes. */
  push(chunk: string): SseMessage[] {
    this.buf += chunk;
    const out: SseMessage[] = [];
    let start = 0;
    for (let i = 0; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (c !== '\n' && c !== '\r') continue;
      // A CR at the end of the chunk may be the first half of CRLF: wait for the next chunk.
      if (c === '\r' && i === this.buf.length - 1) break;
      const line = this.buf.slice(start, i);
      if (c === '\r' && this.buf[i + 1] === '\n') i++;
      start = i + 1;
      this.line(line, out);
    }
    this.buf = this.buf.slice(start);
    return out;
  }

  private line(line: string, out: SseMessage[]): void {
    if (line === '') {
      if (this.data.length > 0) out.push({ event: this.event || 'message', data: this.data.join('\n') });
      this.event = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
  }
}

/** The messages of an SSE response body, as they arrive. An unfinished last message is dropped (as the spec says). */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  let finished = false;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
    finished = true;
    yield* parser.push(decoder.decode() + '\n');
  } finally {
    // A consumer that stops early (an error event, a stop) closes the stream: the server sees it go.
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

export interface ServerInfo {
  model: string;
  context: number;
  image_tokens: number;
  resolution: number;
  can_read_images: boolean;
  can_draw_images: boolean;
  limits: { max_tokens: number; max_images: number; max_body_bytes: number; max_image_pixels: number };
  /** The model's own sampling defaults (its generation_config.json); temperature 0 = greedy. */
  generation_defaults?: { temperature: number; image_temperature: number; top_p: number; cfg: 'off' | '3way' | '2way'; guidance_text: number; guidance_image: number };
}

/** A request that failed: the server's error (or ours, for the network), ready to show. */
export class ApiFailure extends Error {
  constructor(
    message: string,
    /** The server's error code (e.g. context_length_exceeded), 'network' or 'incomplete'. */
    readonly code: string | null,
    /** The HTTP status, or null inside a stream / without an answer. */
    readonly status: number | null,
    /** Seconds from Retry-After (429 and 503). */
    readonly retryAfter: number | null = null,
    /** The request field the server named (e.g. options.maxNewTokens). */
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = 'ApiFailure';
  }
}

function headers(apiKey: string, json: boolean): Record<string, string> {
  const h: Record<string, string> = {};
  if (json) h['content-type'] = 'application/json';
  if (apiKey) h.authorization = `Bearer ${apiKey}`;
  return h;
}

/** The failure an OpenAI-shaped error body (or anything else) describes. */
export function failureOf(body: unknown, status: number | null, retryAfter: number | null = null): ApiFailure {
  const e = body !== null && typeof body === 'object' ? (body as { error?: { message?: unknown; code?: unknown; param?: unknown } }).error : undefined;
  if (e && typeof e.message === 'string') return new ApiFailure(e.message, typeof e.code === 'string' ? e.code : null, status, retryAfter, typeof e.param === 'string' ? e.param : null);
  return new ApiFailure(status ? `the server answered HTTP ${status}` : 'the server sent an error', null, status, retryAfter);
}

async function failedResponse(r: Response): Promise<ApiFailure> {
  const ra = Number(r.headers.get('retry-after'));
  let body: unknown = null;
  try {
    body = await r.json();
  } catch {
    /* not JSON */
  }
  return failureOf(body, r.status, Number.isFinite(ra) && ra > 0 ? ra : null);
}

async function send(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiFailure(`Could not reach the server (${(err as Error).message}). Is chameleon serve still running?`, 'network', null);
  }
}

/** GET /api/info. */
export async function fetchInfo(apiKey: string): Promise<ServerInfo> {
  const r = await send('/api/info', { headers: headers(apiKey, false) });
  if (!r.ok) throw await failedResponse(r);
  return (await r.json()) as ServerInfo;
}

/**
 * POST /api/generate: yields the generator's events until `done`. Throws an ApiFailure for an HTTP
 * error, an `error` event, or a stream that ends without `done`; an AbortError when `signal` fires.
 */
export async function* generate(body: Record<string, unknown>, apiKey: string, signal: AbortSignal): AsyncGenerator<GenerateEvent> {
  const r = await send('/api/generate', { method: 'POST', headers: headers(apiKey, true), body: JSON.stringify(body), signal });
  if (!r.ok || !r.body) throw await failedResponse(r);
  for await (const m of readSse(r.body)) {
    let data: unknown;
    try {
      data = JSON.parse(m.data);
    } catch {
      throw new ApiFailure('the server sent an event that is not JSON', 'incomplete', null);
    }
    if (m.event === 'error') throw failureOf(data, null);
    const ev = data as GenerateEvent;
    yield ev;
    if (ev.type === 'done') return;
  }
  throw new ApiFailure('The answer was cut off: the connection closed before it was complete.', 'incomplete', null);
}
