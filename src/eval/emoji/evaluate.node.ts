// `chameleon eval emoji` as a library call: loads a Chameleon model directory (refusing, by name, one
// without the text tokenizer or the VQ encoder/decoder it needs), runs the world's test prompts
// through the real generator as chat turns ("What is this?" after an emoji's image: greedy text;
// "Draw X.": one image), decodes the drawn images and scores everything with scoreOutputs.
// Generation and scoring are apart so that the scoring can be tested on known outputs.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChameleonError } from '../../util/errors.js';
import { ProgressBar, type ProgressStream } from '../../util/progress.js';
import { Rng } from '../../util/rng.js';
import type { Engine } from '../../engine/engine.js';
import { encodeImage, imageRenderer, loadBundle, textCodec, type ChameleonBundle } from '../../generate/bundle.node.js';
import { ChameleonGenerator, type GenerateRequest } from '../../generate/generator.js';
import { defaultMaxNewTokens, resolveOptions, type GenerateOptionsInput } from '../../generate/options.js';
import { chatPrompt, type PromptParts } from '../../generate/prompt.js';
import { VQ_DECODER_FILE } from '../../tokenizers/image/load.node.js';
import { kvDtypeForModel } from '../../model/report.js';
import { shuffled } from './catalogue.js';
import { scoreOutputs, type EmojiOutput, type EmojiScores } from './score.js';
import { pngToRgb, rgbToPng } from './source.node.js';
import { matcherFor, readEmojiManifest, loadEmojiPlan, renderEmoji } from './world.node.js';
import type { EmojiTestItem } from './world.js';

export interface EmojiEvalOptions {
  /** Model directory (config.json, model.safetensors with model.vqmodel.*, vq_decoder.safetensors, tokenizer.json). */
  model: string;
  /** A `chameleon world emoji` directory whose options (seed, count) the model was trained on; default: the default world. */
  world?: string;
  /** At most this many items of each of the four kinds (name/draw × training/held-out emoji), a seeded sample. */
  limit?: number;
  /** Seed of the sample and of image sampling (default 0). */
  seed?: number;
  /** Requests decoded together (default 8). */
  batch?: number;
  /** Generation settings of the drawings (default: the generator's, i.e. temperature 0.7, top-p 0.9, 3-way CFG). */
  image?: GenerateOptionsInput['image'];
  /** Tokens allowed for a name answer (default 24). */
  maxAnswerTokens?: number;
  /** Write each drawing (draw-<id>.png) and answers.json here. */
  out?: string;
  progress?: ProgressStream | null;
}

export interface EmojiEvalReport extends EmojiScores {
  model: string;
  world: { seed: number; count: number; heldout: number; package: string };
  seed: number;
  limit: number | null;
  seconds: number;
}

/** Refuses a model directory that lacks what the emoji evaluation needs, naming the missing file. */
function checkModelFiles(dir: string): void {
  if (!existsSync(join(dir, 'config.json'))) throw new ChameleonError(`${dir}: no config.json (is this a Chameleon model directory?)`);
  if (!existsSync(join(dir, 'tokenizer.json'))) throw new ChameleonError(`${dir}: no tokenizer.json (the text tokenizer), which eval emoji needs to write prompts and read answers`);
  if (!existsSync(join(dir, VQ_DECODER_FILE))) throw new ChameleonError(`${dir}: no ${VQ_DECODER_FILE} (the VQ decoder), which eval emoji needs to turn drawn codes into pixels`);
}

function checkBundle(b: ChameleonBundle): void {
  if (!b.vq) throw new ChameleonError(`${b.dir}: no VQ encoder weights (model.vqmodel.* in model.safetensors), which eval emoji needs to show the model an image`);
  if (!b.vq.decoder) throw new ChameleonError(`${b.dir}: ${VQ_DECODER_FILE} holds no VQ decoder weights, which eval emoji needs to turn drawn codes into pixels`);
}

/** The items of each kind, at most `limit` of each (a seeded sample, in plan order). */
export function sampleItems(items: readonly EmojiTestItem[], limit: number | undefined, seed: number): EmojiTestItem[] {
  if (limit === undefined) return [...items];
  if (!Number.isInteger(limit) || limit < 1) throw new ChameleonError(`--limit must be a positive integer, got ${limit}`);
  const rng = new Rng(seed ^ 0x11e7);
  const keep = new Set<EmojiTestItem>();
  for (const kind of ['name', 'draw'] as const) {
    for (const held of [false, true]) {
      for (const it of shuffled(items.filter((i) => i.kind === kind && i.heldout === held), rng).slice(0, limit)) keep.add(it);
    }
  }
  return items.filter((i) => keep.has(i));
}

/** Runs the emoji evaluation of one model. */
export async function evaluateEmoji(engine: Engine, opts: EmojiEvalOptions): Promise<EmojiEvalReport> {
  const t0 = performance.now();
  const seed = opts.seed ?? 0;
  checkModelFiles(opts.model);
  const manifest = opts.world ? readEmojiManifest(opts.world) : undefined;
  const { catalogue, plan } = await loadEmojiPlan(manifest);
  const items = sampleItems(plan.tests, opts.limit, seed);
  const b = await loadBundle(engine, opts.model);
  checkBundle(b);
  const codec = textCodec(b);
  const parts: PromptParts = { vocab: b.gen, text: codec, imageTokens: b.imageTokens };
  const gen = new ChameleonGenerator({ model: b.model, vocab: b.gen, text: codec, image: imageRenderer(b) ?? undefined, imageTokens: b.imageTokens, kvDtype: kvDtypeForModel('auto', b.model) });
  const originalPng = new Map<string, Uint8Array>();
  const requestOf = async (item: EmojiTestItem, i: number): Promise<GenerateRequest> => {
    if (item.kind === 'name') {
      let png = originalPng.get(item.id);
      if (!png) originalPng.set(item.id, (png = await rgbToPng(renderEmoji(catalogue.artwork.get(item.id)!, { scale: 1, dx: 0, dy: 0 }))));
      const codes = await encodeImage(b, png);
      const prompt = chatPrompt(parts, [{ role: 'user', content: [{ type: 'image', codes }, { type: 'text', text: item.prompt }] }]);
      return { prompt, options: resolveOptions({ mode: 'text', maxNewTokens: opts.maxAnswerTokens ?? 24, seed: seed + i, text: { greedy: true } }) };
    }
    const prompt = chatPrompt(parts, [{ role: 'user', content: item.prompt }]);
    return { prompt, options: resolveOptions({ mode: 'image', maxNewTokens: defaultMaxNewTokens('image', 1, b.imageTokens), maxImages: 1, seed: seed + i, image: opts.image, previewEvery: 0 }) };
  };
  const outputs: EmojiOutput[] = new Array<EmojiOutput>(items.length);
  const pngs = new Map<number, Uint8Array>();
  const batch = opts.batch ?? 8;
  if (!Number.isInteger(batch) || batch < 1) throw new ChameleonError(`the batch size must be a positive integer, got ${batch}`);
  const bar = new ProgressBar({ total: items.length, label: 'eval emoji', unit: 'prompt', stream: opts.progress });
  for (let start = 0; start < items.length; start += batch) {
    const idx = items.slice(start, start + batch).map((_, k) => start + k);
    const requests = await Promise.all(idx.map((i) => requestOf(items[i], i)));
    const texts = idx.map(() => '');
    const images: (Uint8Array | null)[] = idx.map(() => null);
    for await (const ev of gen.stream(requests, { previewBudget: 0 })) {
      if (ev.type === 'text') texts[ev.request] += ev.delta;
      else if (ev.type === 'image' && ev.index === 0 && ev.png) images[ev.request] = ev.png;
      else if (ev.type === 'done') bar.tick();
    }
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k];
      if (items[i].kind === 'name') outputs[i] = { text: texts[k].trim() };
      else {
        const png = images[k];
        if (png) pngs.set(i, png);
        outputs[i] = { image: png ? await pngToRgb(png) : null };
      }
    }
  }
  bar.finish();
  const scores = scoreOutputs(items, outputs, plan.entries, matcherFor(catalogue, plan.entries));
  if (opts.out) {
    mkdirSync(opts.out, { recursive: true });
    for (const [i, png] of pngs) writeFileSync(join(opts.out, `draw-${items[i].heldout ? 'heldout-' : ''}${items[i].id}.png`), png);
    writeFileSync(join(opts.out, 'answers.json'), JSON.stringify(scores.items, null, 1) + '\n');
  }
  return {
    model: opts.model,
    world: { seed: plan.seed, count: plan.entries.length, heldout: plan.heldout.length, package: `${catalogue.source.version}` },
    seed,
    limit: opts.limit ?? null,
    ...scores,
    seconds: Number(((performance.now() - t0) / 1000).toFixed(2)),
  };
}
