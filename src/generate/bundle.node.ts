// Everything needed to generate from a Hugging Face Chameleon directory, loaded together: the
// language model, the vocabulary (from config.json's vocabulary_map), the text tokenizer
// (tokenizer.json), the VQGAN (encoder from the model file, decoder from vq_decoder.safetensors),
// plus adapters that turn image files into codes and codes into PNGs. Node adapter (fs, sharp).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ChameleonError } from '../util/errors.js';
import { readJsonFile } from '../io/json-file.node.js';
import type { Engine } from '../engine/engine.js';
import { ChameleonModel } from '../model/chameleon.js';
import { loadChameleon, type LoadModelOptions } from '../model/checkpoint.node.js';
import { Vocabulary } from '../tokenizers/vocab.js';
import { combineVocabulary } from '../tokenizers/chameleon-tokenizer.js';
import type { TextTokenizer } from '../tokenizers/text/text-tokenizer.js';
import { loadTextTokenizer } from '../tokenizers/text/load.node.js';
import type { Vqgan } from '../tokenizers/image/vqgan.js';
import { loadVqgan } from '../tokenizers/image/load.node.js';
import { imageToPng, preprocessImage, type ImageInput } from '../tokenizers/image/preprocess.node.js';
import { tokensPerImage } from '../tokenizers/image/config.js';
import type { ImageRenderer, TextCodec } from './events.js';
import { genVocab, type GenVocab } from './vocab.js';
import type { GenerateOptionsInput } from './options.js';
import { GENERATION_CONFIG_FILE, parseGenerationConfig } from './generation-config.js';

export interface ChameleonBundle {
  dir: string;
  engine: Engine;
  model: ChameleonModel;
  vocab: Vocabulary;
  gen: GenVocab;
  text: TextTokenizer | null;
  vq: Vqgan | null;
  /** Tokens per image (grid side²), from the VQ config. */
  imageTokens: number;
  /** The directory's sampling defaults (generation_config.json); requests and flags go over them. */
  defaults?: GenerateOptionsInput;
}

/** generation_config.json of the directory as option input ({} when absent); bad content is a FormatError. */
function readGenerationDefaults(dir: string): GenerateOptionsInput {
  const path = join(dir, GENERATION_CONFIG_FILE);
  if (!existsSync(path)) return {};
  return parseGenerationConfig(readJsonFile(path), path);
}

export async function loadBundle(engine: Engine, dir: string, opts: LoadModelOptions = {}): Promise<ChameleonBundle> {
  const model = loadChameleon(engine, dir, opts);
  const cfg = model.config;
  if (!cfg.vocabularyMap) throw new ChameleonError(`${dir}: config.json has no vocabulary_map, so text and image ids cannot be told apart`);
  const vocab = Vocabulary.fromVocabularyMap(cfg.vocabularyMap, { vocabSize: cfg.vocabSize, source: join(dir, 'config.json') });
  const tokPath = join(dir, 'tokenizer.json');
  let text: TextTokenizer | null = null;
  if (existsSync(tokPath)) {
    text = await loadTextTokenizer(tokPath);
    combineVocabulary(vocab, text);
  }
  const vq = loadVqgan(engine, dir);
  const imageTokens = tokensPerImage(vq ? vq.cfg : cfg.vqConfig);
  return { dir, engine, model, vocab, gen: genVocab(vocab, cfg.vocabSize), text, vq, imageTokens, defaults: readGenerationDefaults(dir) };
}

/** Text codec over the bundle's tokenizer; user text never turns into special ids. */
export function textCodec(b: ChameleonBundle): TextCodec {
  const t = b.text;
  if (!t) throw new ChameleonError(`${b.dir}: no tokenizer.json, so text cannot be encoded or decoded`);
  return {
    encode: (s) => t.encode(s, { addBos: false, parseSpecial: false }),
    decode: (ids) => t.decode(ids, { skipSpecial: true }),
  };
}

/** Renders image codes to PNG through the VQGAN decoder (null when the directory has no decoder). */
export function imageRenderer(b: ChameleonBundle): ImageRenderer | null {
  const vq = b.vq;
  if (!vq || !vq.decoder) return null;
  return {
    render: async (codes) => {
      const png = await b.engine.scopeAsync(async () => (await imageToPng(vq.decodeCodes(codes, 1)))[0]);
      return { png: new Uint8Array(png), width: vq.cfg.resolution, height: vq.cfg.resolution };
    },
  };
}

/** Image file or bytes -> codes (spec §4.6 preprocessing, then the VQGAN encoder). */
export async function encodeImage(b: ChameleonBundle, input: ImageInput, onEncode?: (ms: number) => void): Promise<Int32Array> {
  const vq = b.vq;
  if (!vq) throw new ChameleonError(`${b.dir}: this checkpoint has no image tokenizer (model.vqmodel.*), so it cannot read images`);
  const pre = await preprocessImage(input, vq.cfg.resolution);
  const t0 = performance.now();
  const codes = b.engine.scope(() => Int32Array.from(vq.encode(b.engine.tensor(pre.pixels, [1, 3, vq.cfg.resolution, vq.cfg.resolution])).indices));
  onEncode?.(performance.now() - t0); // the VQGAN encoder alone (preprocessing runs off the main thread)
  return codes;
}
