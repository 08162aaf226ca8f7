// Plumbing every route handler shares: the ServerContext (model, scheduler, metrics, limits), the
// model-name check, the AbortSignal that fires when the client goes away before its answer is
// complete, and an SSE writer over the raw response (hijacked from fastify, so nothing buffers it).

import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, type ApiErrorBody } from './errors.js';
import type { ImageSource, ServerLimits } from './inputs.js';
import type { ServerMetrics } from './metrics.js';
import type { ServedModel } from './model.js';
import type { Scheduler } from './scheduler.js';

export interface ServerContext {
  model: ServedModel;
  scheduler: Scheduler;
  metrics: ServerMetrics;
  limits: ServerLimits;
  images: ImageSource;
  /** Shutdown has begun: new generation requests are refused with 503. */
  draining(): boolean;
  /** A seed for a request that names none. */
  randomSeed(): number;
}

/** Refuses a `model` that is not the served one (absent = the served one). */
export function checkModel(ctx: ServerContext, name: string | null | undefined): void {
  if (name === null || name === undefined || name === ctx.model.id) return;
  throw new ApiError(404, `The model '${name}' does not exist; this server serves '${ctx.model.id}'`, 'invalid_request_error', 'model', 'model_not_found');
}

/** The 503 of a request that arrives after shutdown began. */
export function shuttingDown(): ApiError {
  return new ApiError(503, 'the server is shutting down; retry against another instance', 'service_unavailable', null, 'shutting_down', { 'retry-after': '5', connection: 'close' });
}

/** Aborts when the response closes before it was completely written (the client went away). */
export function clientSignal(ctx: ServerContext, reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  reply.raw.on('close', () => {
    if (reply.raw.writableFinished) return;
    ctx.metrics.disconnects++;
    ac.abort();
  });
  return ac.signal;
}

/** The body as an object (fastify has parsed JSON already). */
export function objectBody(req: FastifyRequest): Record<string, unknown> {
  const b = req.body;
  if (b === null || typeof b !== 'object' || Array.isArray(b)) throw new ApiError(400, 'the request body must be a JSON object', 'invalid_request_error', null, 'invalid_json');
  return b as Record<string, unknown>;
}

/** Server-sent events on a hijacked response. */
export class SseWriter {
  constructor(private readonly reply: FastifyReply) {
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
  }

  /** The client has gone (writing is pointless). */
  get closed(): boolean {
    return this.reply.raw.destroyed || this.reply.raw.writableEnded;
  }

  /** One `data:` message (optionally with an `event:` name). */
  send(data: unknown, event?: string): void {
    if (this.closed) return;
    this.reply.raw.write(`${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  }

  /** An error in OpenAI's shape as the last message. */
  error(body: ApiErrorBody, event?: string): void {
    this.send(body, event);
  }

  end(): void {
    if (!this.closed) this.reply.raw.end();
  }
}
