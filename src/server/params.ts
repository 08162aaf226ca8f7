// The request parameters of the OpenAI-compatible endpoints (zod schemas; unknown fields are
// ignored as OpenAI's own optional ones are, a few that cannot be honoured are refused) and their
// translation to the library's GenerateOptions: temperature 0 = greedy, `modalities` picks text /
// image / interleaved, CFG scales as extra fields. Errors are 400s naming the OpenAI field.

import { z } from 'zod';
import { GenerateOptionError, resolveOptions, type GenerateOptions, type GenerateOptionsInput, type Mode } from '../generate/options.js';
import { overlayOptions } from '../generate/generation-config.js';
import { badRequest } from './errors.js';

/** A zod issue as "field must be ..." text. */
function describeIssue(issue: z.core.$ZodIssue, field: string): string {
  switch (issue.code) {
    case 'too_small':
      return issue.origin === 'array' || issue.origin === 'string' ? `${field} is too short` : `${field} must be ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}`;
    case 'too_big':
      return issue.origin === 'array' || issue.origin === 'string' ? `${field} is too long (at most ${String(issue.maximum)})` : `${field} must be ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}`;
    case 'invalid_type':
      return `${field} must be ${issue.expected === 'int' ? 'an integer' : `a ${issue.expected}`}`;
    case 'invalid_value':
      return `${field} must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${field}: ${issue.message}`;
  }
}

/** Parses `body` with `schema`; the first issue becomes a 400 naming its field. */
export function parseParams<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the request body must be a JSON object', null, 'invalid_json');
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('') || 'body';
  throw badRequest(describeIssue(issue, field), field);
}

const opt = <T extends z.ZodType>(t: T) => t.nullish();

/** Sampling and guidance fields shared by chat and images. */
const guidance = {
  cfg: opt(z.enum(['off', '3way', '2way'])),
  guidance_text: opt(z.number().min(0).max(100)),
  guidance_image: opt(z.number().min(0).max(100)),
  negative_prompt: opt(z.string()),
  seed: opt(z.number().int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER)),
  temperature: opt(z.number().min(0).max(2)),
  top_p: opt(z.number().gt(0).max(1)),
  top_k: opt(z.number().int().min(0)),
};

export const chatSchema = z
  .object({
    model: opt(z.string()),
    messages: z.unknown(),
    stream: opt(z.boolean()),
    stream_options: opt(z.object({ include_usage: opt(z.boolean()) }).loose()),
    max_tokens: opt(z.number().int().min(1)),
    max_completion_tokens: opt(z.number().int().min(1)),
    stop: opt(z.union([z.string().min(1), z.array(z.string().min(1)).max(4)])),
    n: opt(z.number().int().min(1)),
    repetition_penalty: opt(z.number().positive().max(100)),
    modalities: opt(z.array(z.enum(['text', 'image'])).min(1)),
    max_images: opt(z.number().int().min(0).max(64)),
    image_temperature: opt(z.number().min(0).max(2)),
    logprobs: opt(z.boolean()),
    tools: opt(z.array(z.unknown())),
    response_format: opt(z.object({ type: z.string() }).loose()),
    ...guidance,
  })
  .loose();

export type ChatParams = z.output<typeof chatSchema>;

export const imagesSchema = z
  .object({
    prompt: z.string().min(1),
    model: opt(z.string()),
    n: opt(z.number().int().min(1)),
    size: opt(z.string()),
    response_format: opt(z.enum(['b64_json', 'url'])),
    stream: opt(z.boolean()),
    ...guidance,
  })
  .loose();

export type ImagesParams = z.output<typeof imagesSchema>;

/** Refuses the OpenAI chat features this server cannot honour. */
export function refuseUnsupported(p: ChatParams): void {
  if (p.logprobs) throw badRequest('logprobs are not supported by this server', 'logprobs', 'unsupported_parameter');
  if (p.tools && p.tools.length > 0) throw badRequest('tools are not supported (this model has no tool calls)', 'tools', 'unsupported_parameter');
  if (p.response_format && p.response_format.type !== 'text') throw badRequest(`response_format ${p.response_format.type} is not supported; only text`, 'response_format.type', 'unsupported_parameter');
}

/** The OpenAI field each library option comes from (for error messages). */
const FIELD_OF: Record<string, string> = {
  maxNewTokens: 'max_tokens',
  maxImages: 'max_images',
  seed: 'seed',
  'text.temperature': 'temperature',
  'text.topP': 'top_p',
  'text.topK': 'top_k',
  'text.repetitionPenalty': 'repetition_penalty',
  'image.temperature': 'image_temperature',
  'image.topP': 'top_p',
  'image.topK': 'top_k',
  'image.cfg': 'cfg',
  'image.guidanceText': 'guidance_text',
  'image.guidanceImage': 'guidance_image',
};

/** Request input over the model's defaults (generation_config.json), resolved; errors name the request field. */
function resolveAs(input: GenerateOptionsInput, defaults: GenerateOptionsInput): GenerateOptions {
  try {
    return resolveOptions(overlayOptions(defaults, input));
  } catch (e) {
    if (e instanceof GenerateOptionError) {
      const field = FIELD_OF[e.path] ?? e.path;
      throw badRequest(`${field} ${e.reason}, got ${JSON.stringify(e.value)}`, field);
    }
    throw e;
  }
}

/** A seed as the generator's 32-bit one (OpenAI seeds may be any integer). */
export function seed32(seed: number): number {
  return ((seed % 2 ** 32) + 2 ** 32) % 2 ** 32;
}

/** The generation mode `modalities` asks for (default both: the model chooses). */
export function modeOf(modalities: readonly string[] | null | undefined): Mode {
  const m = new Set(modalities ?? ['text', 'image']);
  return m.has('image') ? (m.has('text') ? 'interleaved' : 'image') : 'text';
}

/** Library options of a chat request (seed resolved by the caller; previews off). */
export function chatOptions(p: ChatParams, maxNewTokens: number, seed: number, defaults: GenerateOptionsInput = {}): GenerateOptions {
  const greedy = p.temperature === 0;
  const imageGreedy = (p.image_temperature ?? p.temperature) === 0;
  return resolveAs({
    mode: modeOf(p.modalities),
    maxNewTokens,
    maxImages: p.max_images ?? undefined,
    seed,
    stopOnEndOfTurn: true,
    previewEvery: 0,
    text: { temperature: greedy ? undefined : (p.temperature ?? undefined), topP: p.top_p ?? undefined, topK: p.top_k ?? undefined, repetitionPenalty: p.repetition_penalty ?? undefined, greedy: greedy || undefined },
    image: {
      temperature: imageGreedy ? undefined : (p.image_temperature ?? p.temperature ?? undefined),
      topP: p.top_p ?? undefined,
      topK: p.top_k ?? undefined,
      greedy: imageGreedy || undefined,
      cfg: p.cfg ?? undefined,
      guidanceText: p.guidance_text ?? undefined,
      guidanceImage: p.guidance_image ?? undefined,
    },
  }, defaults);
}

/** Library options of one image of /v1/images/generations. */
export function imageOptions(p: ImagesParams, imageTokens: number, seed: number, defaults: GenerateOptionsInput = {}): GenerateOptions {
  const greedy = p.temperature === 0;
  return resolveAs({
    mode: 'image',
    maxNewTokens: imageTokens + 2,
    maxImages: 1,
    seed,
    previewEvery: 0,
    image: {
      temperature: greedy ? undefined : (p.temperature ?? undefined),
      topP: p.top_p ?? undefined,
      topK: p.top_k ?? undefined,
      greedy: greedy || undefined,
      cfg: p.cfg ?? (p.negative_prompt !== undefined && p.negative_prompt !== null ? '2way' : undefined),
      guidanceText: p.guidance_text ?? undefined,
      guidanceImage: p.guidance_image ?? undefined,
    },
  }, defaults);
}
