// The model a server serves: a loaded bundle with its generator, prompt parts and the facts the
// handlers check requests against (context, image grid, whether it can read and draw images), and
// the turning of request images (bytes) into codes under the server's pixel limit. Loading only;
// requests are parsed in inputs.ts.

import { basename, resolve } from 'node:path';
import sharp from 'sharp';
import { FormatError } from '../util/errors.js';
import type { Engine } from '../engine/engine.js';
import { encodeImage, imageRenderer, loadBundle, textCodec, type ChameleonBundle } from '../generate/bundle.node.js';
import { ChameleonGenerator } from '../generate/generator.js';
import type { PromptParts } from '../generate/prompt.js';
import { kvDtypeForModel, type KvDtypeChoice } from '../model/report.js';
import { badRequest } from './errors.js';

export interface ServedModel {
  /** The name clients pass as `model` (default: the directory's name). */
  id: string;
  dir: string;
  bundle: ChameleonBundle;
  generator: ChameleonGenerator;
  prompt: PromptParts;
  /** Context length in tokens. */
  context: number;
  /** Tokens per image (grid side²). */
  imageTokens: number;
  /** Side of generated and encoded images in pixels (0 without an image tokenizer). */
  resolution: number;
  /** An image encoder is present (image inputs work). */
  canRead: boolean;
  /** A VQGAN decoder is present (generated images become PNGs). */
  canDraw: boolean;
  /** Unix seconds the model was loaded (the `created` of GET /v1/models). */
  created: number;
  /** Input images encoded to codes so far, and the VQGAN encoder's time on the main thread (for /metrics). */
  encodes: { count: number; ms: number };
}

export interface LoadServedOptions {
  id?: string;
  kvDtype?: KvDtypeChoice;
}

/** Loads a model directory for serving. */
export async function loadServedModel(engine: Engine, dir: string, opts: LoadServedOptions = {}): Promise<ServedModel> {
  const b = await loadBundle(engine, dir);
  const text = textCodec(b);
  const renderer = imageRenderer(b);
  const generator = new ChameleonGenerator({
    model: b.model,
    vocab: b.gen,
    text,
    image: renderer ?? undefined,
    imageTokens: b.imageTokens,
    kvDtype: kvDtypeForModel(opts.kvDtype ?? 'auto', b.model),
  });
  return {
    id: opts.id ?? basename(resolve(dir)),
    dir,
    bundle: b,
    generator,
    prompt: { vocab: b.gen, text, imageTokens: b.imageTokens },
    context: b.model.config.maxPositionEmbeddings,
    imageTokens: b.imageTokens,
    resolution: b.vq ? b.vq.cfg.resolution : 0,
    canRead: b.vq !== null,
    canDraw: renderer !== null,
    created: Math.floor(Date.now() / 1000),
    encodes: { count: 0, ms: 0 },
  };
}

/**
 * Image bytes -> codes. The pixel count is checked on the header before anything is decoded;
 * `param` names the request field in errors (e.g. messages[0].content[1].image_url).
 */
export async function imageCodes(m: ServedModel, bytes: Uint8Array, maxPixels: number, param: string): Promise<Int32Array> {
  if (!m.canRead) throw badRequest(`model ${m.id} has no image tokenizer, so it cannot read images`, param, 'images_not_supported');
  let width = 0;
  let height = 0;
  try {
    const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    width = meta.width ?? 0;
    height = meta.height ?? 0;
  } catch {
    throw badRequest('the image is not a PNG, JPEG, WebP or GIF file that can be read', param, 'invalid_image');
  }
  if (width * height > maxPixels) {
    throw badRequest(`the image is ${width}×${height} = ${width * height} pixels, more than this server's limit of ${maxPixels}`, param, 'image_too_large');
  }
  try {
    return await encodeImage(m.bundle, bytes, (ms) => {
      m.encodes.count++;
      m.encodes.ms += ms;
    });
  } catch (err) {
    if (err instanceof FormatError) throw badRequest(err.message, param, 'invalid_image');
    throw err;
  }
}
