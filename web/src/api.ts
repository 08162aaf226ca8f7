// The page's calls to the chameleon server with plain fetch: GET /api/info (the model and the
// limits) and POST /api/generate read as an event stream. Every failure becomes an ApiFailure with
// the server's own message and code (OpenAI's error body), its HTTP status and Retry-After, or a
// plain line for a network failure or a stream cut short. Aborting the signal stops the request.

import type { GenerateEvent } from './conversation.js';
import { readSse } from './sse.js';

export interface ServerInfo {
  model: string;
  context: number;
  image_tokens: number;
  resolution: number;
  can_read_images: boolean;
  can_draw_images: boolean;
  limits: { max_tokens: number; max_images: number; max_body_bytes: number; max_image_pixels: number };
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
