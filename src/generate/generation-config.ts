// A model directory's own sampling defaults: Hugging Face `generation_config.json` (do_sample,
// temperature, top_p, top_k, repetition_penalty, max_new_tokens, guidance_scale) plus a
// `chameleon` object for what HF has no key for (image sampling, CFG kind and scales), parsed into
// option input that sits under a request's own settings; `overlayOptions` merges the two so that a
// request's sampling setting turns off a default of greedy decoding. Leaves out HF's beam search keys.

import { z } from 'zod';
import { FormatError } from '../util/errors.js';
import type { GenerateOptionsInput } from './options.js';

/** The file name, as Hugging Face writes it beside config.json. */
export const GENERATION_CONFIG_FILE = 'generation_config.json';

/** The HF sampling keys, shared by the file's top level and its `chameleon.image` block. */
const sampling = {
  do_sample: z.boolean(),
  temperature: z.number().positive().max(100),
  top_p: z.number().gt(0).max(1),
  top_k: z.number().int().min(0),
};

const imageSchema = z
  .object({
    ...sampling,
    cfg: z.enum(['off', '3way', '2way']),
    guidance_text: z.number().min(0).max(100),
    guidance_image: z.number().min(0).max(100),
  })
  .partial()
  .strict();

const fileSchema = z
  .object({
    ...sampling,
    repetition_penalty: z.number().positive().max(100),
    max_new_tokens: z.number().int().positive(),
    guidance_scale: z.number().min(0).max(100),
    chameleon: z.object({ image: imageSchema }).partial().strict(),
  })
  .partial()
  .loose();

const defined = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/**
 * generation_config.json's content as generation option input; `source` names the file in errors.
 * Keys HF uses for other things (bos_token_id, transformers_version, …) are ignored.
 */
export function parseGenerationConfig(json: unknown, source: string): GenerateOptionsInput {
  const r = fileSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new FormatError(`${source}: ${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`);
  }
  const g = r.data;
  const im = g.chameleon?.image ?? {};
  const greedy = g.do_sample === undefined ? undefined : !g.do_sample;
  return {
    maxNewTokens: g.max_new_tokens,
    text: defined({ greedy, temperature: g.temperature, topP: g.top_p, topK: g.top_k, repetitionPenalty: g.repetition_penalty }),
    image: defined({
      greedy: im.do_sample === undefined ? greedy : !im.do_sample,
      temperature: im.temperature ?? g.temperature,
      topP: im.top_p ?? g.top_p,
      topK: im.top_k ?? g.top_k,
      cfg: im.cfg,
      guidanceText: im.guidance_text ?? g.guidance_scale,
      guidanceImage: im.guidance_image,
    }),
  };
}

type Sampling = NonNullable<GenerateOptionsInput['text']> | NonNullable<GenerateOptionsInput['image']>;

/** A sampling block over its default: setting temperature, top-p or top-k asks for sampling. */
function overlaySampling<T extends Sampling>(base: T | undefined, top: T | undefined): T {
  const t = defined(top ?? ({} as T)) as T;
  const merged = { ...defined(base ?? ({} as T)), ...t } as T & { greedy?: boolean };
  const samples = 'temperature' in t || 'topP' in t || 'topK' in t;
  if (samples && !('greedy' in t) && merged.greedy) merged.greedy = false;
  return merged;
}

/** `top` over `base` (undefined values of `top` keep `base`'s); see overlaySampling for greedy. */
export function overlayOptions(base: GenerateOptionsInput, top: GenerateOptionsInput): GenerateOptionsInput {
  return {
    ...defined(base),
    ...defined(top),
    text: overlaySampling(base.text, top.text),
    image: overlaySampling(base.image, top.image),
  };
}

/** generation_config.json for a model whose best decoding is greedy, images without guidance. */
export function greedyGenerationConfig(): Record<string, unknown> {
  return { do_sample: false, repetition_penalty: 1.0, chameleon: { image: { do_sample: false, cfg: 'off' } } };
}
