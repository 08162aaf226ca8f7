// The chameleon-ts HTTP server (fastify): builds the app over one served model and one scheduler,
// with JSON-only bodies under a size limit, optional bearer-token auth, OpenAI-shaped errors for
// everything (unknown routes included), /health and Prometheus /metrics, per-route request counts,
// and a graceful shutdown: new requests get 503 while in-flight ones finish (cancelled after a grace
// time), then the listener closes. Routes live in openai.ts and native.ts; the browser app at `/`
// in web.ts.

import Fastify, { type FastifyInstance } from 'fastify';
import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { ApiError, toApiError } from './errors.js';
import { shuttingDown, type ServerContext } from './http.js';
import { DEFAULT_LIMITS, type ServerLimits } from './inputs.js';
import { ServerMetrics } from './metrics.js';
import type { ServedModel } from './model.js';
import { registerNativeRoutes } from './native.js';
import { registerOpenAiRoutes } from './openai.js';
import { Scheduler } from './scheduler.js';
import { registerWebRoutes, WEB_BUILD_DIR } from './web.js';

export interface ServeOptions {
  model: ServedModel;
  /** Interface to bind (default 127.0.0.1: local clients only). */
  host?: string;
  /** Port (default 8080; 0 picks a free one). */
  port?: number;
  /** Require `Authorization: Bearer <apiKey>` on every route but /health. */
  apiKey?: string;
  /** Requests decoding together (default 8). */
  maxBatch?: number;
  /** Requests that may wait for a slot (default 32); beyond that 429 + Retry-After. */
  maxQueue?: number;
  /** Fetch http(s) image URLs (default false: data URLs only). */
  allowHttpImages?: boolean;
  limits?: Partial<ServerLimits>;
  /** Share of decode time image previews may take (BatchSession previewBudget, default 0.1). */
  previewBudget?: number;
  /** Folder of the built web app served at `/` (default build/web of this package); false: no app. */
  web?: string | false;
  /** Awaited before every decode step (tests pace decoding with it). */
  pace?: () => Promise<void>;
  /** Where internal errors are reported (default stderr). */
  log?: (line: string) => void;
}

export interface ChameleonServer {
  /** http://host:port of the listener. */
  url: string;
  app: FastifyInstance;
  scheduler: Scheduler;
  metrics: ServerMetrics;
  /** The web app is served at `/` (a build was found). */
  webApp: boolean;
  /**
   * Stops taking requests (503), lets in-flight ones finish for up to graceMs (default 10 s), cancels
   * the rest, closes the listener and frees the session. Idempotent.
   */
  shutdown(graceMs?: number): Promise<void>;
}

function sameKey(a: string, b: string): boolean {
  const h = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(a), h(b));
}

/** Builds the app, listens, and returns the running server. */
export async function startServer(o: ServeOptions): Promise<ChameleonServer> {
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...o.limits };
  const metrics = new ServerMetrics();
  const scheduler = new Scheduler(o.model.generator, { maxBatch: o.maxBatch ?? 8, maxQueue: o.maxQueue ?? 32, previewBudget: o.previewBudget, pace: o.pace }, metrics);
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  let draining = false;
  let active = 0;
  let quiet: (() => void) | null = null;
  const ctx: ServerContext = {
    model: o.model,
    scheduler,
    metrics,
    limits,
    images: { allowHttp: o.allowHttpImages ?? false, maxBytes: limits.bodyBytes, maxPixels: limits.imagePixels },
    draining: () => draining,
    randomSeed: () => randomInt(0, 2 ** 32 - 1),
  };
  const app = Fastify({ bodyLimit: limits.bodyBytes, logger: false, forceCloseConnections: true, return503OnClosing: true });
  app.removeContentTypeParser('text/plain');

  app.addHook('onRequest', async (req, reply) => {
    active++;
    reply.raw.on('close', () => {
      active--;
      // 499 (nginx's "client closed request"): the connection closed before the answer was written.
      metrics.request(req.routeOptions.url ?? 'unmatched', reply.raw.writableFinished ? reply.raw.statusCode : 499);
      if (active === 0) quiet?.();
    });
    const path = req.url.split('?')[0];
    if (draining) {
      if (path === '/health') return reply.code(503).header('connection', 'close').send({ status: 'draining', model: o.model.id });
      throw shuttingDown();
    }
    if (o.apiKey !== undefined && path !== '/health' && !req.routeOptions.config?.public) {
      const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
      if (!m) throw new ApiError(401, 'no API key given: send Authorization: Bearer <key>', 'authentication_error', null, 'missing_api_key');
      if (!sameKey(m[1].trim(), o.apiKey)) throw new ApiError(401, 'the API key is not valid', 'authentication_error', null, 'invalid_api_key');
    }
  });
  app.setErrorHandler((err, _req, reply) => {
    const e = toApiError(err);
    if (e.status >= 500 && e.code === 'internal_error') log(`chameleon serve: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    void reply.code(e.status).headers(e.headers).send(e.body());
  });
  app.setNotFoundHandler((req, reply) => {
    const e = new ApiError(404, `unknown route ${req.method} ${req.url.split('?')[0]}`, 'not_found_error', null, 'unknown_url');
    void reply.code(404).send(e.body());
  });

  app.get('/health', async () => ({ status: 'ok', model: o.model.id, running: scheduler.running, queued: scheduler.queueDepth }));
  app.get('/metrics', async (_req, reply) => {
    void reply.type('text/plain; version=0.0.4; charset=utf-8');
    const backend = o.model.bundle.engine.backend;
    return metrics.text(
      { queueDepth: scheduler.queueDepth, runningRequests: scheduler.running, activeRows: scheduler.rows, backendReservedBytes: backend.reservedBytes(), backendMemoryBytes: backend.memory.capacityBytes?.(), encodeMs: o.model.encodes.ms },
      performance.now(),
    );
  });
  registerOpenAiRoutes(app, ctx);
  registerNativeRoutes(app, ctx);
  const webApp = o.web === false ? false : registerWebRoutes(app, o.web ?? WEB_BUILD_DIR);

  const host = o.host ?? '127.0.0.1';
  await app.listen({ host, port: o.port ?? 8080 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (o.port ?? 8080);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | null = null;
  const requestsDone = (): Promise<void> => (active === 0 ? Promise.resolve() : new Promise<void>((r) => (quiet = r)));
  const shutdown = (graceMs = 10_000): Promise<void> => {
    closing ??= (async () => {
      draining = true;
      const timer = setTimeout(() => scheduler.cancelAll('shutdown'), graceMs);
      let late: NodeJS.Timeout | undefined;
      try {
        await scheduler.whenIdle();
        // Responses still writing their last chunk; a cancelled request ends within a step.
        await Promise.race([requestsDone(), new Promise<void>((r) => (late = setTimeout(r, graceMs + 5_000)))]);
      } finally {
        clearTimeout(timer);
        clearTimeout(late);
      }
      await app.close();
      scheduler.dispose();
    })();
    return closing;
  };
  return { url, app, scheduler, metrics, webApp, shutdown };
}
