// `chameleon eval shapes` as a library call: checks that a model directory has the tokenizers the
// evaluation needs (refused by name), takes the shapes world's test items (regenerated from the seed,
// or read from a written world), runs them as chat prompts through the real generator (greedy by
// default, several requests per batch), decodes generated images with the model's VQGAN, scores the
// outputs (score.ts), and adds what needs the model itself: VQ round-trip parser agreement and PSNR,
// and text/image perplexity on test documents. Node adapter (files, sharp preprocessing).

import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ChameleonError } from '../../util/errors.js';
import { ProgressBar, type ProgressStream } from '../../util/progress.js';
import type { Engine } from '../../engine/engine.js';
import { toUint8HWC } from '../../tokenizers/image/vqgan.js';
import { VQ_DECODER_FILE } from '../../tokenizers/image/load.node.js';
import { pngFromPixels, preprocessImage } from '../../tokenizers/image/preprocess.node.js';
import { loadBundle, textCodec, type ChameleonBundle } from '../../generate/bundle.node.js';
import { ChameleonGenerator } from '../../generate/generator.js';
import { resolveOptions, type GenerateOptions, type GenerateOptionsInput } from '../../generate/options.js';
import { chatPrompt, type ChatMessage, type PromptParts, type Segment } from '../../generate/prompt.js';
import { parseDocumentLine, tokenizeDocument, type RawDocument } from '../../train/data/documents.js';
import { renderScene } from './render.js';
import { parseImage, parseKey } from './parse-image.js';
import { CANVAS, sceneKey, type Scene } from './world.js';
import { GENERATOR_VERSION, docJson, generateWorld, type EvalItem, type ItemGroup } from './dataset.js';
import { SCORE_KEYS, scoreOutputs, type ItemOutput, type ItemScore, type ScoreKey } from './score.js';
import { addDocumentNll, emptyNll, perplexity } from './perplexity.js';
import { readWorld } from './writer.node.js';

export interface EvalShapesOptions {
  /** Model directory (config.json, safetensors with model.vqmodel.*, vq_decoder.safetensors, tokenizer.json). */
  model: string;
  /** A written world (manifest.json, test.jsonl, img/); default: the world regenerated from `seed` in memory. */
  world?: string;
  /** World seed (when no `world`) and generation seed (default 0). */
  seed?: number;
  /** Items per group (t2i, t2i held-out, caption, vqa, story, refusal), test documents for perplexity and images for the VQ check (default 100). */
  limit?: number;
  /** Requests decoded together (default 8). */
  batch?: number;
  /** Generation settings over the defaults (greedy text and images, no repetition penalty, no guidance). */
  generation?: GenerateOptionsInput;
  /** Progress bar stream (default stderr; null for none). */
  progress?: ProgressStream | null;
}

/** The keys `--json` reports, each a number (accuracies in [0, 1]) or null when nothing was counted. */
export const REPORT_KEYS = [
  't2i_attribute_accuracy',
  'caption_attribute_accuracy',
  'vqa_accuracy',
  'interleaved_consistency',
  'heldout_accuracy',
  'vq_parser_agreement',
  'vq_psnr',
  'refusal_accuracy',
  'false_refusal_rate',
  'text_perplexity',
  'image_perplexity',
  't2i_exact_match',
  'caption_exact_match',
] as const;
export type ReportKey = (typeof REPORT_KEYS)[number];

export interface EvalShapesReport extends Record<ReportKey, number | null> {
  model: string;
  world: string;
  generatorVersion: string;
  /** Items (or documents, images) behind each key. */
  counts: Record<ReportKey, number>;
  /** Items whose prompt left no room in the model's context (not scored). */
  skipped: number;
  seconds: number;
  /** Per-item results (what was read from each output). */
  details: ItemScore[];
}

/** Refuses, by name, a directory without what the evaluation needs (before loading any weights). */
function checkEvalModelDir(dir: string): void {
  const need = (file: string, why: string): void => {
    if (!existsSync(join(dir, file))) throw new ChameleonError(`--model ${dir}: no ${file} (${why})`);
  };
  need('config.json', 'not a Chameleon model directory');
  need('tokenizer.json', 'eval shapes needs the text tokenizer');
  let cfg: { vq_config?: unknown; vocabulary_map?: unknown };
  try {
    cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as typeof cfg;
  } catch (e) {
    throw new ChameleonError(`${join(dir, 'config.json')}: not valid JSON (${(e as Error).message})`);
  }
  if (!cfg.vq_config) throw new ChameleonError(`--model ${dir}: config.json has no vq_config (eval shapes needs the VQ image tokenizer)`);
  if (!cfg.vocabulary_map) throw new ChameleonError(`--model ${dir}: config.json has no vocabulary_map (text and image ids cannot be told apart)`);
  need(VQ_DECODER_FILE, 'eval shapes decodes generated images with the VQ decoder');
}

const GROUPS: readonly { name: string; group: ItemGroup; heldOut?: boolean }[] = [
  { name: 't2i', group: 't2i', heldOut: false },
  { name: 't2i held-out', group: 't2i', heldOut: true },
  { name: 'caption', group: 'caption' },
  { name: 'vqa', group: 'vqa' },
  { name: 'story', group: 'story' },
  { name: 'refusal', group: 'refusal' },
];

/** The first `limit` items of each group (items come in a seeded order). */
function selectItems(items: readonly EvalItem[], limit: number): EvalItem[] {
  return GROUPS.flatMap((g) => items.filter((i) => i.group === g.group && (g.heldOut === undefined || i.heldOut === g.heldOut)).slice(0, limit));
}

/** Codes of scene images through the model's own preprocessing and VQ encoder, cached by scene. */
class SceneCodes {
  private readonly cache = new Map<string, Int32Array>();
  constructor(private readonly b: ChameleonBundle) {}

  async pixels(scene: Scene): Promise<Float32Array> {
    const png = await pngFromPixels(renderScene(scene), CANVAS, CANVAS);
    return (await preprocessImage(png, this.b.vq!.cfg.resolution)).pixels;
  }

  /** Encodes the scenes not yet cached, a few per VQ batch. */
  async encode(scenes: readonly Scene[], batch = 8): Promise<void> {
    const todo = [...new Map(scenes.map((s) => [sceneKey(s), s])).entries()].filter(([k]) => !this.cache.has(k));
    const r = this.b.vq!.cfg.resolution;
    for (let i = 0; i < todo.length; i += batch) {
      const chunk = todo.slice(i, i + batch);
      const px = await Promise.all(chunk.map(([, s]) => this.pixels(s)));
      const x = new Float32Array(chunk.length * 3 * r * r);
      px.forEach((p, k) => x.set(p, k * 3 * r * r));
      const e = this.b.engine;
      const codes = e.scope(() => Int32Array.from(this.b.vq!.encode(e.tensor(x, [chunk.length, 3, r, r])).indices));
      const n = this.b.imageTokens;
      chunk.forEach(([k], j) => this.cache.set(k, codes.slice(j * n, (j + 1) * n)));
    }
  }

  get(scene: Scene): Int32Array {
    const c = this.cache.get(sceneKey(scene));
    if (!c) throw new Error(`SceneCodes: ${sceneKey(scene)} was not encoded`);
    return c;
  }
}

/** Decodes codes to HWC RGB at the VQ resolution. */
function decodeImage(b: ChameleonBundle, codes: Int32Array): { rgb: Uint8Array; width: number; height: number } {
  const vq = b.vq!;
  const rgb = b.engine.scope(() => toUint8HWC(vq.decodeCodes(codes, 1)));
  return { rgb, width: vq.cfg.resolution, height: vq.cfg.resolution };
}

const itemScenes = (it: EvalItem): Scene[] => it.messages.flatMap((m) => m.content.flatMap((s) => ('scene' in s ? [s.scene] : [])));

/** Loads the model, runs the test items and scores them; see docs/shapes-world.md for every key. */
export async function evaluateShapes(engine: Engine, opts: EvalShapesOptions): Promise<EvalShapesReport> {
  const t0 = performance.now();
  const seed = opts.seed ?? 0;
  const limit = opts.limit ?? 100;
  const batch = opts.batch ?? 8;
  checkEvalModelDir(opts.model);
  const source = worldSource(opts, seed);
  const b = await loadBundle(engine, opts.model);
  if (!b.vq) throw new ChameleonError(`--model ${opts.model}: the checkpoint has no VQ encoder (model.vqmodel.* tensors), so it cannot read the test images`);
  if (!b.vq.decoder) throw new ChameleonError(`--model ${opts.model}: no VQ decoder weights in ${VQ_DECODER_FILE}`);
  const codec = textCodec(b);
  const parts: PromptParts = { vocab: b.gen, text: codec, imageTokens: b.imageTokens };
  const items = selectItems(source.items, limit);
  const docs = source.docs.slice(0, limit);
  const vqScenes = [...new Map(items.flatMap(itemScenes).map((s) => [sceneKey(s), s])).values()].slice(0, limit);
  const bar = opts.progress === null ? null : new ProgressBar({ total: items.length + vqScenes.length + docs.length, label: 'eval shapes', unit: 'item', stream: opts.progress });
  const codes = new SceneCodes(b);
  await codes.encode([...items.flatMap(itemScenes), ...vqScenes]);

  // Generation: chat prompts, greedy; drawing and story prompts may answer with an image.
  const ctx = b.model.config.maxPositionEmbeddings;
  const base = (mode: 'text' | 'interleaved'): GenerateOptions =>
    resolveOptions({
      mode,
      maxNewTokens: mode === 'text' ? 64 : b.imageTokens + 40,
      maxImages: 1,
      seed,
      ...opts.generation,
      text: { greedy: true, repetitionPenalty: 1, ...opts.generation?.text },
      image: { greedy: true, cfg: 'off', ...opts.generation?.image },
    });
  const toChat = (it: EvalItem): ChatMessage[] =>
    it.messages.map((m) => ({ role: m.role, content: m.content.map((s): Segment => ('scene' in s ? { type: 'image', codes: codes.get(s.scene) } : { type: 'text', text: s.text })) }));
  const gen = new ChameleonGenerator({ model: b.model, vocab: b.gen, text: codec, imageTokens: b.imageTokens });
  const runnable: { item: EvalItem; prompt: number[]; options: GenerateOptions }[] = [];
  let skipped = 0;
  for (const it of items) {
    const textOnly = it.group === 'caption' || it.group === 'vqa';
    const prompt = chatPrompt(parts, toChat(it));
    const need = textOnly ? 8 : b.imageTokens + 2;
    if (prompt.length + need > ctx) {
      skipped++;
      bar?.tick(1);
      continue;
    }
    runnable.push({ item: it, prompt, options: base(textOnly ? 'text' : 'interleaved') });
  }
  const outputs: ItemOutput[] = runnable.map(() => ({ text: '', images: [] }));
  for (let i = 0; i < runnable.length; i += batch) {
    const chunk = runnable.slice(i, i + batch);
    const pending: Int32Array[][] = chunk.map(() => []);
    for await (const ev of gen.stream(chunk.map((r) => ({ prompt: r.prompt, options: r.options })), { previewBudget: 0 })) {
      if (ev.type === 'text') outputs[i + ev.request].text += ev.delta;
      else if (ev.type === 'image') pending[ev.request].push(ev.codes);
      else if (ev.type === 'done') bar?.tick(1);
    }
    pending.forEach((list, j) => (outputs[i + j].images = list.map((c) => decodeImage(b, c))));
  }
  const scored = scoreOutputs(
    runnable.map((r) => r.item),
    outputs,
  );

  // VQ round trip: does the parser read the same scene from the original and its reconstruction?
  let agree = 0;
  let psnrSum = 0;
  for (const s of vqScenes) {
    const rec = decodeImage(b, codes.get(s));
    const orig = toUint8(await codes.pixels(s));
    if (parseKey(parseImage(rec.rgb, rec.width, rec.height)) === parseKey(parseImage(renderScene(s)))) agree++;
    psnrSum += psnr(orig, rec.rgb);
    bar?.tick(1);
  }

  // Perplexity on test documents, images through the same preprocessing and encoder.
  const nll = emptyNll();
  for (const d of docs) {
    const refs = documentScenes(d.doc, d.scenes);
    await codes.encode(refs);
    const tok = tokenizeDocument(d.doc, parts, (ref) => codes.get(d.scenes.get(ref)!));
    addDocumentNll(b.model, tok, (id) => b.gen.codeOf(id) >= 0, nll);
    bar?.tick(1);
  }
  bar?.finish();

  const m = scored.metrics;
  const metric = (k: ScoreKey): number | null => m[k].value;
  const report = {
    model: resolve(opts.model),
    world: opts.world ? resolve(opts.world) : `seed ${seed}, generated in memory`,
    generatorVersion: GENERATOR_VERSION,
    ...Object.fromEntries(SCORE_KEYS.map((k) => [k, metric(k)])),
    vq_parser_agreement: vqScenes.length ? agree / vqScenes.length : null,
    vq_psnr: vqScenes.length ? psnrSum / vqScenes.length : null,
    text_perplexity: perplexity(nll.textNll, nll.textTokens),
    image_perplexity: perplexity(nll.imageNll, nll.imageTokens),
    counts: {
      ...Object.fromEntries(SCORE_KEYS.map((k) => [k, m[k].items])),
      vq_parser_agreement: vqScenes.length,
      vq_psnr: vqScenes.length,
      text_perplexity: nll.textTokens,
      image_perplexity: nll.imageTokens,
    },
    skipped,
    seconds: (performance.now() - t0) / 1000,
    details: scored.items,
  } as EvalShapesReport;
  return report;
}

/** [3, R, R] model pixels in [−1, 1] -> uint8 HWC (the inverse of v/255·2−1). */
function toUint8(px: Float32Array): Uint8Array {
  const n = px.length / 3;
  const out = new Uint8Array(px.length);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.min(255, Math.max(0, Math.round(((px[c * n + i] + 1) / 2) * 255)));
  return out;
}

/** PSNR (dB) of two uint8 images, capped at 100 for identical ones. */
function psnr(a: Uint8Array, b: Uint8Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  const mse = se / a.length;
  return mse === 0 ? 100 : 10 * Math.log10((255 * 255) / mse);
}

interface TestDoc {
  doc: RawDocument;
  /** Image reference -> its scene. */
  scenes: ReadonlyMap<string, Scene>;
}

/** Test items and test documents: from a written world (manifest.json, test.jsonl) or regenerated from the seed. */
function worldSource(opts: EvalShapesOptions, seed: number): { items: EvalItem[]; docs: TestDoc[] } {
  if (!opts.world) {
    const w = generateWorld({ seed });
    const byRef = new Map(w.images.map((im) => [`img/${im.name}.png`, im.scene]));
    const docs = w.docs.filter((d) => d.split === 'test').map((d) => ({ doc: parseDocumentLine(JSON.stringify(docJson(d, w.images))), scenes: byRef }));
    return { items: w.items, docs };
  }
  const { items, testImages } = readWorld(opts.world);
  const path = join(opts.world, 'test.jsonl');
  if (!existsSync(path)) throw new ChameleonError(`--world ${opts.world}: no test.jsonl`);
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim());
  const docs = lines.map((l, i) => {
    try {
      return { doc: parseDocumentLine(l), scenes: testImages };
    } catch (e) {
      throw new ChameleonError(`${path}:${i + 1}: ${(e as Error).message}`);
    }
  });
  return { items, docs };
}

/** The scenes of a document's image references. */
function documentScenes(doc: RawDocument, scenes: ReadonlyMap<string, Scene>): Scene[] {
  const segs = doc.kind === 'chat' ? doc.messages.flatMap((m) => m.content) : doc.segments;
  return segs.flatMap((s) => {
    if (!('image' in s)) return [];
    const sc = scenes.get(s.image);
    if (!sc) throw new ChameleonError(`test document image ${s.image} is not a test image of this world's manifest`);
    return [sc];
  });
}
