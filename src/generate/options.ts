// Generation options and their defaults (Meta's chameleon inference Options, spec §6.2): separate
// text and image sampling settings, classifier-free guidance scales, modality mode and budgets.
// Validation with clear messages (GenerateOptionError carries the option's path, so a CLI or server
// can name its own flag or field), and the context budget of a request; no sampling logic here.

import { z } from 'zod';
import { ChameleonError } from '../util/errors.js';

export type Mode = 'text' | 'image' | 'interleaved';

export interface TextSampling {
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
  greedy: boolean;
}

export interface ImageSampling {
  temperature: number;
  topK: number;
  topP: number;
  greedy: boolean;
  /** Classifier-free guidance: 'off', 3-way (InstructPix2Pix form, spec §6) or 2-way with a negative prompt. */
  cfg: 'off' | '3way' | '2way';
  /** s_txt: weight of (full − image-only) in 3-way, of (full − negative) in 2-way. */
  guidanceText: number;
  /** s_img: weight of (image-only − unconditional) in 3-way. */
  guidanceImage: number;
}

export interface GenerateOptions {
  mode: Mode;
  maxNewTokens: number;
  /** Images allowed in interleaved mode; images produced in image mode. */
  maxImages: number;
  /** Stop at end-of-turn as well as </s> (chat). */
  stopOnEndOfTurn: boolean;
  seed: number;
  text: TextSampling;
  image: ImageSampling;
  /** Emit a partial-image preview every K image tokens (0 = never). */
  previewEvery: number;
}

export const DEFAULT_OPTIONS: GenerateOptions = {
  mode: 'text',
  maxNewTokens: 256,
  maxImages: 1,
  stopOnEndOfTurn: true,
  seed: 0,
  text: { temperature: 0.7, topK: 0, topP: 0.9, repetitionPenalty: 1.2, greedy: false },
  image: { temperature: 0.7, topK: 0, topP: 0.9, greedy: false, cfg: '3way', guidanceText: 3.0, guidanceImage: 1.2 },
  previewEvery: 32,
};

const textSchema = z
  .object({
    temperature: z.number().positive().max(100),
    topK: z.number().int().min(0),
    topP: z.number().gt(0).max(1),
    repetitionPenalty: z.number().positive().max(100),
    greedy: z.boolean(),
  })
  .partial()
  .strict();

const imageSchema = z
  .object({
    temperature: z.number().positive().max(100),
    topK: z.number().int().min(0),
    topP: z.number().gt(0).max(1),
    greedy: z.boolean(),
    cfg: z.enum(['off', '3way', '2way']),
    guidanceText: z.number().min(0).max(100),
    guidanceImage: z.number().min(0).max(100),
  })
  .partial()
  .strict();

const optionsSchema = z
  .object({
    mode: z.enum(['text', 'image', 'interleaved']),
    maxNewTokens: z.number().int().positive().max(1 << 20),
    maxImages: z.number().int().min(0).max(64),
    stopOnEndOfTurn: z.boolean(),
    seed: z.number().int(),
    text: textSchema,
    image: imageSchema,
    previewEvery: z.number().int().min(0),
  })
  .partial()
  .strict();

export type GenerateOptionsInput = z.input<typeof optionsSchema>;

/** Drops keys whose value is undefined (so they fall back to defaults), one level deep. */
function defined<T extends object>(o: T): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    out[k] = v !== null && typeof v === 'object' && !Array.isArray(v) ? defined(v as object) : v;
  }
  return out as Partial<T>;
}

/** An option that fails validation: `path` is its place in GenerateOptionsInput, e.g. 'text.temperature'. */
export class GenerateOptionError extends ChameleonError {
  constructor(
    readonly path: string,
    /** What is wrong, without the option's name, e.g. 'must be > 0'. */
    readonly reason: string,
    readonly value: unknown,
  ) {
    super(`invalid generation option ${path}: ${reason}, got ${JSON.stringify(value) ?? String(value)}`);
  }
}

function valueAt(o: unknown, path: readonly PropertyKey[]): unknown {
  let v = o;
  for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

/** A zod issue as a short reason ("must be <= 1", "must be an integer"). */
function reasonOf(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'too_small':
      return `must be ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}`;
    case 'too_big':
      return `must be ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}`;
    case 'invalid_type':
      return `must be ${issue.expected === 'int' ? 'an integer' : `a ${issue.expected}`}`;
    case 'invalid_format':
      return `must be ${issue.format === 'safeint' ? 'an integer' : issue.format}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map(String).join(', ')}`;
    case 'unrecognized_keys':
      return `unknown option ${issue.keys.join(', ')}`;
    default:
      return issue.message.charAt(0).toLowerCase() + issue.message.slice(1);
  }
}

/** Fills defaults and validates; a GenerateOptionError names the offending option. Undefined values mean "default". */
export function resolveOptions(input: GenerateOptionsInput = {}): GenerateOptions {
  const clean = defined(input);
  const r = optionsSchema.safeParse(clean);
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
    throw new GenerateOptionError(path.map(String).join('.') || '(root)', reasonOf(issue), valueAt(clean, path));
  }
  const o = r.data;
  return {
    ...DEFAULT_OPTIONS,
    ...o,
    text: { ...DEFAULT_OPTIONS.text, ...o.text },
    image: { ...DEFAULT_OPTIONS.image, ...o.image },
  } as GenerateOptions;
}

export interface TokenBudget {
  /** New tokens the request can actually generate. */
  maxNewTokens: number;
  /** True when the context, not maxNewTokens, is the limit. */
  capped: boolean;
  /** Tokens left in the context after the prompt. */
  room: number;
}

/** How many new tokens fit: maxNewTokens, capped by what the context leaves after the prompt. */
export function tokenBudget(promptTokens: number, maxNewTokens: number, context: number): TokenBudget {
  const room = Math.max(0, context - promptTokens);
  return { maxNewTokens: Math.min(maxNewTokens, room), capped: maxNewTokens > room, room };
}

/**
 * The generation budget when none is given, for a model with `imageTokens` codes per picture: 256
 * tokens of text, room for every allowed picture (BOI + codes + EOI), or both. A fixed 256 would
 * never fit a 16×16-code picture, so an image could never start.
 */
export function defaultMaxNewTokens(mode: Mode, maxImages: number, imageTokens: number): number {
  const pictures = maxImages * (imageTokens + 2);
  return mode === 'text' ? DEFAULT_OPTIONS.maxNewTokens : mode === 'image' ? pictures : DEFAULT_OPTIONS.maxNewTokens + pictures;
}
