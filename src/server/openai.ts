// The OpenAI-compatible routes: POST /v1/chat/completions (streaming SSE chunks and not; `n`
// choices decode together; stop sequences; generated images in the `images` extension field of the
// message or delta, each with its place in the text), POST /v1/images/generations (b64_json, CFG
// scales as extra fields), GET /v1/models[/:id]. Prompts come from inputs.ts, options from params.ts.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { chatPrompt, completionPrompt } from '../generate/prompt.js';
import type { GenEvent } from '../generate/events.js';
import { ApiError, badRequest, toApiError } from './errors.js';
import { checkModel, clientSignal, objectBody, shuttingDown, SseWriter, type ServerContext } from './http.js';
import { chatMessages, tokenAllowance } from './inputs.js';
import { chatOptions, chatSchema, imageOptions, imagesSchema, parseParams, refuseUnsupported, seed32, type ChatParams } from './params.js';
import type { Ticket } from './scheduler.js';
import { StopMatcher } from './stop.js';

/** A generated image in a message or delta (the `images` extension field). */
export interface ImagePart {
  type: 'image_url';
  image_url: { url: string };
  /** Image number within the choice, from 0. */
  index: number;
  /** Where the image sits in the choice's `content`: the number of characters (UTF-16 units) before it. */
  offset: number;
  width?: number;
  height?: number;
  /** The image's codes (always present; the only form when the model has no VQGAN decoder). */
  codes: number[];
}

/** OpenAI finish_reason of a generator stop reason. */
function finishReason(reason: string): 'stop' | 'length' {
  return reason === 'length' ? 'length' : 'stop';
}

function imagePart(ev: Extract<GenEvent, { type: 'image' }>, offset: number): ImagePart {
  const url = ev.png ? `data:image/png;base64,${Buffer.from(ev.png).toString('base64')}` : '';
  return { type: 'image_url', image_url: { url }, index: ev.index, offset, width: ev.width, height: ev.height, codes: [...ev.codes] };
}

/** What one choice has produced, with its stop-sequence filter. */
class ChoiceState {
  content = '';
  images: ImagePart[] = [];
  finish: 'stop' | 'length' | null = null;
  completionTokens = 0;
  promptTokens = 0;
  readonly stop: StopMatcher;
  constructor(stops: string[]) {
    this.stop = new StopMatcher(stops);
  }
}

type Delta = { role?: 'assistant'; content?: string; images?: ImagePart[] };

/**
 * Applies one event to its choice; returns the delta to stream (null: nothing to send). A matched
 * stop sequence stops the choice in the scheduler; its later events only close it.
 */
function apply(st: ChoiceState, ev: GenEvent, stopChoice: () => void): Delta | null {
  const stopped = st.stop.stopped;
  switch (ev.type) {
    case 'text': {
      const out = st.stop.push(ev.delta);
      st.content += out;
      if (!stopped && st.stop.stopped) stopChoice();
      return out ? { content: out } : null;
    }
    case 'image-start': {
      const out = st.stop.flush();
      st.content += out;
      return out ? { content: out } : null;
    }
    case 'image': {
      if (stopped) return null;
      const part = imagePart(ev, st.content.length);
      st.images.push(part);
      return { images: [part] };
    }
    case 'done': {
      const out = st.stop.flush();
      st.content += out;
      st.finish = st.stop.stopped ? 'stop' : finishReason(ev.reason);
      st.completionTokens = ev.generatedTokens;
      st.promptTokens = ev.promptTokens;
      return out ? { content: out } : null;
    }
    default:
      return null;
  }
}

function usage(states: ChoiceState[]): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  const prompt = states[0]?.promptTokens ?? 0;
  const completion = states.reduce((n, s) => n + s.completionTokens, 0);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** Parses a chat request and admits its choices. */
async function admitChat(ctx: ServerContext, req: FastifyRequest, reply: FastifyReply): Promise<{ p: ChatParams; ticket: Ticket; stops: string[] }> {
  const signal = clientSignal(ctx, reply); // before the images are read: a client may leave meanwhile
  const p = parseParams(chatSchema, objectBody(req));
  checkModel(ctx, p.model);
  refuseUnsupported(p);
  const n = p.n ?? 1;
  if (n > ctx.limits.maxChoices) throw badRequest(`n is ${n}; this server returns at most ${ctx.limits.maxChoices} choices`, 'n');
  const m = ctx.model;
  const { messages } = await chatMessages(m, p.messages, ctx.images, ctx.limits.imagesPerRequest);
  const prompt = chatPrompt(m.prompt, messages);
  const maxNew = tokenAllowance(m, prompt.length, p.max_completion_tokens ?? p.max_tokens ?? undefined, ctx.limits.maxTokens, p.max_completion_tokens ? 'max_completion_tokens' : 'max_tokens');
  const seed = seed32(p.seed ?? ctx.randomSeed());
  const options = chatOptions(p, maxNew, seed, m.bundle.defaults ?? {});
  const negativePrompt = p.negative_prompt ? m.prompt.text.encode(p.negative_prompt) : undefined;
  if (ctx.draining()) throw shuttingDown();
  const ticket = ctx.scheduler.submit(n, (i, s) => ({ prompt, options: { ...options, seed: seed32(seed + i) }, negativePrompt, signal: s }), signal);
  const stops = p.stop === null || p.stop === undefined ? [] : typeof p.stop === 'string' ? [p.stop] : p.stop;
  return { p, ticket, stops };
}

/** The error a cancelled ticket ends with (a gone client gets nothing, but its handler must end). */
function cancelled(t: Ticket): ApiError | null {
  if (t.cause === 'shutdown') return new ApiError(503, 'the server shut down before the answer was complete', 'service_unavailable', null, 'shutting_down');
  if (t.cause === 'client') return new ApiError(499, 'the client closed the request', 'invalid_request_error', null, 'client_closed');
  return null;
}

async function chatCompletions(ctx: ServerContext, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const { p, ticket, stops } = await admitChat(ctx, req, reply);
  const id = `chatcmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const model = ctx.model.id;
  const states = Array.from({ length: ticket.choices }, () => new ChoiceState(stops));
  if (!p.stream) {
    for await (const { choice, ev } of ticket) apply(states[choice], ev, () => ticket.stopChoice(choice));
    const err = cancelled(ticket);
    if (err) throw err;
    return {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: states.map((s, index) => ({
        index,
        message: { role: 'assistant', content: s.content, refusal: null, ...(s.images.length ? { images: s.images } : {}) },
        logprobs: null,
        finish_reason: s.finish,
      })),
      usage: usage(states),
    };
  }
  const sse = new SseWriter(reply);
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}): void => sse.send({ id, object: 'chat.completion.chunk', created, model, choices, ...extra });
  try {
    for (let i = 0; i < ticket.choices; i++) chunk([{ index: i, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
    for await (const { choice, ev } of ticket) {
      const st = states[choice];
      const delta = apply(st, ev, () => ticket.stopChoice(choice));
      if (delta) chunk([{ index: choice, delta, logprobs: null, finish_reason: null }]);
      if (ev.type === 'done' && ticket.cause === null) chunk([{ index: choice, delta: {}, logprobs: null, finish_reason: st.finish }]);
    }
    const err = cancelled(ticket);
    if (err) sse.error(err.body());
    else {
      if (p.stream_options?.include_usage) chunk([], { usage: usage(states) });
      sse.send('[DONE]');
    }
  } catch (e) {
    sse.error(toApiError(e).body());
  } finally {
    sse.end();
  }
  return reply;
}

async function imagesGenerations(ctx: ServerContext, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const signal = clientSignal(ctx, reply);
  const p = parseParams(imagesSchema, objectBody(req));
  checkModel(ctx, p.model);
  const m = ctx.model;
  if (!m.canDraw) throw badRequest(`model ${m.id} has no VQGAN decoder (vq_decoder.safetensors), so it cannot return images`, 'model', 'images_not_supported');
  if (p.stream) throw badRequest('streaming image generation is not supported here; POST /api/generate streams image previews', 'stream', 'unsupported_parameter');
  if (p.response_format === 'url') throw badRequest('response_format url is not supported (this server stores no files); use b64_json', 'response_format', 'unsupported_value');
  const size = `${m.resolution}x${m.resolution}`;
  if (p.size && p.size !== 'auto' && p.size !== size) throw badRequest(`size ${p.size} is not available; this model draws ${size}`, 'size', 'invalid_value');
  const n = p.n ?? 1;
  if (n > ctx.limits.maxChoices) throw badRequest(`n is ${n}; this server returns at most ${ctx.limits.maxChoices} images`, 'n');
  const prompt = m.prompt.vocab.eot >= 0 ? chatPrompt(m.prompt, [{ role: 'user', content: p.prompt }]) : completionPrompt(m.prompt, [{ type: 'text', text: p.prompt }]);
  tokenAllowance(m, prompt.length, m.imageTokens + 2, Infinity, 'prompt');
  const seed = seed32(p.seed ?? ctx.randomSeed());
  const options = imageOptions(p, m.imageTokens, seed, m.bundle.defaults ?? {});
  const negativePrompt = p.negative_prompt ? m.prompt.text.encode(p.negative_prompt) : undefined;
  if (ctx.draining()) throw shuttingDown();
  const ticket = ctx.scheduler.submit(n, (i, s) => ({ prompt, options: { ...options, seed: seed32(seed + i) }, negativePrompt, signal: s }), signal);
  const pngs: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(n);
  let outputTokens = 0;
  for await (const { choice, ev } of ticket) {
    if (ev.type === 'image') pngs[choice] = ev.png;
    if (ev.type === 'done') outputTokens += ev.generatedTokens;
  }
  const err = cancelled(ticket);
  if (err) throw err;
  if (pngs.some((x) => !x)) throw new ApiError(500, 'an image was not finished', 'server_error', null, 'internal_error');
  return {
    created: Math.floor(Date.now() / 1000),
    data: pngs.map((png) => ({ b64_json: Buffer.from(png!).toString('base64') })),
    output_format: 'png',
    size,
    usage: { input_tokens: prompt.length, output_tokens: outputTokens, total_tokens: prompt.length + outputTokens },
  };
}

/** Registers the OpenAI-compatible routes. */
export function registerOpenAiRoutes(app: FastifyInstance, ctx: ServerContext): void {
  // Extension fields: what the model can do and its own sampling defaults (generation_config.json),
  // so a client (the web app) can show them.
  const modelObject = (): Record<string, unknown> => ({
    id: ctx.model.id,
    object: 'model',
    created: ctx.model.created,
    owned_by: 'chameleon-ts',
    chameleon: { context: ctx.model.context, image_tokens: ctx.model.imageTokens, resolution: ctx.model.resolution, can_read_images: ctx.model.canRead, can_draw: ctx.model.canDraw, generation_defaults: ctx.model.bundle.defaults ?? {} },
  });
  app.get('/v1/models', async () => ({ object: 'list', data: [modelObject()] }));
  app.get<{ Params: { id: string } }>('/v1/models/:id', async (req) => {
    checkModel(ctx, req.params.id);
    return modelObject();
  });
  app.post('/v1/chat/completions', async (req, reply) => chatCompletions(ctx, req, reply));
  app.post('/v1/images/generations', async (req, reply) => imagesGenerations(ctx, req, reply));
}
