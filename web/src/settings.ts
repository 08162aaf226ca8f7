// The generation settings of the page (mode, temperature, top-p, token and image budgets, CFG mode
// and scales, negative prompt, seed, API key): their defaults (the library's DEFAULT_OPTIONS, checked
// by a test), reading them back from storage with each field checked, and the /api/generate request
// body they make with the conversation. No DOM here.

import type { ServerInfo } from './api.js';
import type { ChatMessage } from './conversation.js';

export type Mode = 'text' | 'image' | 'interleaved';
export type Cfg = 'off' | '3way' | '2way';

export interface Settings {
  mode: Mode;
  /** 0 = greedy (always the most likely token). Text and image sampling alike. */
  temperature: number;
  topP: number;
  /** null: as many as the context leaves (the server caps it). */
  maxTokens: number | null;
  /** Images an interleaved answer may hold; images an image-mode answer draws. */
  maxImages: number;
  cfg: Cfg;
  guidanceText: number;
  guidanceImage: number;
  negativePrompt: string;
  /** null: a new random seed for every request (shown with the answer). */
  seed: number | null;
  apiKey: string;
}

export const DEFAULT_SETTINGS: Readonly<Settings> = {
  mode: 'interleaved',
  temperature: 0.7,
  topP: 0.9,
  maxTokens: null,
  maxImages: 1,
  cfg: '3way',
  guidanceText: 3,
  guidanceImage: 1.2,
  negativePrompt: '',
  seed: null,
  apiKey: '',
};

/** The ranges the controls offer (and stored values are clamped to). */
export const RANGES = {
  temperature: { min: 0, max: 2, step: 0.05 },
  topP: { min: 0.05, max: 1, step: 0.05 },
  maxImages: { min: 1, max: 4, step: 1 },
  guidanceText: { min: 0, max: 10, step: 0.1 },
  guidanceImage: { min: 0, max: 10, step: 0.1 },
} as const;

const MAX_SEED = 2 ** 32 - 1;

function num(v: unknown, fallback: number, r?: { min: number; max: number }): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) return fallback;
  return r ? Math.min(r.max, Math.max(r.min, v)) : v;
}

/**
 * The defaults for a model: the library's, with the model's own sampling settings (GET /api/info's
 * generation_defaults) where it has them; the page has one temperature, so images' decide when the
 * model keeps them greedy (a demo model that draws best greedily starts at 0).
 */
export function modelSettings(d: ServerInfo['generation_defaults'] | undefined): Settings {
  const base = { ...DEFAULT_SETTINGS };
  if (!d) return base;
  const temperature = d.image_temperature === 0 || d.temperature === 0 ? 0 : d.temperature;
  return {
    ...base,
    temperature: num(temperature, base.temperature, RANGES.temperature),
    topP: num(d.top_p, base.topP, RANGES.topP),
    cfg: (['off', '3way', '2way'] as const).includes(d.cfg) ? d.cfg : base.cfg,
    guidanceText: num(d.guidance_text, base.guidanceText, RANGES.guidanceText),
    guidanceImage: num(d.guidance_image, base.guidanceImage, RANGES.guidanceImage),
  };
}

/** Settings from storage: each field checked, anything missing or wrong takes its default (`base`). */
export function parseSettings(json: string | null, base: Readonly<Settings> = DEFAULT_SETTINGS): Settings {
  let raw: Record<string, unknown> = {};
  try {
    const v: unknown = json ? JSON.parse(json) : {};
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) raw = v as Record<string, unknown>;
  } catch {
    /* defaults */
  }
  const d = base;
  const oneOf = <T extends string>(v: unknown, options: readonly T[], fallback: T): T => (options.includes(v as T) ? (v as T) : fallback);
  const int = (v: unknown, min: number, max: number): number | null => (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : null);
  return {
    mode: oneOf(raw.mode, ['text', 'image', 'interleaved'], d.mode),
    temperature: num(raw.temperature, d.temperature, RANGES.temperature),
    topP: num(raw.topP, d.topP, RANGES.topP),
    maxTokens: int(raw.maxTokens, 1, 1 << 20),
    maxImages: Math.round(num(raw.maxImages, d.maxImages, RANGES.maxImages)),
    cfg: oneOf(raw.cfg, ['off', '3way', '2way'], d.cfg),
    guidanceText: num(raw.guidanceText, d.guidanceText, RANGES.guidanceText),
    guidanceImage: num(raw.guidanceImage, d.guidanceImage, RANGES.guidanceImage),
    negativePrompt: typeof raw.negativePrompt === 'string' ? raw.negativePrompt : d.negativePrompt,
    seed: int(raw.seed, 0, MAX_SEED),
    apiKey: typeof raw.apiKey === 'string' ? raw.apiKey : d.apiKey,
  };
}

/** A seed from a text field: '' = random (null); otherwise a whole number in [0, 2³² − 1], or an error line. */
export function parseSeed(text: string): { seed: number | null } | { error: string } {
  const t = text.trim();
  if (t === '') return { seed: null };
  const n = Number(t);
  if (!/^\d+$/.test(t) || n > MAX_SEED) return { error: `the seed must be a whole number from 0 to ${MAX_SEED}, or empty for a random one` };
  return { seed: n };
}

/** A random 32-bit seed (so every answer can be reproduced: it is shown with the answer). */
export function randomSeed(): number {
  const a = new Uint32Array(1);
  crypto.getRandomValues(a);
  return a[0];
}

/** Image tokens between two previews: about 8 previews per image. */
export function previewEvery(imageTokens: number): number {
  return Math.max(1, Math.round(imageTokens / 8));
}

/** The body of POST /api/generate for the conversation so far. */
export function generateBody(s: Settings, messages: ChatMessage[], seed: number, imageTokens: number): Record<string, unknown> {
  const greedy = s.temperature === 0;
  const sampling = greedy ? { greedy: true, topP: s.topP } : { temperature: s.temperature, topP: s.topP };
  const body: Record<string, unknown> = {
    messages,
    options: {
      mode: s.mode,
      ...(s.maxTokens !== null ? { maxNewTokens: s.maxTokens } : {}),
      maxImages: s.maxImages,
      seed,
      previewEvery: previewEvery(imageTokens),
      text: sampling,
      image: { ...sampling, cfg: s.cfg, guidanceText: s.guidanceText, guidanceImage: s.guidanceImage },
    },
  };
  if (s.cfg === '2way' && s.negativePrompt.trim() !== '') body.negative_prompt = s.negativePrompt;
  return body;
}
