// The native routes: POST /api/generate streams the generator's typed events (text, image-start,
// image-progress with PNG previews, image, done) over SSE, taking the library's own options
// (GenerateOptionsInput, camelCase); POST /api/tokenize returns a prompt's ids. Both take a prompt
// as `messages` (OpenAI chat form) or `prompt` text with `<image>` markers and `images` (data URLs).
// GET /api/info tells a client (the web app) the model's facts and the server's request limits.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GenEvent, RenderedImage } from '../generate/events.js';
import { overlayOptions } from '../generate/generation-config.js';
import { resolveOptions, type GenerateOptionsInput } from '../generate/options.js';
import { badRequest, toApiError } from './errors.js';
import { checkModel, clientSignal, objectBody, shuttingDown, SseWriter, type ServerContext } from './http.js';
import { nativePrompt, tokenAllowance } from './inputs.js';
import { seed32 } from './params.js';

const pngUrl = (png: Uint8Array): string => `data:image/png;base64,${Buffer.from(png).toString('base64')}`;

function preview(img: RenderedImage | undefined): Record<string, unknown> | undefined {
  return img ? { url: pngUrl(img.png), width: img.width, height: img.height } : undefined;
}

/** A generator event as the JSON the native stream sends (PNGs as data URLs, no session ids). */
function eventJson(ev: GenEvent): Record<string, unknown> {
  switch (ev.type) {
    case 'text':
      return { type: ev.type, delta: ev.delta };
    case 'image-start':
      return { type: ev.type, index: ev.index, tokens: ev.tokens };
    case 'image-progress':
      return { type: ev.type, index: ev.index, tokens: ev.tokens, total: ev.total, preview: preview(ev.preview) };
    case 'image':
      return { type: ev.type, index: ev.index, codes: [...ev.codes], url: ev.png ? pngUrl(ev.png) : undefined, width: ev.width, height: ev.height };
    case 'done':
      return {
        type: ev.type,
        reason: ev.reason,
        promptTokens: ev.promptTokens,
        generatedTokens: ev.generatedTokens,
        images: ev.images,
        prefillMs: ev.prefillMs,
        decodeTokensPerSec: ev.decodeTokensPerSec,
        ids: ev.ids,
      };
  }
}

function optionsInput(body: Record<string, unknown>): GenerateOptionsInput {
  const o = body.options ?? {};
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw badRequest('options must be an object (the library GenerateOptions, camelCase)', 'options');
  return o as GenerateOptionsInput;
}

async function generate(ctx: ServerContext, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const signal = clientSignal(ctx, reply);
  const body = objectBody(req);
  checkModel(ctx, typeof body.model === 'string' ? body.model : undefined);
  const m = ctx.model;
  const input = optionsInput(body);
  let options;
  try {
    options = resolveOptions(overlayOptions(m.bundle.defaults ?? {}, input));
  } catch (e) {
    throw toApiError(e, (path) => `options.${path}`);
  }
  const prompt = await nativePrompt(m, body, ctx.images, ctx.limits.imagesPerRequest);
  const maxNewTokens = tokenAllowance(m, prompt.length, input.maxNewTokens, ctx.limits.maxTokens, 'options.maxNewTokens');
  const seed = input.seed === undefined ? seed32(ctx.randomSeed()) : options.seed;
  const neg = body.negative_prompt;
  if (neg !== undefined && typeof neg !== 'string') throw badRequest('negative_prompt must be a string', 'negative_prompt');
  if (ctx.draining()) throw shuttingDown();
  const ticket = ctx.scheduler.submit(1, (_, s) => ({ prompt, options: { ...options, maxNewTokens, seed }, negativePrompt: neg ? m.prompt.text.encode(neg) : undefined, signal: s }), signal);
  const sse = new SseWriter(reply);
  try {
    for await (const { ev } of ticket) sse.send(eventJson(ev), ev.type);
    if (ticket.cause === 'shutdown') sse.error(toApiError(shuttingDown()).body(), 'error');
  } catch (e) {
    sse.error(toApiError(e).body(), 'error');
  } finally {
    sse.end();
  }
  return reply;
}

async function tokenize(ctx: ServerContext, req: FastifyRequest): Promise<unknown> {
  const body = objectBody(req);
  checkModel(ctx, typeof body.model === 'string' ? body.model : undefined);
  const ids = await nativePrompt(ctx.model, body, ctx.images, ctx.limits.imagesPerRequest);
  return { model: ctx.model.id, ids, tokens: ids.length, context: ctx.model.context, image_tokens: ctx.model.imageTokens };
}

/** What a client needs to know before it asks: the model's context and image grid, and the limits. */
function info(ctx: ServerContext): Record<string, unknown> {
  const m = ctx.model;
  const l = ctx.limits;
  return {
    model: m.id,
    context: m.context,
    image_tokens: m.imageTokens,
    resolution: m.resolution,
    can_read_images: m.canRead,
    can_draw_images: m.canDraw,
    limits: { max_tokens: l.maxTokens, max_images: l.imagesPerRequest, max_body_bytes: l.bodyBytes, max_image_pixels: l.imagePixels },
    generation_defaults: generationDefaults(m.bundle.defaults ?? {}),
  };
}

/** The model's sampling defaults (generation_config.json over the library's) as the page's controls: temperature 0 = greedy. */
function generationDefaults(d: GenerateOptionsInput): Record<string, unknown> {
  const o = resolveOptions(d);
  return {
    temperature: o.text.greedy ? 0 : o.text.temperature,
    image_temperature: o.image.greedy ? 0 : o.image.temperature,
    top_p: o.text.topP,
    cfg: o.image.cfg,
    guidance_text: o.image.guidanceText,
    guidance_image: o.image.guidanceImage,
  };
}

/** Registers /api/generate, /api/tokenize and /api/info. */
export function registerNativeRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/api/info', async () => info(ctx));
  app.post('/api/generate', async (req, reply) => generate(ctx, req, reply));
  app.post('/api/tokenize', async (req) => tokenize(ctx, req));
}
